package dev.selo.redis;

import dev.selo.SafraShare;
import dev.selo.ScriptCall;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisNoScriptException;

/**
 * A Safra session shared by many instances through Redis (SPEC §5,
 * docs/shared-state.md) over Jedis: any {@link UnifiedJedis} — a
 * {@code RedisClient} (Jedis 7+; {@code JedisPooled} before) for one server, a
 * {@code RedisClusterClient} ({@code JedisCluster} before) for a cluster (every
 * script touches keys of one hash tag).
 *
 * <pre>{@code
 * var share = new RedisSafraShare(redis, "acme-cobranca", sealKey); // 32 bytes, the same on every instance
 * var client = SafraClient.overHttp(SafraSession.create("", baseUrl, "CLIENTE01")).shared(share);
 * client.registerBoleto(json); // from any number of threads and processes
 * share.stats();               // handshakes, renewals, adopted, lease waits, lease steals, store errors
 * }</pre>
 *
 * Scripts run with {@code EVALSHA}, falling back to {@code EVAL} on
 * {@code NOSCRIPT}. A Redis failure is {@code shared.store_unavailable}
 * (counted; no key, token or record in its message): the operation fails
 * closed. Jedis's own timeouts bound each call.
 */
public final class RedisSafraShare extends SafraShare {
  public RedisSafraShare(UnifiedJedis redis, String name, byte[] sealKey) {
    super(new JedisStore(redis), name, sealKey);
  }

  static final class JedisStore implements Store {
    private final UnifiedJedis redis;

    JedisStore(UnifiedJedis redis) {
      if (redis == null) {
        throw new IllegalArgumentException("redis: required");
      }
      this.redis = redis;
    }

    @Override
    public String get(String key) {
      return redis.get(key);
    }

    @Override
    public long eval(ScriptCall call) {
      Object r;
      try {
        r = redis.evalsha(call.sha1(), call.keys(), call.args());
      } catch (JedisNoScriptException e) {
        r = redis.eval(call.script(), call.keys(), call.args());
      } catch (JedisDataException e) {
        if (e.getMessage() == null || !e.getMessage().startsWith("NOSCRIPT")) {
          throw e;
        }
        r = redis.eval(call.script(), call.keys(), call.args());
      }
      if (!(r instanceof Long)) {
        // Every script of the protocol returns an integer.
        throw new IllegalStateException("a script answered a " + (r == null ? "nil" : r.getClass().getSimpleName()));
      }
      return (Long) r;
    }
  }
}

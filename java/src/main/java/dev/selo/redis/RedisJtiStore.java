package dev.selo.redis;

import dev.selo.OfbRequestVerifier;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.SetParams;

/**
 * The OFB replay store on Redis (docs/shared-state.md §8), shared by every
 * instance of a resource server: {@code SET <key> 1 NX EX <ttl>} with the
 * core's key and TTL (the token's remaining acceptance window). {@code OK}
 * is fresh, nil a replay (the core answers 403); any failure throws
 * {@code shared.store_unavailable} and the verifier answers 503 (fail closed).
 *
 * <pre>{@code
 * var verifier = new OfbRequestVerifier(jwks, new RedisJtiStore(redis), "");
 * }</pre>
 */
public final class RedisJtiStore implements OfbRequestVerifier.ReplayStore {
  private final UnifiedJedis redis;

  public RedisJtiStore(UnifiedJedis redis) {
    if (redis == null) {
      throw new IllegalArgumentException("redis: required");
    }
    this.redis = redis;
  }

  @Override
  public String checkAndInsert(String key, long ttlSeconds) {
    String r;
    try {
      r = redis.set(key, "1", SetParams.setParams().nx().ex(ttlSeconds));
    } catch (RuntimeException e) {
      throw Unavailable.of("SET NX of an OFB jti", e);
    }
    if (r == null) {
      return "replayed";
    }
    if ("OK".equals(r)) {
      return "fresh";
    }
    throw Unavailable.of("SET NX of an OFB jti", new IllegalStateException());
  }
}

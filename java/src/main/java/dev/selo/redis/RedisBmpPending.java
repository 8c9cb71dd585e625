package dev.selo.redis;

import dev.selo.BmpPending;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.SetParams;

/**
 * BMP pending transactions on Redis (docs/shared-state.md §9): the exact body
 * bytes under the core's {@code bmp_pending_key} for 7 days, so BMP's
 * confirmation call may reach any instance.
 *
 * <pre>{@code
 * var pending = new RedisBmpPending(redis);
 * if (!pending.record(idempotencyKey, body)) { ... } // another body under this key: do not send
 * var handler = new BmpConfirmationHandler(signer, pending); // on every instance
 * }</pre>
 *
 * Any Redis failure throws {@code shared.store_unavailable}: recording fails
 * closed (do not send), a lookup makes the handler answer the core's 500
 * (BMP calls again).
 */
public final class RedisBmpPending implements BmpPending {
  private final UnifiedJedis redis;

  public RedisBmpPending(UnifiedJedis redis) {
    if (redis == null) {
      throw new IllegalArgumentException("redis: required");
    }
    this.redis = redis;
  }

  private static byte[] key(String idempotencyKey) {
    return BmpPending.storeKey(idempotencyKey).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public boolean record(String idempotencyKey, byte[] body) {
    byte[] k = key(idempotencyKey);
    try {
      String r = redis.set(k, body, SetParams.setParams().nx().ex(TTL_SECONDS));
      if ("OK".equals(r)) {
        return true;
      }
      if (r != null) {
        throw new IllegalStateException();
      }
      byte[] there = redis.get(k);
      return there != null && Arrays.equals(there, body);
    } catch (RuntimeException e) {
      throw Unavailable.of("SET NX of a BMP pending transaction", e);
    }
  }

  @Override
  public byte[] lookup(String idempotencyKey) {
    byte[] k = key(idempotencyKey);
    try {
      return redis.get(k);
    } catch (RuntimeException e) {
      throw Unavailable.of("GET of a BMP pending transaction", e);
    }
  }

  @Override
  public void settle(String idempotencyKey) {
    byte[] k = key(idempotencyKey);
    try {
      redis.del(k);
    } catch (RuntimeException e) {
      throw Unavailable.of("DEL of a BMP pending transaction", e);
    }
  }
}

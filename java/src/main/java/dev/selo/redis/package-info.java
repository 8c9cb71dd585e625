/**
 * Redis adapters of the shared-state protocol (docs/shared-state.md) over
 * Jedis, an optional dependency: {@link dev.selo.redis.RedisSafraShare} (one
 * Safra session for a fleet of instances), {@link dev.selo.redis.RedisJtiStore}
 * (OFB replay) and {@link dev.selo.redis.RedisBmpPending} (BMP pending
 * transactions). Add {@code redis.clients:jedis} to use them.
 */
package dev.selo.redis;

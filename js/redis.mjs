// ESM entry point of `selo/redis`: the CommonJS module, re-exported.
import cjs from './lib/redis.cjs';

export const { RedisSafraShare, RedisJtiStore, RedisBmpPending, DEFAULT_STORE_TIMEOUT_MS } = cjs;
export default cjs;

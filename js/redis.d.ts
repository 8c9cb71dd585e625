// Types of `selo/redis` (js/lib/redis.cjs): shared state on Redis over a
// node-redis v4+ client or cluster (SPEC §5, docs/shared-state.md).
import type { SafraSession, SafraShare, SafraShareStats, SafraSharedState } from './index';

/** The node-redis calls the adapters use (a `createClient` or `createCluster` client). */
export interface RedisLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string | Buffer, options?: { NX?: boolean; EX?: number }): Promise<string | null>;
  del(key: string): Promise<number>;
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** Bound on each store call, ms (5000). */
export declare const DEFAULT_STORE_TIMEOUT_MS: number;

/**
 * One instance's share of a Safra session (`new SafraClient({ ..., shared })`).
 * Store failures reject with `SeloError` `shared.store_unavailable`; a wait
 * for another instance's transition past twice the lease TTL with
 * `shared.lease_timeout`.
 */
export declare class RedisSafraShare implements SafraSharedState {
  constructor(client: RedisLike, opts: { name: string; sealKey: Uint8Array; leaseTtlMs?: number; timeoutMs?: number });
  readonly core: SafraShare;
  readonly name: string;
  readonly leaseTtlMs: number;
  readonly holdsLease: boolean;
  readonly adoptedGeneration: number;
  stats(): SafraShareStats;
  attach(session: SafraSession): void;
  readRecord(session: SafraSession): Promise<'empty' | 'current' | 'adopted'>;
  takeLease(session: SafraSession, opts?: { signal?: AbortSignal }): Promise<'granted' | 'adopted'>;
  publishIfReady(session: SafraSession): Promise<string | null>;
  release(session: SafraSession): Promise<string | null>;
}

/** OFB replay store (`new OfbRequestVerifier({ cache })`): SET key 1 NX EX ttl. */
export declare class RedisJtiStore {
  constructor(client: RedisLike, opts?: { timeoutMs?: number });
  readonly storeErrors: number;
  record(key: string, ttlSeconds: number): Promise<'fresh' | 'replayed'>;
}

/** BMP pending transactions (`new BmpClient({ store })`), kept 7 days. */
export declare class RedisBmpPending {
  constructor(client: RedisLike, opts?: { timeoutMs?: number });
  readonly storeErrors: number;
  set(idempotencyKey: string, body: Uint8Array | string): Promise<void>;
  get(idempotencyKey: string): Promise<string | Buffer | null>;
  delete(idempotencyKey: string): Promise<void>;
}

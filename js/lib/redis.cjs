'use strict';
// `selo/redis`: the shared-state adapters over a node-redis (v4+) client or
// cluster (SPEC §5, docs/shared-state.md). They move bytes: the core
// (`SafraShare`, the OFB verifier's pending request, `sharedBmpPendingKey`)
// builds every key, value, TTL and Lua call and reads every reply. This
// module never requires `redis` itself: the host passes its client.
//
//   const { createClient } = require('redis');
//   const { RedisSafraShare } = require('selo/redis');
//   const redis = await createClient({ url, disableOfflineQueue: true }).connect();
//   const shared = new RedisSafraShare(redis, { name: 'acme-prod', sealKey });
//   const client = new SafraClient({ cliente, baseUrl, shared });
//
// Every failed store call (connection error, timeout, error reply, a reply
// of the wrong type) is a `SeloError` `shared.store_unavailable` whose
// message names the call and never a key, token or record; the operation
// it served fails closed.
const { SeloError } = require('./errors.cjs');

/** Per-call bound on a store call (ms) unless `timeoutMs` says otherwise. */
const DEFAULT_STORE_TIMEOUT_MS = 5_000;

let wasmModule = null;
function wasm() {
  // The package's main entry (the wasm module, its RSA provider set up).
  if (!wasmModule) wasmModule = require('../index.cjs');
  return wasmModule;
}

const sleep = (ms) =>
  new Promise((r) => {
    const t = setTimeout(r, ms);
    if (t.unref) t.unref();
  });

/** The kind of a store failure, for a message that holds no store text. */
function failureKind(err) {
  if (!err || typeof err !== 'object') return typeof err;
  if (err instanceof StoreTimeout) return 'timed out';
  if (typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) return err.code;
  const name = err.constructor && err.constructor.name !== 'Error' ? err.constructor.name : err.name;
  return name || 'error';
}

function storeUnavailable(what, err) {
  const e = new SeloError('shared.store_unavailable', `shared state: Redis ${what} failed (${failureKind(err)}); the operation fails closed`);
  if (err !== undefined) {
    try {
      Object.defineProperty(e, 'cause', { value: err, enumerable: false, configurable: true, writable: true });
    } catch {
      /* frozen */
    }
  }
  return e;
}

/** A store call that did not answer within its bound. */
class StoreTimeout extends Error {}

/** `promise`, rejected with a StoreTimeout after `ms` (0: no bound). */
function bounded(promise, ms) {
  if (!ms) return promise;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new StoreTimeout('store call timed out')), ms);
    promise.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function timeoutOpt(v, what) {
  if (v === undefined || v === null) return DEFAULT_STORE_TIMEOUT_MS;
  if (typeof v !== 'number' || !(v >= 0)) throw new TypeError(`${what}: expected a number of milliseconds ≥ 0`);
  return v === Infinity ? 0 : v;
}

function checkClient(client) {
  if (!client || typeof client.get !== 'function' || typeof client.set !== 'function') {
    throw new TypeError('client: expected a connected node-redis client (createClient or createCluster)');
  }
}

/** A script's reply as an integer, else a store failure. */
function integerReply(r) {
  if (typeof r === 'number' && Number.isSafeInteger(r)) return r;
  if (typeof r === 'bigint') return Number(r);
  return undefined;
}

/**
 * One instance's part in a Safra session shared by a fleet through Redis.
 * `new RedisSafraShare(client, { name, sealKey, leaseTtlMs?, timeoutMs? })`:
 * `name` the fleet (every instance sharing one set of credentials uses the
 * same), `sealKey` 32 bytes from the host's secret store (the same on every
 * instance, never sent to Redis), `leaseTtlMs` how long a transition may
 * hold the lease (default 30000), `timeoutMs` the bound of each store call
 * (default 5000). Pass it as `new SafraClient({ ..., shared })`; one share
 * per client.
 */
class RedisSafraShare {
  constructor(client, opts) {
    checkClient(client);
    const o = opts || {};
    this._client = client;
    this._core = new (wasm().SafraShare)({ name: o.name, sealKey: o.sealKey, leaseTtlMs: o.leaseTtlMs, seed: o.seed });
    this._timeoutMs = timeoutOpt(o.timeoutMs, 'options.timeoutMs');
    this._pollMs = wasm().sharedWaitPollIntervalMs();
    this._attached = false;
  }

  /** The core's `SafraShare` (counters, lease state). */
  get core() {
    return this._core;
  }

  get name() {
    return this._core.name;
  }

  get leaseTtlMs() {
    return this._core.leaseTtlMs;
  }

  /** True while this instance holds the fleet's lease. */
  get holdsLease() {
    return this._core.holdsLease;
  }

  /** The record generation this instance uses (0: none yet). */
  get adoptedGeneration() {
    return this._core.adoptedGeneration;
  }

  /**
   * `{ handshakes, renewals, adopted, leaseWaits, leaseSteals, storeErrors }`:
   * handshakes and renewals this instance ran and published, records
   * adopted from others, times the lease was found held, writes refused
   * because the lease was lost (fenced), failed store calls.
   */
  stats() {
    return this._core.stats();
  }

  /** Called by `SafraClient` once: the session is shared from now on. */
  attach(session) {
    if (this._attached && this._session !== session) {
      throw new TypeError('shared: this RedisSafraShare already serves another SafraClient (one share per client)');
    }
    this._attached = true;
    this._session = session;
    session.setShared(true);
  }

  async _call(what, fn) {
    let r;
    try {
      r = await bounded(Promise.resolve().then(fn), this._timeoutMs);
    } catch (err) {
      this._core.storeError();
      throw storeUnavailable(what, err);
    }
    return r;
  }

  /** `GET` of the record: its text or null. */
  async _getRecord() {
    const r = await this._call('GET', () => this._client.get(this._core.recordKey));
    if (r === null || r === undefined) return null;
    if (typeof r === 'string') return r;
    if (Buffer.isBuffer(r)) return r.toString('latin1');
    this._core.storeError();
    throw storeUnavailable('GET', new TypeError('not a string reply'));
  }

  /** Runs a core script call: EVALSHA, EVAL on NOSCRIPT; the integer reply. */
  async _eval(call) {
    const options = { keys: call.keys, arguments: call.args };
    const r = await this._call(call.name, async () => {
      try {
        return await this._client.evalSha(call.sha1, options);
      } catch (err) {
        if (err && typeof err.message === 'string' && err.message.startsWith('NOSCRIPT')) {
          return this._client.eval(call.script, options);
        }
        throw err;
      }
    });
    const n = integerReply(r);
    if (n === undefined) {
      this._core.storeError();
      throw storeUnavailable(call.name, new TypeError('not an integer reply'));
    }
    return n;
  }

  /** Hands a reply to the core; its protocol error is a store failure too. */
  _read(what, fn) {
    try {
      return fn();
    } catch (err) {
      if (err instanceof SeloError && err.code === 'safra.shared.protocol') {
        this._core.storeError();
        throw storeUnavailable(what, err);
      }
      throw err;
    }
  }

  /** `GET` the record and adopt it if newer: "empty" | "current" | "adopted". */
  async readRecord(session) {
    const text = await this._getRecord();
    return this._core.onRecord(session, text);
  }

  async _release(session) {
    const call = this._core.release(session);
    if (!call) return null;
    const r = await this._eval(call);
    return this._read(call.name, () => this._core.onRelease(r));
  }

  /**
   * Gives the lease up (when held): the session's transitions stop.
   * Best effort for a caller already failing: a store error is counted and
   * thrown.
   */
  async release(session) {
    if (!this._core.holdsLease) {
      this._core.release(session);
      return null;
    }
    return this._release(session);
  }

  /**
   * Takes the fleet's lease for `session`, the way docs/shared-state.md §6
   * says: acquire; held → re-read the record (adopted: release, another
   * instance ran the transition; else grant the session's transitions);
   * busy → re-read the record every poll interval until a newer one is
   * adopted, trying the lease again once it expired; after twice the lease
   * TTL, `shared.lease_timeout`. Resolves to "granted" or "adopted".
   */
  async takeLease(session, { signal } = {}) {
    const deadline = Date.now() + 2 * this._core.leaseTtlMs;
    // A newer record adopted by anyone meanwhile (a call's own read) ends
    // the wait as well as one adopted here.
    const since = this._core.adoptedGeneration;
    for (;;) {
      if (signal && signal.aborted) throw signal.reason;
      const call = this._core.acquire();
      let reply;
      try {
        reply = await this._eval(call);
      } catch (e) {
        // The acquire's fate is unknown: forget its owner token.
        this._core.release(session);
        throw e;
      }
      const got = this._read(call.name, () => this._core.onAcquire(reply));
      if (got.held) {
        let outcome;
        try {
          outcome = await this.readRecord(session);
        } catch (e) {
          await this.release(session).catch(() => {});
          throw e;
        }
        if (outcome === 'adopted') {
          await this._release(session);
          return 'adopted';
        }
        this._core.grant(session);
        return 'granted';
      }
      // Another instance runs the transition: wait for its record.
      const until = Math.min(Date.now() + got.retryAfterMs, deadline);
      for (;;) {
        if (signal && signal.aborted) throw signal.reason;
        if ((await this.readRecord(session)) === 'adopted' || this._core.adoptedGeneration > since) return 'adopted';
        if (Date.now() >= until) break;
        await sleep(Math.min(this._pollMs, Math.max(1, until - Date.now())));
      }
      if (Date.now() >= deadline) {
        throw new SeloError(
          'shared.lease_timeout',
          `shared state: waited ${2 * this._core.leaseTtlMs} ms (twice the lease TTL) for another instance's Safra transition and saw no newer record`,
        );
      }
    }
  }

  /**
   * After a transition's response was handled, while the lease is held:
   * when the session finished its transitions, publish its credentials
   * (sealed) and release the lease. A refused publish (the lease was lost:
   * counted as a steal) re-reads the record to adopt the winner's.
   * Resolves to the publish result, or null when nothing was due.
   */
  async publishIfReady(session) {
    if (!this._core.holdsLease || !this._core.readyToPublish(session)) return null;
    const call = this._core.publish(session);
    let out;
    try {
      const r = await this._eval(call);
      out = this._read(call.name, () => this._core.onPublish(session, r));
    } catch (e) {
      // Unknown whether it was written: give the lease up, fail closed.
      await this.release(session).catch(() => {});
      throw e;
    }
    await this._release(session);
    if (out !== 'published') await this.readRecord(session);
    return out;
  }
}

/**
 * OFB replay store on Redis: `new OfbRequestVerifier({ cache: new
 * RedisJtiStore(client) })`. `record(key, ttlSeconds)` is `SET key 1 NX EX
 * ttlSeconds` with the core's key and TTL: "fresh" when set, "replayed"
 * when the key existed; any failure rejects (`shared.store_unavailable`)
 * and the verifier answers its 503.
 */
class RedisJtiStore {
  constructor(client, opts) {
    checkClient(client);
    this._client = client;
    this._timeoutMs = timeoutOpt(opts && opts.timeoutMs, 'options.timeoutMs');
    this.storeErrors = 0;
  }

  async record(key, ttlSeconds) {
    let r;
    try {
      r = await bounded(Promise.resolve().then(() => this._client.set(key, '1', { NX: true, EX: ttlSeconds })), this._timeoutMs);
    } catch (err) {
      this.storeErrors++;
      throw storeUnavailable('SET NX', err);
    }
    if (r === 'OK') return 'fresh';
    if (r === null) return 'replayed';
    this.storeErrors++;
    throw storeUnavailable('SET NX', new TypeError('unexpected reply'));
  }
}

/**
 * BMP pending transactions on Redis, the store of `new BmpClient({ store })`:
 * the exact body sent, under the core's key (`sharedBmpPendingKey`) for 7
 * days, so a confirmation call reaching any instance finds it. Fails
 * closed: a body that could not be stored is never sent.
 */
class RedisBmpPending {
  constructor(client, opts) {
    checkClient(client);
    this._client = client;
    this._timeoutMs = timeoutOpt(opts && opts.timeoutMs, 'options.timeoutMs');
    this.storeErrors = 0;
  }

  async _call(what, fn) {
    try {
      return await bounded(Promise.resolve().then(fn), this._timeoutMs);
    } catch (err) {
      this.storeErrors++;
      throw storeUnavailable(what, err);
    }
  }

  async set(idempotencyKey, body) {
    const key = wasm().sharedBmpPendingKey(idempotencyKey);
    const value = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const r = await this._call('SET', () => this._client.set(key, value, { EX: wasm().sharedBmpPendingTtlSeconds() }));
    if (r !== 'OK') {
      this.storeErrors++;
      throw storeUnavailable('SET', new TypeError('unexpected reply'));
    }
  }

  async get(idempotencyKey) {
    const r = await this._call('GET', () => this._client.get(wasm().sharedBmpPendingKey(idempotencyKey)));
    if (r === null || r === undefined) return null;
    if (typeof r === 'string' || Buffer.isBuffer(r)) return r;
    this.storeErrors++;
    throw storeUnavailable('GET', new TypeError('unexpected reply'));
  }

  async delete(idempotencyKey) {
    await this._call('DEL', () => this._client.del(wasm().sharedBmpPendingKey(idempotencyKey)));
  }
}

module.exports = { RedisSafraShare, RedisJtiStore, RedisBmpPending, DEFAULT_STORE_TIMEOUT_MS };

'use strict';
// Open Finance Brasil drivers: sign requests, verify responses against a
// JWK Set (an object, or a URL under the core's remote-JWKS policy), and a
// resource-server verifier that returns the exact OFB error response.
// Every decision is the core's: verification and statuses, when to fetch,
// wait or refuse a JWK Set (`JwksCache`), the replay-store key and TTL and
// the reading of the store's answer (`OfbPendingRequest`), how a client
// reads a reply (`ofbReadReply`), every error body. This file performs the
// I/O it is told to and moves bytes.
const {
  makeSender, makeBoundedGet, readRaw, writeResponse, isPermanentTransportError, BodyTooLargeError, tooLargeResponse,
  DEFAULT_MAX_BODY_BYTES,
} = require('./http.cjs');
const { SeloError } = require('./errors.cjs');

const MEDIA_TYPE = 'application/jwt';

/** JwksSource options → the core's policy members (snake_case, ms). */
const POLICY_OPTIONS = {
  maxAgeMs: 'max_age_ms',
  cooldownMs: 'cooldown_ms',
  timeoutMs: 'timeout_ms',
  backoffInitialMs: 'backoff_initial_ms',
  backoffMaxMs: 'backoff_max_ms',
  staleGraceMs: 'stale_grace_ms',
  maxBytes: 'max_bytes',
  allowHttp: 'allow_http',
};

/** How long past a fetch's deadline a waiter keeps waiting for it to report (the core gives a flight 1 s). */
const FLIGHT_SLACK_MS = 1000;

/** The message of the 503 a server sends when no key set can be used (the error itself, with the URL and the fetch's failure, is for the log). */
const UNAVAILABLE_DETAIL = 'no usable key set to verify the request with; try again later';

function makeOfb(wasm) {
  const { OfbSigner, OfbVerifier, JtiCache, JwksCache, ofbReadReply, ofbErrorResponse } = wasm;

  /**
   * A JWK Set, from an object (`jwks`) or from a URL (`url`) under the
   * core's remote-JWKS policy (`JwksCache`, SPEC §3.3a): the set is reused
   * for `maxAgeMs` (10 min) and then refreshed in the background (a request
   * whose `kid` is in the set never waits); an unknown kid fetches only
   * when no fetch started within the cooldown (`cooldownMs`, 30 s; the
   * first fetch included), whatever kids attackers choose; one fetch at a
   * time (the others wait for it and verify against the set it brings);
   * after a failed fetch no other starts before a backoff (`backoffInitialMs` 1 s,
   * doubling, at most `backoffMaxMs` 5 min); while fetches fail the last
   * good set keeps serving for `staleGraceMs` (24 h) past its age, then
   * `verifier()` rejects with `ofb.jwks.unavailable` (503). A fetch is a
   * GET with one deadline for the whole exchange (`timeoutMs`, 5 s), at most
   * `maxBytes` (512 KiB) read, no redirect followed; `https` only unless the
   * URL is loopback or `allowHttp` (refused at construction: `ofb.jwks.url`).
   * Keys that do not parse are skipped and reported (`skipped`,
   * `onSkippedKey`); a failed fetch is reported as a `JwksFetchError`
   * (`onFetchError`, `lastError`). `now()` (ms) is the clock the policy
   * reads (tests inject one); `policy` takes the core's member names
   * (snake_case) directly.
   */
  class JwksSource {
    constructor({
      jwks, url, fetch, tls, policy, now, onSkippedKey, onFetchError, profile, responses, provider, ...rest
    } = {}) {
      if (!jwks === !url) throw new TypeError('jwks or url: exactly one is required');
      this._opts = { profile, responses, provider };
      this._clock = now || Date.now;
      this._onSkipped = onSkippedKey || null;
      this._onFetchError = onFetchError || null;
      this._cache = null;
      this._flight = null; // { id, promise }: the fetch this process has in flight
      this._lastError = null;
      if (jwks) {
        this._verifier = new OfbVerifier({ jwks, ...this._opts });
        return;
      }
      const p = { ...(policy || {}) };
      for (const [option, member] of Object.entries(POLICY_OPTIONS)) {
        if (rest[option] !== undefined && rest[option] !== null) p[member] = rest[option];
      }
      this._cache = new JwksCache({ url, policy: p });
      this._get = makeBoundedGet({ fetch, tls });
      this._verifier = null;
    }

    /** The URL (null for a set given as an object). */
    get url() {
      return this._cache ? this._cache.url : null;
    }

    /** The policy in effect (the core's members: snake_case, ms), or null. */
    get policy() {
      return this._cache ? this._cache.policy : null;
    }

    /** Fetches started so far. */
    get fetches() {
      return this._cache ? this._cache.stats().fetches : 0;
    }

    /** Keys of the current set that did not parse: `[{ index, kid, error }]`. */
    get skipped() {
      return this._cache ? this._cache.skipped() : [];
    }

    /** The last failed fetch (`JwksFetchError`), null once a fetch succeeds. */
    get lastError() {
      return this._lastError;
    }

    /** `{ fetches, failures, refused, consecutiveFailures }` (the core's counters). */
    stats() {
      if (!this._cache) return { fetches: 0, failures: 0, refused: 0, consecutiveFailures: 0 };
      const s = this._cache.stats();
      return { fetches: s.fetches, failures: s.failures, refused: s.refused, consecutiveFailures: s.consecutive_failures };
    }

    /** True when the current set has a key with this `kid`. */
    hasKid(kid) {
      if (this._cache) return this._cache.hasKid(kid);
      return this._verifier.hasKid(kid);
    }

    /**
     * The verifier for `token` (a compact JWS: the core reads its `kid`),
     * after doing what the policy says: fetch (and wait for that fetch),
     * wait for the fetch in flight (at most until its deadline), or use the
     * set at once (starting a background refresh when it is old). Rejects
     * with `SeloError` `ofb.jwks.unavailable` (httpStatus 503; `cause`: the
     * last failed fetch) when no set can be used.
     */
    async verifier(token) {
      if (!this._cache) return this._verifier;
      const text = token === undefined || token === null ? null : typeof token === 'string' ? token : Buffer.from(token).toString('utf8');
      for (let round = 0; ; round++) {
        let d;
        try {
          d = this._cache.decide(this._clock(), text);
        } catch (err) {
          if (err instanceof SeloError && this._lastError && err.cause === undefined) err.cause = this._lastError;
          throw err;
        }
        if (d.kind === 'use') {
          // Started, never awaited: the request goes on with the set it has.
          if (d.refresh) this._fetch(d.refresh).catch(() => {});
          if (!this._verifier) this._verifier = new OfbVerifier({ jwks: { keys: [] }, ...this._opts });
          this._verifier.setJwksFrom(this._cache);
          return this._verifier;
        }
        if (round >= 100) {
          // Never reached while fetches end (each one is reported): a guard.
          throw new SeloError('ofb.jwks.unavailable', `JWKS ${this._cache.url}: no decision after ${round} rounds`, 503);
        }
        if (d.kind === 'fetch') {
          await this._fetch(d.ticket).catch(() => {});
          continue;
        }
        // "wait": the fetch in flight, at most until its deadline. It is
        // ours, and ends by its own deadline timer (which may fire a little
        // after the core's clock passed it): the bound allows for that.
        const left = Math.max(0, d.untilMs - this._clock());
        if (this._flight) await raceTimer(this._flight.promise.catch(() => {}), left + FLIGHT_SLACK_MS);
        else await raceTimer(null, Math.min(Math.max(left, 1), 50));
      }
    }

    /**
     * Waits for the fetch in flight, or performs the one the policy allows
     * now (no set yet, or the set past `maxAgeMs`); nothing when the set is
     * fresh. Rejects with the fetch's `JwksFetchError` when it failed.
     */
    async refresh() {
      if (!this._cache) return;
      if (this._flight) return this._flight.promise;
      const d = this._cache.decide(this._clock(), null);
      const ticket = d.kind === 'fetch' ? d.ticket : d.kind === 'use' ? d.refresh : null;
      if (ticket) return this._fetch(ticket);
      if (d.kind === 'wait' && this._flight) return this._flight.promise;
    }

    /** Closes kept-alive connections (with `tls`). */
    close() {
      if (this._get && typeof this._get.close === 'function') this._get.close();
    }

    /** Performs the fetch of `ticket` (shared: one promise per ticket). */
    _fetch(ticket) {
      if (this._flight && this._flight.id === ticket.id) return this._flight.promise;
      const promise = this._perform(ticket).finally(() => {
        if (this._flight && this._flight.id === ticket.id) this._flight = null;
      });
      promise.catch(() => {});
      this._flight = { id: ticket.id, promise };
      return promise;
    }

    async _perform(ticket) {
      let error;
      let r = null;
      try {
        r = await this._get(ticket.url, { timeoutMs: ticket.timeoutMs, maxBytes: ticket.maxBytes });
      } catch (err) {
        const kind = fetchFailureKind(err);
        const recorded = this._cache.failed(ticket.id, this._clock(), kind, String((err && err.message) || err));
        error = new JwksFetchError(kind, recorded.message, err);
      }
      if (r) {
        try {
          const skipped = this._cache.fetched(ticket.id, this._clock(), r.status, r.body);
          this._lastError = null;
          if (this._onSkipped) for (const s of skipped) safeCall(this._onSkipped, s);
          return;
        } catch (err) {
          // The core refused the response (status, redirect, not a JWK Set).
          error = new JwksFetchError(r.status === 200 ? 'malformed' : 'status', err.message, err);
        }
      }
      this._lastError = error;
      if (this._onFetchError) safeCall(this._onFetchError, error);
      throw error;
    }
  }

  class OfbClient {
    /**
     * @param {object} o
     * @param {*} o.key our signing key (RsaPrivateKey, PEM or DER)
     * @param {string} o.kid our key's kid in our JWKS
     * @param {string} o.organisationId our organisationId (iss of requests, aud of responses)
     * @param {object} [o.jwks] the server's JWK Set (or a JwksSource), or
     * @param {string} [o.jwksUrl] where to fetch it (`jwksPolicy`: JwksSource options)
     * @param {Function} [o.fetch] fetch implementation; `tls` for mTLS
     * @param {boolean} [o.allowUnsignedErrors] return a non-2xx reply without a JWS, unverified, instead of throwing
     */
    constructor(o) {
      this._signer = new OfbSigner({ key: o.key, kid: o.kid, iss: o.organisationId, profile: o.profile, provider: o.provider, seed: o.seed });
      this._org = o.organisationId;
      this._jwks = o.jwks instanceof JwksSource ? o.jwks
        : o.jwks || o.jwksUrl
          ? new JwksSource({
            ...(o.jwksPolicy || {}), jwks: o.jwks, url: o.jwksUrl, fetch: o.fetch, tls: o.tls, profile: o.responseProfile, responses: true, provider: o.provider,
          })
          : null;
      this._send = makeSender({ fetch: o.fetch, tls: o.tls, timeoutMs: o.timeoutMs });
      this._now = o.now || (() => Date.now() / 1000);
      this._allowUnsignedErrors = !!o.allowUnsignedErrors;
    }

    /** `{ body, headers }` for a signed request to `url` (`aud` = url). */
    signRequest(url, payload, { exp } = {}) {
      const s = this._signer.sign(payload, { aud: url, exp, now: this._now() });
      return { body: s.token, headers: [['content-type', MEDIA_TYPE]], jti: s.jti, iat: s.iat };
    }

    /** Verifies a response body signed by `iss` (the server's organisationId) for us. */
    async verifyResponse(body, { iss }) {
      if (!this._jwks) throw new TypeError('no jwks or jwksUrl configured');
      const token = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
      const v = await this._jwks.verifier(token);
      return v.verify(token, { aud: this._org, iss, now: this._now() });
    }

    /**
     * Sends a signed request and reads the reply the core's way
     * (`ofbReadReply`): a JWS (`application/jwt`, whatever the status) is
     * verified → `{ status, verified }`; a 2xx that is not a JWS (say `200
     * application/json`) throws `SeloError` `ofb.client.unsigned` — never
     * handed back as if verified; a non-2xx without a JWS throws
     * `OfbHttpError` (code `ofb.client.http_status`, with `status`,
     * `headers`, `body`), or with `allowUnsignedErrors` (per call or per
     * client) resolves to `{ status, verified: null, unverified: true,
     * headers, body }`.
     */
    async request(url, { method = 'POST', payload, iss, allowUnsignedErrors = this._allowUnsignedErrors }) {
      const { body, headers } = this.signRequest(url, payload);
      const r = await this._send({ method, url, headers, body: new TextEncoder().encode(body) });
      let read;
      try {
        read = ofbReadReply(r.status, headerOf(r.headers, 'content-type') ?? null, r.body, !!allowUnsignedErrors);
      } catch (err) {
        if (err instanceof SeloError && err.code === 'ofb.client.http_status') throw new OfbHttpError(method, url, r, err.message);
        if (err instanceof SeloError) {
          err.status = r.status;
          err.message = `${method} ${url}: ${err.message}`;
        }
        throw err;
      }
      if (read.kind === 'unverified') return { status: r.status, verified: null, unverified: true, headers: r.headers, body: r.body };
      const verified = await this.verifyResponse(read.token, { iss });
      return { status: r.status, verified };
    }
  }

  /**
   * The resource-server side: one verification per request. `cache` is a
   * `JtiCache` (default, in memory) or your own replay store, asked only
   * for a request that passed every other check: its `record(key,
   * ttlSeconds)` records `key` atomically for `ttlSeconds` and returns (or
   * resolves to) exactly "fresh" (it was not there) or "replayed" (it was) —
   * the contract every selo host shares. `key` and `ttlSeconds` are the
   * core's (`OfbPendingRequest.storeKey(prefix)`, length-prefixed so no two
   * (client, jti) pairs share a key, and `.ttlSeconds(now)`, the token's
   * remaining acceptance window): store exactly that. With node-redis:
   *
   *   async record(key, ttlSeconds) {
   *     const r = await redis.set(key, '1', { NX: true, EX: ttlSeconds });
   *     return r === 'OK' ? 'fresh' : r === null ? 'replayed' : undefined;
   *   }
   *
   * (`SET NX` answers null exactly when the key exists: a replay; ioredis:
   * `redis.set(key, '1', 'EX', ttlSeconds, 'NX')`.) A store without
   * `record` is asked `checkAndInsert(clientId, jti, now, { key,
   * ttlSeconds })` (the `JtiCache` shape), same answers. Any other answer —
   * null, undefined, true, "OK", a throw or a rejection — refuses the
   * request with the core's 503 `ofb.replay.store_failed`, whose body never
   * holds the store's text (`onStoreError` sees it). `replayKeyPrefix`
   * replaces the key prefix (default "selo:ofb:jti"). `jwksUrl`: a
   * `JwksSource` with `fetch`/`tls`, `jwksTimeoutMs`, `jwksMaxAgeMs`,
   * `jwksCooldownMs`, `jwksNow` and any other of its options in
   * `jwksPolicy`; when no key set can be used the answer is the core's 503
   * `ofb.jwks.unavailable`. `maxBodyBytes` (default 1 MiB) bounds the body
   * `middleware` reads (413 beyond).
   */
  class OfbRequestVerifier {
    constructor({
      jwks, jwksUrl, fetch, tls, cache, replayKeyPrefix, profile, provider, now, onStoreError,
      jwksTimeoutMs, jwksMaxAgeMs, jwksCooldownMs, jwksNow, jwksPolicy, maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    } = {}) {
      this._jwks = jwks instanceof JwksSource ? jwks : new JwksSource({
        ...(jwksPolicy || {}), jwks, url: jwksUrl, fetch, tls, profile, provider, timeoutMs: jwksTimeoutMs, maxAgeMs: jwksMaxAgeMs,
        cooldownMs: jwksCooldownMs, now: jwksNow,
      });
      this._cache = cache || new JtiCache({});
      this._prefix = replayKeyPrefix || null;
      this._now = now || (() => Date.now() / 1000);
      this._onStoreError = onStoreError || null;
      this._maxBody = maxBodyBytes;
    }

    /** The `JwksSource` requests are verified with. */
    get jwks() {
      return this._jwks;
    }

    /**
     * `request`: `{ method, headers | contentType, body }`; `expected`:
     * `{ aud, iss, clientId }`. Resolves to `{ ok: true, verified }` or
     * `{ ok: false, error, response }` with the exact OFB error response.
     */
    async verify(request, expected) {
      const contentType = request.contentType ?? headerOf(request.headers, 'content-type');
      const body = request.body ?? new Uint8Array();
      let v;
      try {
        v = await this._jwks.verifier(this._jwks.url ? body : null);
      } catch (err) {
        if (err instanceof SeloError && err.code === 'ofb.jwks.unavailable') {
          return { ok: false, error: err, response: ofbErrorResponse(err.code, UNAVAILABLE_DETAIL) };
        }
        throw err;
      }
      const now = this._now();
      const req = { method: request.method || 'POST', contentType, body, now };
      if (this._cache instanceof JtiCache) return v.verifyRequest(req, expected, this._cache);
      const checked = v.checkRequest(req, expected);
      if (!checked.ok) return checked;
      const pending = checked.pending;
      try {
        let answer;
        try {
          const key = pending.storeKey(this._prefix);
          const ttlSeconds = pending.ttlSeconds(now);
          answer = typeof this._cache.record === 'function'
            ? await this._cache.record(key, ttlSeconds)
            : await this._cache.checkAndInsert(pending.clientId, pending.jti, now, { key, ttlSeconds });
          if (answer !== 'fresh' && answer !== 'replayed' && this._onStoreError) {
            safeCall(this._onStoreError, new TypeError(`the replay store answered ${describe(answer)}, not "fresh" or "replayed"`));
          }
        } catch (err) {
          if (this._onStoreError) safeCall(this._onStoreError, err);
          if (err instanceof SeloError && err.code === 'ofb.replay.capacity') {
            return { ok: false, error: err, response: ofbErrorResponse(err.code, 'the replay store is full of entries that could still be replayed') };
          }
          answer = undefined;
        }
        // The core reads the answer: exactly "fresh" or "replayed", anything
        // else its 503 `ofb.replay.store_failed`.
        return pending.finish(answer);
      } finally {
        pending.free();
      }
    }

    /**
     * A Node `http` / Express-style `(req, res, next)` middleware: on success
     * sets `req.ofb` (the verified token) and calls `next`; on failure sends
     * the OFB error response. `expected(req)` returns `{ aud, iss, clientId }`.
     */
    middleware(expected) {
      return async (req, res, next) => {
        try {
          const raw = Buffer.isBuffer(req.body) || typeof req.body === 'string'
            ? req.body : await readRaw(req, { maxBytes: this._maxBody });
          if (Buffer.byteLength(raw) > this._maxBody) throw new BodyTooLargeError(this._maxBody);
          const out = await this.verify({ method: req.method, headers: req.headers, body: raw }, await expected(req));
          if (!out.ok) return writeResponse(res, out.response);
          req.ofb = out.verified;
          if (next) next();
        } catch (err) {
          if (err instanceof BodyTooLargeError) return writeResponse(res, tooLargeResponse(wasm, err));
          if (next) next(err);
          else {
            res.statusCode = 500;
            res.end();
          }
        }
      };
    }
  }

  return { JwksSource, OfbClient, OfbRequestVerifier, OfbHttpError, JwksFetchError };
}

/**
 * `OfbClient.request`: a non-2xx reply whose body is not a JWS (the
 * core's `ofb.client.http_status`), with `status`, `headers` and `body`.
 */
class OfbHttpError extends SeloError {
  constructor(method, url, r, message) {
    super('ofb.client.http_status', `${method} ${url}: ${message}`);
    this.name = 'OfbHttpError';
    this.status = r.status;
    this.headers = r.headers;
    this.body = r.body;
  }

  /** The body as UTF-8 text. */
  get text() {
    return Buffer.from(this.body || []).toString('utf8');
  }
}

/**
 * A JWK Set fetch failed: the core's `ofb.jwks.fetch` (its message), with
 * `kind` "timeout", "network", "too-large", "refused" (no complete
 * response), "status" (a status other than 200, a redirect among them) or
 * "malformed" (a 200 that is not a JWK Set); `cause` what the HTTP client
 * threw, if anything.
 */
class JwksFetchError extends SeloError {
  constructor(kind, message, cause) {
    super('ofb.jwks.fetch', message);
    this.name = 'JwksFetchError';
    this.kind = kind;
    if (cause !== undefined) this.cause = cause;
  }
}

/** The core's failure kind for a GET that did not complete. */
function fetchFailureKind(err) {
  if (err && (err.getFailure === 'timeout' || err.getFailure === 'too-large')) return err.getFailure;
  for (let e = err, depth = 0; e && depth < 8; e = e.cause, depth++) {
    if (e.getFailure === 'timeout' || e.name === 'TimeoutError') return 'timeout';
    if (e.code === 'ERR_INVALID_URL' || e.code === 'UND_ERR_INVALID_ARG') return 'refused';
  }
  return isPermanentTransportError(err) ? 'refused' : 'network';
}

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
function raceTimer(promise, ms) {
  let timer;
  const sleep = new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race(promise ? [promise, sleep] : [sleep]).finally(() => clearTimeout(timer));
}

function safeCall(fn, arg) {
  try {
    fn(arg);
  } catch {
    /* a reporting callback never changes a decision */
  }
}

function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  // Never the value itself: a store may put an error text (host:port) in it.
  return typeof v === 'string' ? 'another string' : `a ${typeof v}`;
}

function headerOf(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  if (Array.isArray(headers)) {
    const h = headers.find(([n]) => n.toLowerCase() === name);
    return h ? h[1] : undefined;
  }
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name) return [].concat(headers[k])[0];
  return undefined;
}

module.exports = { makeOfb, MEDIA_TYPE };

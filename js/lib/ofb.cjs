'use strict';
// Open Finance Brasil drivers: sign requests, verify responses against a
// JWK Set (object or URL, cached, refetched once when a kid is unknown),
// and a resource-server verifier that returns the exact OFB error response.
// Verification and every status are the core's.
const { makeSender, readRaw, writeResponse, transportFailureKind, BodyTooLargeError, tooLargeResponse, DEFAULT_MAX_BODY_BYTES } = require('./http.cjs');
const { SeloError } = require('./errors.cjs');

const MEDIA_TYPE = 'application/jwt';

function makeOfb(wasm) {
  const { OfbSigner, OfbVerifier, JtiCache } = wasm;

  /**
   * A JWK Set from an object, or fetched from a URL the way jose's
   * `createRemoteJWKSet` does: each fetch times out after `timeoutMs`
   * (default 5 s, `JwksFetchError` with `kind` "timeout"); the set is reused
   * for `maxAgeMs` (default 10 min); a token whose `kid` is not in the set
   * triggers a refetch at most once per `cooldownMs` (default 30 s) — an
   * attacker choosing kids cannot make us fetch more often; concurrent
   * fetches share one request (single-flight). A key of the set that does
   * not parse is skipped and reported in `skipped` (and to `onSkippedKey`),
   * the other keys stay usable. `now()` (ms) is the clock (tests inject one).
   */
  class JwksSource {
    constructor({
      jwks, url, fetch, tls, maxAgeMs = 10 * 60 * 1000, cooldownMs = 30 * 1000, timeoutMs = 5000,
      now, onSkippedKey, profile, responses, provider,
    } = {}) {
      if (!jwks && !url) throw new TypeError('jwks or jwksUrl: one is required');
      this._url = url || null;
      this._send = url ? makeSender({ fetch, tls, timeoutMs }) : null;
      this._timeoutMs = timeoutMs;
      this._maxAge = maxAgeMs;
      this._cooldown = cooldownMs;
      this._clock = now || Date.now;
      this._onSkipped = onSkippedKey || null;
      this._fetchedAt = -Infinity; // last successful fetch
      this._attemptAt = -Infinity; // last fetch started (cooldown)
      this._pending = null;
      /** Keys of the last fetched set that did not parse: `[{ index, kid, error }]`. */
      this.skipped = [];
      /** Fetches started so far. */
      this.fetches = 0;
      this._opts = { profile, responses, provider };
      this._verifier = jwks ? new OfbVerifier({ jwks, ...this._opts }) : null;
    }

    /** Fetches the set now (shared with any fetch already in flight). */
    refresh() {
      if (this._pending) return this._pending;
      this._attemptAt = this._clock();
      this.fetches++;
      const p = this._fetch().finally(() => {
        this._pending = null;
      });
      this._pending = p;
      return p;
    }

    async _fetch() {
      let r;
      try {
        r = await this._send({ method: 'GET', url: this._url, headers: [['accept', 'application/json']], body: undefined });
      } catch (err) {
        const timeout = transportFailureKind(err) === 'timeout';
        throw new JwksFetchError(timeout ? 'timeout' : 'network',
          timeout ? `JWKS ${this._url}: no answer within ${this._timeoutMs} ms` : `JWKS ${this._url}: ${err && err.message}`, err);
      }
      if (r.status !== 200) throw new JwksFetchError('status', `JWKS ${this._url} answered HTTP ${r.status}`);
      let doc;
      try {
        doc = JSON.parse(Buffer.from(r.body).toString('utf8'));
      } catch (err) {
        throw new JwksFetchError('malformed', `JWKS ${this._url}: the body is not JSON`, err);
      }
      if (!doc || typeof doc !== 'object' || !Array.isArray(doc.keys)) {
        throw new JwksFetchError('malformed', `JWKS ${this._url}: no "keys" array`);
      }
      const good = [];
      const skipped = [];
      doc.keys.forEach((k, index) => {
        try {
          wasm.parseJwks({ keys: [k] });
          good.push(k);
        } catch (err) {
          const kid = k && typeof k === 'object' && typeof k.kid === 'string' ? k.kid : undefined;
          skipped.push({ index, kid, error: String(err && err.message) });
        }
      });
      const set = { keys: good };
      if (this._verifier) this._verifier.setJwks(set);
      else this._verifier = new OfbVerifier({ jwks: set, ...this._opts });
      this.skipped = skipped;
      if (this._onSkipped) for (const s of skipped) this._onSkipped(s);
      this._fetchedAt = this._clock();
    }

    /**
     * The verifier, fetching the set when there is none or it is older than
     * `maxAgeMs`, or when `kid` is unknown and the cooldown has passed.
     */
    async verifier(kid) {
      if (this._url) {
        const t = this._clock();
        if (!this._verifier) await this.refresh();
        else if (t - this._fetchedAt >= this._maxAge) await this.refresh();
        else if (kid && !this._verifier.hasKid(kid) && (this._pending || t - this._attemptAt >= this._cooldown)) {
          await this.refresh();
        }
      }
      return this._verifier;
    }
  }

  function kidOf(token) {
    try {
      return wasm.ofbDecode(token).header.kid;
    } catch {
      return undefined;
    }
  }

  class OfbClient {
    /**
     * @param {object} o
     * @param {*} o.key our signing key (RsaPrivateKey, PEM or DER)
     * @param {string} o.kid our key's kid in our JWKS
     * @param {string} o.organisationId our organisationId (iss of requests, aud of responses)
     * @param {object} [o.jwks] the server's JWK Set, or
     * @param {string} [o.jwksUrl] where to fetch it
     * @param {Function} [o.fetch] fetch implementation; `tls` for mTLS
     */
    constructor(o) {
      this._signer = new OfbSigner({ key: o.key, kid: o.kid, iss: o.organisationId, profile: o.profile, provider: o.provider, seed: o.seed });
      this._org = o.organisationId;
      this._jwks = o.jwks || o.jwksUrl
        ? new JwksSource({ jwks: o.jwks, url: o.jwksUrl, fetch: o.fetch, tls: o.tls, profile: o.responseProfile, responses: true, provider: o.provider })
        : null;
      this._send = makeSender({ fetch: o.fetch, tls: o.tls, timeoutMs: o.timeoutMs });
      this._now = o.now || (() => Date.now() / 1000);
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
      const v = await this._jwks.verifier(kidOf(token));
      return v.verify(token, { aud: this._org, iss, now: this._now() });
    }

    /**
     * Sends a signed request and verifies the signed response: `{ status,
     * verified }`. A non-2xx reply whose body is not a JWS (an error page,
     * a plain JSON error) is not verified: it throws `OfbHttpError` (a
     * SeloError, code "ofb.client.http_status") with `status`, `headers` and
     * `body`. A non-2xx reply carrying a JWS is verified like any response.
     */
    async request(url, { method = 'POST', payload, iss }) {
      const { body, headers } = this.signRequest(url, payload);
      const r = await this._send({ method, url, headers, body: new TextEncoder().encode(body) });
      if ((r.status < 200 || r.status > 299) && !isJws(r)) throw new OfbHttpError(method, url, r);
      const verified = await this.verifyResponse(r.body, { iss });
      return { status: r.status, verified };
    }
  }

  /**
   * The resource-server side. `cache` is a `JtiCache` (default) or any
   * object whose `checkAndInsert(clientId, jti, now)` returns (or resolves
   * to) exactly "fresh" or "replayed". Anything else — null, undefined,
   * true, an error thrown or a rejected promise — refuses the request with
   * 503 `ofb.replay.store_failed` (fail closed; the store's error text is
   * never put in the response). Redis, e.g. with ioredis:
   *
   *   const r = await redis.set(`jti:${clientId}:${jti}`, '1', 'EX', 86400, 'NX');
   *   return r === 'OK' ? 'fresh' : r === null ? 'replayed' : undefined;
   *
   * (`SET NX` answers null exactly when the key exists: a replay.)
   * `jwksUrl` options: `jwksTimeoutMs`, `jwksMaxAgeMs`, `jwksCooldownMs`
   * (see `JwksSource`). `maxBodyBytes` (default 1 MiB) bounds the body
   * `middleware` reads (413 beyond).
   */
  class OfbRequestVerifier {
    constructor({
      jwks, jwksUrl, fetch, tls, cache, profile, provider, now, onStoreError,
      jwksTimeoutMs, jwksMaxAgeMs, jwksCooldownMs, jwksNow, maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    } = {}) {
      this._jwks = jwks instanceof JwksSource ? jwks : new JwksSource({
        jwks, url: jwksUrl, fetch, tls, profile, provider, timeoutMs: jwksTimeoutMs, maxAgeMs: jwksMaxAgeMs,
        cooldownMs: jwksCooldownMs, now: jwksNow,
      });
      this._cache = cache || new JtiCache({});
      this._now = now || (() => Date.now() / 1000);
      this._onStoreError = onStoreError || null;
      this._maxBody = maxBodyBytes;
    }

    /**
     * `request`: `{ method, headers | contentType, body }`; `expected`:
     * `{ aud, iss, clientId }`. Resolves to `{ ok: true, verified }` or
     * `{ ok: false, error, response }` with the exact OFB error response.
     */
    async verify(request, expected) {
      const contentType = request.contentType ?? headerOf(request.headers, 'content-type');
      const body = request.body ?? new Uint8Array();
      const token = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
      const v = await this._jwks.verifier(kidOf(token));
      const req = { method: request.method || 'POST', contentType, body, now: this._now() };
      if (this._cache instanceof JtiCache) return v.verifyRequest(req, expected, this._cache);
      const first = v.verifyRequestWithReplayStatus(req, expected, null);
      if (!first.ok || !first.replayKey) return first;
      let status;
      try {
        status = await this._cache.checkAndInsert(first.replayKey.clientId, first.replayKey.jti, req.now);
      } catch (err) {
        if (this._onStoreError) this._onStoreError(err);
        return storeFailed('the replay store failed');
      }
      if (status !== 'fresh' && status !== 'replayed') {
        if (this._onStoreError) this._onStoreError(new TypeError(`replay store answered ${describe(status)}`));
        return storeFailed(`the replay store answered ${describe(status)}, not "fresh" or "replayed"`);
      }
      return v.verifyRequestWithReplayStatus(req, expected, status);
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
          if (err instanceof BodyTooLargeError) return writeResponse(res, tooLargeResponse(err));
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
 * A non-2xx OFB reply that is not a signed JWS. A driver-level code (the
 * reply's HTTP status is not a core protocol failure, so it is in
 * `hostCodes()`, not `allCodes()`): "ofb.client.http_status".
 */
class OfbHttpError extends SeloError {
  constructor(method, url, r) {
    const text = Buffer.from(r.body || []).toString('utf8');
    const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    super('ofb.client.http_status', `${method} ${url} answered HTTP ${r.status} with a body that is not a JWS: ${JSON.stringify(shown)}`);
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
 * The JWK Set could not be fetched. A driver-level code (in `hostCodes()`,
 * not `allCodes()`): "ofb.jwks.fetch"; `kind` is "timeout", "network", "status"
 * or "malformed".
 */
class JwksFetchError extends SeloError {
  constructor(kind, message, cause) {
    super('ofb.jwks.fetch', message);
    this.name = 'JwksFetchError';
    this.kind = kind;
    if (cause !== undefined) this.cause = cause;
  }
}

/** The code of a replay store that did not answer "fresh" or "replayed". */
const STORE_FAILED = 'ofb.replay.store_failed';

/**
 * The 503 decision for a replay store failure. The detail is ours: the
 * store's own error text (host:port, credentials in a URL) never reaches
 * the client.
 */
function storeFailed(message) {
  const detail = `${STORE_FAILED}: ${message}; replay cannot be ruled out`;
  const body = JSON.stringify({ errors: [{ code: 'REPLAY_STORE_UNAVAILABLE', title: 'Replay protection unavailable', detail }] });
  return {
    ok: false,
    error: new SeloError(STORE_FAILED, `${message}; replay cannot be ruled out`, 503),
    response: { status: 503, headers: [['content-type', 'application/json']], body: new TextEncoder().encode(body) },
  };
}

function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  // Never the value itself: a store may put an error text (host:port) in it.
  return typeof v === 'string' ? 'another string' : `a ${typeof v}`;
}

/** A reply that is a JWS: `application/jwt`, or a body shaped as a compact JWS. */
function isJws(r) {
  const ct = (headerOf(r.headers, 'content-type') || '').split(';')[0].trim().toLowerCase();
  if (ct === MEDIA_TYPE) return true;
  const text = Buffer.from(r.body || []).toString('utf8').trim();
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/.test(text);
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

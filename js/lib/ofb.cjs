'use strict';
// Open Finance Brasil drivers: sign requests, verify responses against a
// JWK Set (object or URL, cached, refetched once when a kid is unknown),
// and a resource-server verifier that returns the exact OFB error response.
// Verification and every status are the core's.
const { makeSender, readRaw, writeResponse } = require('./http.cjs');
const { SeloError } = require('./errors.cjs');

const MEDIA_TYPE = 'application/jwt';

function makeOfb(wasm) {
  const { OfbSigner, OfbVerifier, JtiCache } = wasm;

  /** A JWK Set from an object or fetched from a URL (cached for `maxAgeMs`). */
  class JwksSource {
    constructor({ jwks, url, fetch, tls, maxAgeMs = 15 * 60 * 1000, profile, responses, provider } = {}) {
      if (!jwks && !url) throw new TypeError('jwks or jwksUrl: one is required');
      this._url = url || null;
      this._send = url ? makeSender({ fetch, tls }) : null;
      this._maxAge = maxAgeMs;
      this._fetchedAt = 0;
      this._verifier = jwks ? new OfbVerifier({ jwks, profile, responses, provider }) : null;
      this._opts = { profile, responses, provider };
    }

    async refresh() {
      const r = await this._send({ method: 'GET', url: this._url, headers: [['accept', 'application/json']], body: undefined });
      if (r.status !== 200) throw new Error(`JWKS ${this._url} answered ${r.status}`);
      const text = Buffer.from(r.body).toString('utf8');
      if (this._verifier) this._verifier.setJwks(text);
      else this._verifier = new OfbVerifier({ jwks: text, ...this._opts });
      this._fetchedAt = Date.now();
    }

    /** The verifier, fetching the set when needed (or when `kid` is unknown). */
    async verifier(kid) {
      if (this._url) {
        const stale = !this._verifier || Date.now() - this._fetchedAt > this._maxAge;
        const unknown = this._verifier && kid && !this._verifier.hasKid(kid);
        if (stale || unknown) await this.refresh();
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
   * to) "fresh" or "replayed" — e.g. Redis `SET key 1 NX EX 86400`.
   */
  class OfbRequestVerifier {
    constructor({ jwks, jwksUrl, fetch, tls, cache, profile, provider, now } = {}) {
      this._jwks = new JwksSource({ jwks, url: jwksUrl, fetch, tls, profile, provider });
      this._cache = cache || new JtiCache({});
      this._now = now || (() => Date.now() / 1000);
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
      const status = await this._cache.checkAndInsert(first.replayKey.clientId, first.replayKey.jti, req.now);
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
          const raw = Buffer.isBuffer(req.body) || typeof req.body === 'string' ? req.body : await readRaw(req);
          const out = await this.verify({ method: req.method, headers: req.headers, body: raw }, await expected(req));
          if (!out.ok) return writeResponse(res, out.response);
          req.ofb = out.verified;
          if (next) next();
        } catch (err) {
          if (next) next(err);
          else {
            res.statusCode = 500;
            res.end();
          }
        }
      };
    }
  }

  return { JwksSource, OfbClient, OfbRequestVerifier, OfbHttpError };
}

/**
 * A non-2xx OFB reply that is not a signed JWS. A driver-level code (the
 * reply's HTTP status is not a core protocol failure, so it is not in
 * `allCodes()`): "ofb.client.http_status".
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

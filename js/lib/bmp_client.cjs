'use strict';
// BMP drivers: send signed transactions (the same bytes, headers and
// IdempotencyKey on every retry) and host the partner's confirmation
// endpoint. The core decides every byte and every confirmation.
const { makeSender, readRaw, writeResponse, BodyTooLargeError, tooLargeResponse, DEFAULT_MAX_BODY_BYTES } = require('./http.cjs');

/** An in-memory store of the bodies sent, by idempotency key. */
class MemoryTransactionStore {
  constructor() {
    this._m = new Map();
  }
  set(idempotencyKey, body) {
    this._m.set(idempotencyKey, body);
  }
  get(idempotencyKey) {
    return this._m.get(idempotencyKey) ?? null;
  }
  delete(idempotencyKey) {
    this._m.delete(idempotencyKey);
  }
}

function makeBmp(wasm) {
  const { BmpSigner, bmpConfirm } = wasm;

  /**
   * Decides a confirmation request. `store.get(id)` may return the original
   * body (bytes or text), null, or a Promise of either. The core is asked
   * twice when the store is asynchronous: once to learn which idempotency
   * key it looks up, once with the stored body.
   */
  async function confirm(key, profile, store, headers, rawBody) {
    let asked = null;
    let pending = null;
    const first = bmpConfirm(
      key,
      headers,
      rawBody,
      (id) => {
        asked = id;
        const v = store.get(id);
        if (v && typeof v.then === 'function') {
          pending = v;
          return null;
        }
        return v ?? null;
      },
      profile,
    );
    if (asked === null || pending === null) return first;
    const original = await pending;
    return bmpConfirm(key, headers, rawBody, () => original ?? null, profile);
  }

  class BmpClient {
    /**
     * @param {object} o
     * @param {string} o.key the 128-character shared key
     * @param {string} [o.baseUrl] BMP's base URL (endpoints are appended)
     * @param {object|string} [o.profile] BMP profile
     * @param {object} [o.store] where sent bodies are kept for confirmation
     * @param {Function} [o.fetch] fetch implementation
     * @param {{cert, key, ca}} [o.tls] client certificate for mTLS
     * @param {Uint8Array} [o.seed] deterministic idempotency keys (tests)
     */
    constructor(o) {
      if (!o || typeof o.key !== 'string') throw new TypeError('options.key: expected the shared key string');
      this._key = o.key;
      this._profile = o.profile;
      this._signer = new BmpSigner({ key: o.key, profile: o.profile, seed: o.seed });
      this._store = o.store || new MemoryTransactionStore();
      this._baseUrl = o.baseUrl ? String(o.baseUrl).replace(/\/+$/, '') : null;
      this._send = o.send || makeSender({ fetch: o.fetch, tls: o.tls, timeoutMs: o.timeoutMs });
    }

    /** The store of sent bodies (used by the confirmation handler). */
    get store() {
      return this._store;
    }

    /**
     * Signs a typed transaction (`{ type, … }`, see README) or a body
     * (object or JSON text) and stores it for confirmation. Returns
     * `{ idempotencyKey, body, bodyText, hmac, headers, endpoint? }`; keep it
     * to retry.
     */
    async prepare(transactionOrBody, { idempotencyKey } = {}) {
      let signed;
      if (transactionOrBody && typeof transactionOrBody === 'object' && typeof transactionOrBody.type === 'string' &&
          !(transactionOrBody instanceof Uint8Array)) {
        signed = this._signer.signTransaction(transactionOrBody, idempotencyKey);
      } else if (idempotencyKey !== undefined) {
        signed = this._signer.signBytes(wasm.bmpCanonical(transactionOrBody, this._profile), idempotencyKey);
      } else {
        signed = this._signer.sign(transactionOrBody);
      }
      await this._store.set(signed.idempotencyKey, signed.body);
      return signed;
    }

    /**
     * Posts a prepared transaction; network errors and 5xx are retried
     * (`retries`, default 2) with the very same bytes and IdempotencyKey.
     * Resolves to `{ status, headers, body, json, idempotencyKey }`.
     */
    async send(signed, { endpoint, retries = 2, retryDelayMs = 200 } = {}) {
      const path = endpoint || signed.endpoint;
      if (!path) throw new TypeError('endpoint: required for untyped bodies');
      const url = /^https?:/.test(path) ? path : `${this._baseUrl ?? ''}${path}`;
      const request = { method: 'POST', url, headers: signed.headers, body: signed.body };
      let lastError;
      for (let attempt = 0; attempt <= retries; attempt++) {
        try {
          const r = await this._send(request);
          if (r.status >= 500 && attempt < retries) {
            lastError = null;
            await new Promise((res) => setTimeout(res, retryDelayMs));
            continue;
          }
          let json = null;
          try {
            json = r.body.length ? JSON.parse(Buffer.from(r.body).toString('utf8')) : null;
          } catch {
            json = null;
          }
          return { ...r, json, idempotencyKey: signed.idempotencyKey, attempts: attempt + 1 };
        } catch (err) {
          lastError = err;
          if (attempt < retries) await new Promise((res) => setTimeout(res, retryDelayMs));
        }
      }
      throw lastError;
    }

    /** `prepare` then `send`. */
    async pay(transaction, options = {}) {
      return this.send(await this.prepare(transaction, options), options);
    }

    /**
     * `(headers, rawBody) => Promise<{ status, headers, body, confirmed,
     * error, difference }>`. Rejects when the store fails (its error): answer
     * `bmpConfirmInternalResponse()` then, as the handlers below do.
     */
    confirm(headers, rawBody) {
      return confirm(this._key, this._profile, this._store, headers, rawBody);
    }

    /**
     * A Node `http` request listener for the confirmation endpoint. A body
     * over `maxBodyBytes` (default 1 MiB) is answered 413 unread (the core's
     * `bodyTooLargeResponse`). When the store or the handler fails, the
     * answer is the core's fixed 500 (`bmpConfirmInternalResponse()`, code
     * `bmp.confirm.internal`): never the error's text; `onError(err)` sees
     * the error.
     */
    nodeConfirmationHandler({ maxBodyBytes = DEFAULT_MAX_BODY_BYTES, onError } = {}) {
      return async (req, res) => {
        let r;
        try {
          const raw = await readRaw(req, { maxBytes: maxBodyBytes });
          r = await this.confirm(req.headers, raw);
        } catch (err) {
          r = failureResponse(err, onError);
        }
        writeResponse(res, r);
      };
    }

    /**
     * An Express-style `(req, res)` handler. The body must reach it raw:
     * mount it with `express.raw({ type: '*\/*' })` or before any JSON
     * parser (BMP forbids re-serialising the body).
     */
    expressConfirmationHandler({ maxBodyBytes = DEFAULT_MAX_BODY_BYTES, onError } = {}) {
      return async (req, res) => {
        let r;
        try {
          let raw;
          if (Buffer.isBuffer(req.body) || req.body instanceof Uint8Array) raw = req.body;
          else if (typeof req.body === 'string') raw = req.body;
          else if (req.body === undefined && typeof req.on === 'function' && req.readable !== false) raw = await readRaw(req, { maxBytes: maxBodyBytes });
          else throw new TypeError('the confirmation body was already parsed; mount express.raw() for this route');
          if (Buffer.byteLength(raw) > maxBodyBytes) throw new BodyTooLargeError(maxBodyBytes);
          r = await this.confirm(req.headers, raw);
        } catch (err) {
          r = failureResponse(err, onError);
        }
        res.status(r.status);
        for (const [n, v] of r.headers) res.set(n, v);
        res.send(Buffer.from(r.body));
      };
    }
  }

  /** 413 for a body over the limit; the core's fixed 500 for anything else (reported to `onError`). */
  function failureResponse(err, onError) {
    if (err instanceof BodyTooLargeError) return tooLargeResponse(wasm, err);
    if (onError) {
      try {
        onError(err);
      } catch {
        /* a reporting callback never changes the answer */
      }
    }
    return wasm.bmpConfirmInternalResponse();
  }

  return { BmpClient, MemoryTransactionStore, confirm };
}

module.exports = { makeBmp, MemoryTransactionStore };

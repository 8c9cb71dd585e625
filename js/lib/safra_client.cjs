'use strict';
// The Safra PSD driver: plain JS over the core's state machine. It only
// moves bytes: every decision (handshake, renewal, re-handshake on key
// expiry, re-authentication on 480, retries) is the core's `handleResponse`.
const { makeSender } = require('./http.cjs');

function defaultNow() {
  return Date.now() / 1000;
}

class SafraClient {
  /**
   * @param {object} o
   * @param {string} o.cliente client code sent in psd005
   * @param {string} [o.baseUrl] "homologation" (default), "production" or a URL
   * @param {object|string} [o.profile] Safra profile (camelCase or JSON)
   * @param {{cert, key, ca}} [o.tls] client certificate for mTLS
   * @param {Function} [o.fetch] a fetch implementation (default globalThis.fetch)
   * @param {*} [o.clientKey] RSA client key (default: generated at the first handshake)
   * @param {"node"|"rustcrypto"} [o.provider] RSA provider
   * @param {Uint8Array} [o.seed] deterministic randomness (tests only)
   * @param {() => number} [o.now] clock in Unix seconds
   * @param {boolean} [o.keepAlive] renew the token in the background when due
   * @param {(e: object) => void} [o.onEvent] called with each step
   */
  constructor(o, SafraSession) {
    if (!o || typeof o.cliente !== 'string') throw new TypeError('options.cliente: expected a string');
    this._session =
      o.session ||
      new SafraSession({
        cliente: o.cliente,
        baseUrl: o.baseUrl,
        profile: o.profile,
        clientKey: o.clientKey,
        provider: o.provider,
        seed: o.seed,
      });
    this._send = o.send || makeSender({ fetch: o.fetch, tls: o.tls, timeoutMs: o.timeoutMs });
    this._now = o.now || defaultNow;
    this._onEvent = o.onEvent || null;
    this._queue = Promise.resolve();
    this._keepAlive = !!o.keepAlive;
    this._timer = null;
  }

  /** The underlying `SafraSession` (state, token, export). */
  get session() {
    return this._session;
  }

  _event(e) {
    if (this._onEvent) {
      try {
        this._onEvent(e);
      } catch {
        /* a logging callback never breaks the flow */
      }
    }
  }

  /** Runs one operation to completion; calls are serialised per client. */
  run(operation) {
    const p = this._queue.then(() => this._run(operation));
    this._queue = p.catch(() => {});
    return p;
  }

  async _run(operation) {
    for (;;) {
      const { id, request } = this._session.prepareNext(operation, this._now());
      this._event({ type: 'request', url: request.url });
      let response;
      try {
        response = await this._send(request);
      } catch (err) {
        // The request is abandoned; tell the session so its id is not left pending.
        this._event({ type: 'transport-error', url: request.url, error: err });
        throw err;
      }
      const out = this._session.handleResponse(id, response, this._now());
      this._event({ type: 'response', url: request.url, status: response.status, action: out.done ? null : out.action });
      if (out.done) {
        this._schedule();
        return out.reply;
      }
    }
  }

  _schedule() {
    if (!this._keepAlive) return;
    if (this._timer) clearTimeout(this._timer);
    const t = this._session.token;
    if (!t) return;
    const ms = Math.max(0, (t.renewAt - this._now()) * 1000);
    this._timer = setTimeout(() => {
      this._timer = null;
      this.renew().catch((error) => this._event({ type: 'renew-error', error }));
    }, ms);
    if (this._timer.unref) this._timer.unref();
  }

  /**
   * Stops background renewal and closes kept-alive TLS connections (with
   * `tls`). The client stays usable: a later call connects again.
   */
  close() {
    this._keepAlive = false;
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    if (typeof this._send.close === 'function') this._send.close();
  }

  /** psd001 (both stages): `{ type: "keyAgreed", padding, signatureMessage }`. */
  handshake() {
    return this.run('handshake');
  }

  /** psd005: `{ type: "authenticated", token }`. */
  authenticate() {
    return this.run('authenticate');
  }

  /** psd007: `{ type: "renewed", token }`. */
  renew() {
    return this.run('renew');
  }

  /**
   * psd050. Resolves to `{ ok: true, nossoNumero, seuNumero, codigoBarras,
   * statusProcessamento, raw }` or, for HTTP 550, `{ ok: false,
   * statusProcessamento, body }`.
   */
  async registerBoleto(boleto) {
    return boletoResult(await this.run({ type: 'registerBoleto', boleto }));
  }

  /**
   * psd052 (`{ nossoNumero, seuNumero }`). Resolves to `{ ok: true,
   * nossoNumero, seuNumero, registradoCip, statusProcessamento, raw }` or
   * `{ ok: false, statusProcessamento, body }`.
   */
  async queryBoleto(query) {
    return boletoResult(await this.run({ type: 'queryBoleto', query }));
  }
}

function boletoResult(reply) {
  if (reply.type === 'businessError') {
    return { ok: false, statusProcessamento: reply.statusProcessamento, body: reply.body };
  }
  const r = reply.reply;
  const d = r.documento || {};
  return {
    ok: true,
    nossoNumero: d.nossoNumero ?? null,
    seuNumero: d.seuNumero ?? null,
    codigoBarras: d.codigoBarras ?? null,
    registradoCip: d.registradoCip ?? null,
    statusProcessamento: r.statusProcessamento,
    raw: r.raw,
  };
}

module.exports = { SafraClient };

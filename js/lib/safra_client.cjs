'use strict';
// The Safra PSD driver: plain JS over the core's state machine. It only
// moves bytes: every decision (handshake, renewal, re-handshake on key
// expiry, re-authentication on 480, retries, whether a request may be sent
// again, reconciling an ambiguous psd050) is the core's — `handleResponse`
// for a reply, `handleTransportError` for a request that got none. The
// driver keeps no list of services of its own.
const { makeSender, transportFailureKind, isPermanentTransportError } = require('./http.cjs');
const { SeloError } = require('./errors.cjs');

/** Default per-request timeout (ms): a request with no reply by then is a "timeout". */
const DEFAULT_TIMEOUT_MS = 30_000;

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
   * @param {number} [o.timeoutMs] per-request timeout in ms (default 30000; 0: none)
   * @param {*} [o.clientKey] RSA client key (default: generated at the first handshake)
   * @param {"node"|"rustcrypto"} [o.provider] RSA provider
   * @param {Uint8Array} [o.seed] deterministic randomness (tests only)
   * @param {() => number} [o.now] clock in Unix seconds
   * @param {boolean} [o.keepAlive] renew the token in the background when due
   * @param {(e: object) => void} [o.onEvent] called with each step
   * @param {number} [o.maxInFlight] most calls at once (default 256; past it `safra.session.busy`)
   * @param {object} [o.shared] a share of the session with other instances
   *   (`RedisSafraShare` from `selo/redis`): the credentials come from the
   *   fleet's sealed record and a handshake, psd005 or psd007 runs under the
   *   fleet's lease, once fleet-wide (SPEC §5)
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
    const timeoutMs = o.timeoutMs === undefined || o.timeoutMs === null ? DEFAULT_TIMEOUT_MS : o.timeoutMs;
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) throw new TypeError('options.timeoutMs: expected a number of milliseconds ≥ 0');
    this._send = o.send || makeSender({ fetch: o.fetch, tls: o.tls, timeoutMs: timeoutMs === Infinity ? 0 : timeoutMs });
    this._now = o.now || defaultNow;
    this._onEvent = o.onEvent || null;
    this._timeoutMs = timeoutMs === Infinity ? 0 : timeoutMs;
    // Resolved (and replaced) each time the session handled a response or
    // an operation ended: what a call waiting for a transition awaits.
    this._waiters = null;
    if (o.maxInFlight !== undefined && o.maxInFlight !== null) this._session.setMaxInFlight(o.maxInFlight);
    this._keepAlive = !!o.keepAlive;
    this._timer = null;
    // Shared with other instances: the lease taken by one task at a time.
    this._shared = o.shared || null;
    this._leaseTask = null;
    this._releasing = null;
    if (this._shared) this._shared.attach(this._session);
  }

  /** The share given as `shared` (its `stats()`), or null. */
  get shared() {
    return this._shared;
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

  /**
   * Runs one operation to completion. Calls run at once: each begins its
   * own operation on the shared session (SPEC §5) — business calls share
   * the credentials, a handshake, psd005 or psd007 runs once and the calls
   * that need it wait for it (at most `timeoutMs` per wait, then
   * `safra.session.not_ready`). The `signal` option (an AbortSignal) ends the
   * call: it rejects with the signal's reason and the operation is
   * cancelled (a psd050 in flight stays an unresolved registration).
   */
  async run(operation, opts) {
    const signal = opts && opts.signal;
    if (signal && signal.aborted) throw abortReason(signal);
    const op = this._session.begin(operation);
    let lastTransportError;
    try {
      // Shared: every call starts from the fleet's newest record (and
      // fails closed, `shared.store_unavailable`, when it cannot be read).
      if (this._shared && !this._shared.holdsLease) {
        if ((await this._shared.readRecord(this._session)) === 'adopted') this._notify();
      }
      return await this._loop(op, signal, (err) => {
        lastTransportError = err;
      });
    } catch (e) {
      // A call that failed while this instance holds the lease and no
      // transition is in flight gives the lease up (SPEC §5).
      if (this._shared && this._shared.holdsLease && !this._session.transitionInFlight && !this._leaseTask && !this._releasing) {
        await this._shared.release(this._session).catch(() => {});
      }
      // A typed error after a lost reply (too many recoveries, outcome
      // unknown): keep what actually happened on the wire reachable.
      if (lastTransportError !== undefined && e && typeof e === 'object' && e !== lastTransportError && e.cause === undefined) {
        try {
          e.cause = lastTransportError;
        } catch {
          /* frozen */
        }
      }
      throw e;
    } finally {
      // Ended with a reply or a core error: already gone (false). Ended
      // any other way (aborted, a waiter's timeout, an unexpected throw):
      // the session forgets it and keeps the reconcile promise of a psd050
      // in flight. Either way the waiters look again.
      this._session.cancel(op);
      this._releaseIfIdle();
      this._notify();
    }
  }

  /**
   * Shared: takes the fleet's lease in the background, one task at a time
   * (calls that must wait for it await `_leaseTask`).
   */
  _startLease(signal) {
    if (this._leaseTask) return;
    const task = this._shared.takeLease(this._session).finally(() => {
      if (this._leaseTask === task) this._leaseTask = null;
      this._releaseIfIdle();
      this._notify();
    });
    task.catch(() => {
      /* a call waiting for it sees the error; a background take is tried again */
    });
    this._leaseTask = task;
  }

  /**
   * Shared: the lease held with nothing to run under it — no call in flight,
   * or (`unused`) a call just went on with a business request while no
   * transition is in flight: publish what changed under it, or release it
   * (else the fleet would wait for it until its TTL).
   */
  _releaseIfIdle(unused = false) {
    const sh = this._shared;
    if (!sh || !sh.holdsLease || this._leaseTask || this._releasing || this._session.transitionInFlight) return;
    if (!unused && this._session.inFlight > 0) return;
    const done = (sh.core.readyToPublish(this._session) ? sh.publishIfReady(this._session) : sh.release(this._session))
      .catch((error) => this._event({ type: 'shared-error', error }))
      .finally(() => {
        if (this._releasing === done) this._releasing = null;
      });
    this._releasing = done;
  }

  /** Resolves or rejects with `promise`, bounded like a wait (`_waitHandled`). */
  _waitFor(promise, signal) {
    const ms = this._timeoutMs;
    if (!ms && !signal) return promise;
    return new Promise((resolve, reject) => {
      let timer = null;
      const onAbort = () => {
        done();
        reject(abortReason(signal));
      };
      const done = () => {
        if (timer) clearTimeout(timer);
        if (signal) signal.removeEventListener('abort', onAbort);
      };
      if (ms && ms !== Infinity) {
        timer = setTimeout(() => {
          done();
          reject(
            new SeloError(
              'safra.session.not_ready',
              `waited ${ms} ms (timeoutMs) for the fleet's lease or another instance's handshake, psd005 or psd007: this call was cancelled`,
            ),
          );
        }, ms);
      }
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (v) => {
          done();
          resolve(v);
        },
        (e) => {
          done();
          reject(e);
        },
      );
    });
  }

  /** Shared: after a transition's response, publish when the session is ready (then release). */
  async _afterTransition() {
    const sh = this._shared;
    if (sh && sh.holdsLease && !this._releasing && sh.core.readyToPublish(this._session)) {
      // One publish at a time: other calls see `_releasing` meanwhile.
      const p = sh.publishIfReady(this._session);
      const settled = p.then(
        () => {},
        () => {},
      );
      this._releasing = settled;
      try {
        await p;
      } finally {
        if (this._releasing === settled) this._releasing = null;
        this._notify();
      }
    }
  }

  /** Wakes every waiter: the session handled a response or an operation ended. */
  _notify() {
    const w = this._waiters;
    this._waiters = null;
    if (w) w.resolve();
  }

  /**
   * Resolves once the session handled something (`_notify`); rejects with
   * `safra.session.not_ready` after `timeoutMs` (0: no bound), or with the
   * signal's reason.
   */
  _waitHandled(signal) {
    if (!this._waiters) {
      let resolve;
      const promise = new Promise((r) => {
        resolve = r;
      });
      this._waiters = { promise, resolve };
    }
    const handled = this._waiters.promise;
    const ms = this._timeoutMs;
    if (!ms && !signal) return handled;
    return new Promise((resolve, reject) => {
      let timer = null;
      const onAbort = () => {
        done();
        reject(abortReason(signal));
      };
      const done = () => {
        if (timer) clearTimeout(timer);
        if (signal) signal.removeEventListener('abort', onAbort);
      };
      if (ms && ms !== Infinity) {
        timer = setTimeout(() => {
          done();
          reject(
            new SeloError(
              'safra.session.not_ready',
              `waited ${ms} ms (timeoutMs) for another call's handshake, psd005 or psd007 to finish: this call was cancelled`,
            ),
          );
        }, ms);
      }
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      handled.then(() => {
        done();
        resolve();
      });
    });
  }

  /** Sends one request; with a caller's signal, rejects as soon as it aborts. */
  _sendWith(request, signal) {
    const sent = Promise.resolve(this._send(request));
    if (!signal) return sent;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new CallerAbort(abortReason(signal)));
      signal.addEventListener('abort', onAbort, { once: true });
      sent.then(
        (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  async _loop(op, signal, noteTransportError) {
    for (;;) {
      if (signal && signal.aborted) throw abortReason(signal);
      const step = this._session.next(op, this._now());
      const sh = this._shared;
      // Shared: a transition needs the fleet's lease (or a renewal fell
      // due): one task takes it; a call that cannot go on waits for it.
      if (sh && this._session.wantsLease && !sh.holdsLease) this._startLease();
      if (step.wait) {
        this._event({ type: 'wait' });
        if (this._leaseTask) await this._waitFor(this._leaseTask, signal);
        else await this._waitHandled(signal);
        continue;
      }
      const { id, request } = step;
      const transition = sh !== null && this._session.isTransition(id);
      // Holding the lease, a business request and no transition in flight:
      // nothing needs the lease any more (a transition goes first).
      if (sh && !transition && sh.holdsLease) this._releaseIfIdle(true);
      this._event({ type: 'request', url: request.url, resendable: request.resendable });
      let response;
      try {
        response = await this._sendWith(request, signal);
      } catch (err) {
        // The caller gave up: the operation is cancelled (finally in run).
        if (err instanceof CallerAbort) throw err.reason;
        // No reply: the session decides (retry what may be resent,
        // reconcile an ambiguous psd050 with a psd052 query, or give up
        // with a typed error). The driver never resends on its own.
        noteTransportError(err);
        const failure = transportFailureKind(err);
        let out;
        try {
          out = this._session.handleTransportError(id, failure, this._now());
        } catch (e) {
          this._event({ type: 'transport-error', url: request.url, error: err, failure, action: null });
          throw e;
        } finally {
          this._notify();
        }
        this._event({ type: 'transport-error', url: request.url, error: err, failure, action: out.done ? null : out.action });
        if (transition) await this._afterTransition();
        if (out.done) {
          this._schedule();
          return out.reply;
        }
        // A refused TLS certificate fails the same way every time: when the
        // session would only send the request again, give up at once with
        // the transport error (which says what went wrong).
        if (out.action === 'retry' && isPermanentTransportError(err)) throw err;
        continue;
      }
      let out;
      try {
        out = this._session.handleResponse(id, response, this._now());
      } catch (e) {
        this._event({ type: 'response', url: request.url, status: response.status, action: null, error: e });
        throw e;
      } finally {
        this._notify();
      }
      this._event({ type: 'response', url: request.url, status: response.status, action: out.done ? null : out.action });
      if (transition) await this._afterTransition();
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
   * `tls`). The client stays usable: a later call connects again. With
   * `shared`, returns a promise that settles once this instance no longer
   * holds the fleet's lease (a lease being taken finishes, a held one is
   * released): await it before closing the Redis client, or the lease
   * stays until its TTL and the fleet waits for it.
   */
  close() {
    this._keepAlive = false;
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    if (typeof this._send.close === 'function') this._send.close();
    if (!this._shared) return undefined;
    return this._letGo();
  }

  async _letGo() {
    const sh = this._shared;
    for (let i = 0; i < 3; i++) {
      if (this._leaseTask) await this._leaseTask.catch(() => {});
      if (this._releasing) await this._releasing;
      if (!sh.holdsLease || this._session.inFlight > 0 || this._session.transitionInFlight) break;
      await sh.release(this._session).catch((error) => this._event({ type: 'shared-error', error }));
    }
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
   * statusProcessamento, reconciled, ivReused, raw }` or, for HTTP 550,
   * `{ ok: false, statusProcessamento, body }`. `reconciled` is true when
   * psd050's outcome was ambiguous (5xx, lost reply, timeout) and the
   * session's psd052 query found the boleto registered (then `raw` is the
   * psd052 reply). When that query is ambiguous too (or recoveries run out
   * while it is unresolved), it rejects with `SeloError`
   * `safra.boleto.outcome_unknown` (the message names the nossoNumero): the
   * boleto may or may not be registered. The session keeps it in
   * `unresolvedRegistrations()`; registering it again reconciles first.
   */
  async registerBoleto(boleto, opts) {
    return boletoResult(await this.run({ type: 'registerBoleto', boleto }, opts));
  }

  /**
   * The psd050s whose outcome is unknown (session state, carried by
   * `session.export()`), oldest first: `[{ nossoNumero, seuNumero, since }]`
   * (`nossoNumero` a string, `since` Unix seconds). A later
   * `registerBoleto` of any of them starts with a psd052 query, whatever
   * ran in between: found → `reconciled: true`; not found → psd050 once
   * more; that query failing → `safra.boleto.outcome_unknown` again.
   */
  unresolvedRegistrations() {
    return this._session.unresolvedRegistrations();
  }

  /**
   * Forgets the unresolved registration of `nossoNumero` (string or
   * number) once its outcome is known by other means (the bank's portal, a
   * query of your own); true when it was unresolved. The next register of
   * that boleto then sends psd050 directly.
   */
  resolveRegistration(nossoNumero) {
    return this._session.resolveRegistration(nossoNumero);
  }

  /**
   * psd052 (`{ nossoNumero, seuNumero }`). Resolves to `{ ok: true,
   * nossoNumero, seuNumero, registradoCip, statusProcessamento, raw }` or
   * `{ ok: false, statusProcessamento, body }`.
   */
  async queryBoleto(query, opts) {
    return boletoResult(await this.run({ type: 'queryBoleto', query }, opts));
  }
}

/** The reason an aborted signal carries (an AbortError when it has none). */
function abortReason(signal) {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('This operation was aborted');
  e.name = 'AbortError';
  return e;
}

/** The caller's signal aborted while a request was in flight (not a transport failure). */
class CallerAbort {
  constructor(reason) {
    this.reason = reason;
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
    reconciled: !!r.reconciled,
    ivReused: !!r.ivReused,
    raw: r.raw,
  };
}

module.exports = { SafraClient, DEFAULT_TIMEOUT_MS };

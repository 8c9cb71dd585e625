'use strict';
// Transport for the drivers: the global `fetch` by default; with `tls`
// (client certificate, private key, CA), Node's own `https` module with an
// `https.Agent` — Node's bundled fetch has no public way to present a
// client certificate without the separate `undici` package, and this keeps
// the package free of runtime dependencies.
const https = require('node:https');
const http = require('node:http');

/** `{ status, headers: [[n, v]…], body: Uint8Array }` from a fetch Response. */
async function fromFetchResponse(res) {
  const headers = [];
  res.headers.forEach((v, k) => headers.push([k, v]));
  return { status: res.status, headers, body: new Uint8Array(await res.arrayBuffer()) };
}

function headersObject(pairs) {
  const h = {};
  for (const [n, v] of pairs) {
    if (h[n] === undefined) h[n] = v;
    else h[n] = [].concat(h[n], v);
  }
  return h;
}

/**
 * A sender `(request) => Promise<{status, headers, body}>` where
 * `request` is `{ method, url, headers: [[n, v]…], body: Uint8Array }`.
 */
function makeSender({ fetch, tls, timeoutMs } = {}) {
  if (tls) {
    // Every TLS option passes through (`passphrase` for an encrypted key,
    // `pfx` for a PKCS#12 bundle, `servername`, `minVersion`, …), not only
    // cert/key/ca. One keep-alive agent per client: connections are reused.
    const agent = new https.Agent({ ...tls, keepAlive: true });
    const send = (req) => nodeRequest(req, agent, timeoutMs);
    // Closes the kept-alive connections (the agent stays usable).
    send.close = () => agent.destroy();
    return send;
  }
  const f = fetch || globalThis.fetch;
  if (typeof f !== 'function') throw new TypeError('no fetch available: pass options.fetch');
  return async (req) => {
    const init = { method: req.method, headers: req.headers, body: req.body };
    if (timeoutMs) init.signal = AbortSignal.timeout(timeoutMs);
    const res = await f(req.url, init);
    return fromFetchResponse(res);
  };
}

function nodeRequest(req, agent, timeoutMs) {
  return new Promise((resolve, reject) => {
    const u = new URL(req.url);
    const mod = u.protocol === 'https:' ? https : http;
    const r = mod.request(
      u,
      { method: req.method, headers: headersObject(req.headers), agent: u.protocol === 'https:' ? agent : undefined },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', (err) => reject(transportError(req, u, err)));
        res.on('end', () => {
          const headers = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i], res.rawHeaders[i + 1]]);
          resolve({ status: res.statusCode, headers, body: new Uint8Array(Buffer.concat(chunks)) });
        });
      },
    );
    r.on('error', (err) => {
      // TLS 1.3: a server that refuses the client certificate after the
      // handshake just closes the connection; say what that likely means.
      const refused =
        err && err.code === 'ECONNRESET' && u.protocol === 'https:' && r.reusedSocket === false &&
        agent && (agent.options.cert || agent.options.pfx);
      const hint = refused ? ' (the server closed a new TLS connection without answering: was the client certificate refused?)' : '';
      reject(transportError(req, u, err, hint));
    });
    if (timeoutMs) r.setTimeout(timeoutMs, () => r.destroy(timeoutError(timeoutMs)));
    r.end(req.body ? Buffer.from(req.body) : undefined);
  });
}

/**
 * A transport failure that says which request failed: "POST
 * https://host/psd/psd001: socket hang up". Keeps node's `code` (ECONNRESET,
 * ERR_SSL_…, CERT_…) and the original error as `cause`.
 */
function transportError(req, u, err, hint = '') {
  const e = new Error(`${req.method} ${u.origin}${u.pathname}: ${err && err.message}${hint}`, { cause: err });
  if (err && err.code !== undefined) e.code = err.code;
  if (hint) e.tlsRefused = true;
  return e;
}

function timeoutError(ms) {
  const e = new Error(`request timed out after ${ms} ms`);
  e.name = 'TimeoutError';
  e.code = 'ETIMEDOUT';
  return e;
}

// Failures before a single byte of the request left: the request had no effect.
const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH',
  'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_INVALID_URL',
  // TLS: the server's certificate was refused before anything was sent.
  'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REVOKED', 'ERR_SSL_WRONG_VERSION_NUMBER',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ERR_STREAM_PREMATURE_CLOSE']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ABORT_ERR']);
const KINDS = new Set(['connect', 'timeout', 'reset', 'other']);

/**
 * What a transport failure means for a request that may have had an effect,
 * in the core's words: "connect" (never sent: refused, DNS, TLS
 * certificate), "timeout" (no reply in time), "reset" (the connection
 * closed after the request may have been sent) or "other". Looks through
 * `cause` chains (undici's "fetch failed" wraps the socket error). An error
 * with a `transportFailure` member of one of those names says so itself
 * (custom senders, fakes). When unsure: "other" — never "connect", which
 * would allow a resend.
 */
function transportFailureKind(err) {
  let timeout = false;
  let reset = false;
  for (let e = err, depth = 0; e && depth < 8; e = e.cause, depth++) {
    if (typeof e !== 'object' && typeof e !== 'function') break;
    if (typeof e.transportFailure === 'string' && KINDS.has(e.transportFailure)) return e.transportFailure;
    const code = typeof e.code === 'string' ? e.code : '';
    if (CONNECT_CODES.has(code) || e.syscall === 'connect' || e.syscall === 'getaddrinfo') return 'connect';
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || TIMEOUT_CODES.has(code)) timeout = true;
    else if (RESET_CODES.has(code) || /socket hang up|other side closed/i.test(String(e.message))) reset = true;
  }
  if (timeout) return 'timeout';
  if (reset) return 'reset';
  return 'other';
}

/**
 * True for a failure that sending again cannot fix: a TLS certificate
 * refused by either side (an untrusted server certificate, a missing or
 * refused client certificate). A driver reports it to the session like any
 * other, then gives up instead of retrying the same handshake.
 */
function isPermanentTransportError(err) {
  for (let e = err, depth = 0; e && depth < 8; e = e.cause, depth++) {
    if (typeof e !== 'object' && typeof e !== 'function') break;
    if (e.tlsRefused === true) return true;
    const code = typeof e.code === 'string' ? e.code : '';
    if (/^ERR_SSL_|^ERR_TLS_|CERT|^UNABLE_TO_|SELF_SIGNED/.test(code)) return true;
  }
  return false;
}

/**
 * A GET that never holds more than it may: no redirect followed, at most
 * `maxBytes` of body read (the stream is cancelled past it), and ONE
 * deadline, `timeoutMs`, for the whole exchange (connect, headers and every
 * byte of the body). Resolves to `{ status, headers, body }` (the body of a
 * non-200 answer is not read: empty) or rejects; a rejection of its own has
 * `getFailure` "timeout" or "too-large". `get` is made by `makeBoundedGet`.
 */
function makeBoundedGet({ fetch, tls } = {}) {
  if (tls) {
    const agent = new https.Agent({ ...tls, keepAlive: true });
    const get = (url, o) => nodeBoundedGet(url, agent, o);
    get.close = () => agent.destroy();
    return get;
  }
  const f = fetch || globalThis.fetch;
  if (typeof f !== 'function') throw new TypeError('no fetch available: pass options.fetch');
  return (url, o) => fetchBoundedGet(f, url, o);
}

function getFailure(kind, message, cause) {
  const e = new Error(message, cause === undefined ? undefined : { cause });
  e.getFailure = kind;
  return e;
}

async function fetchBoundedGet(f, url, { timeoutMs, maxBytes, headers = [['accept', 'application/json']] }) {
  const ac = new AbortController();
  let timedOut = false;
  let rejectDeadline;
  // Raced with every await: a fetch (or a body stream) that ignores the
  // signal still cannot hold the caller past the deadline.
  const deadline = new Promise((_, reject) => {
    rejectDeadline = reject;
  });
  deadline.catch(() => {});
  const timer = setTimeout(() => {
    timedOut = true;
    const e = getFailure('timeout', `GET ${url}: no complete answer within ${timeoutMs} ms`);
    ac.abort(e);
    rejectDeadline(e);
  }, timeoutMs);
  let reader = null;
  try {
    const res = await Promise.race([f(url, { method: 'GET', headers, redirect: 'manual', signal: ac.signal }), deadline]);
    const out = [];
    if (res.headers && typeof res.headers.forEach === 'function') res.headers.forEach((v, k) => out.push([k, v]));
    if (res.status !== 200) {
      // The core decides on the status alone (3xx: redirects are not
      // followed): the body is not read.
      if (res.body && typeof res.body.cancel === 'function') res.body.cancel().catch(() => {});
      return { status: res.status, headers: out, body: new Uint8Array() };
    }
    const declared = res.headers && typeof res.headers.get === 'function' ? Number(res.headers.get('content-length')) : NaN;
    if (Number.isFinite(declared) && declared > maxBytes) {
      throw getFailure('too-large', `GET ${url}: content-length ${declared} is over the ${maxBytes}-byte limit`);
    }
    if (res.body && typeof res.body.getReader === 'function') {
      reader = res.body.getReader();
      const chunks = [];
      let size = 0;
      for (;;) {
        const { done, value } = await Promise.race([reader.read(), deadline]);
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) throw getFailure('too-large', `GET ${url}: the body went past ${maxBytes} bytes; reading stopped`);
        chunks.push(value);
      }
      reader = null;
      return { status: res.status, headers: out, body: concat(chunks, size) };
    }
    // A fetch stand-in without a stream body: bounded after the fact.
    const body = new Uint8Array(await Promise.race([res.arrayBuffer(), deadline]));
    if (body.length > maxBytes) throw getFailure('too-large', `GET ${url}: the body has ${body.length} bytes, over the ${maxBytes}-byte limit`);
    return { status: res.status, headers: out, body };
  } catch (err) {
    // Stop reading and close the connection, whatever went wrong.
    if (reader) reader.cancel().catch(() => {});
    if (!ac.signal.aborted) ac.abort();
    if (timedOut && !(err && err.getFailure)) throw getFailure('timeout', `GET ${url}: no complete answer within ${timeoutMs} ms`, err);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function nodeBoundedGet(url, agent, { timeoutMs, maxBytes, headers = [['accept', 'application/json']] }) {
  return new Promise((resolve, reject) => {
    let u;
    try {
      u = new URL(url);
    } catch (err) {
      reject(err);
      return;
    }
    const mod = u.protocol === 'https:' ? https : http;
    let settled = false;
    let timer = null;
    const fail = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const req = mod.request(u, { method: 'GET', headers: headersObject(headers), agent: u.protocol === 'https:' ? agent : undefined }, (res) => {
      const out = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) out.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
      if (res.statusCode !== 200) {
        settled = true;
        clearTimeout(timer);
        res.destroy();
        resolve({ status: res.statusCode, headers: out, body: new Uint8Array() });
        return;
      }
      const chunks = [];
      let size = 0;
      res.on('data', (c) => {
        size += c.length;
        if (size > maxBytes) fail(getFailure('too-large', `GET ${url}: the body went past ${maxBytes} bytes; reading stopped`));
        else chunks.push(c);
      });
      res.on('error', (err) => fail(transportError({ method: 'GET' }, u, err)));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode, headers: out, body: concat(chunks, size) });
      });
    });
    req.on('error', (err) => fail(transportError({ method: 'GET' }, u, err)));
    timer = setTimeout(() => fail(getFailure('timeout', `GET ${url}: no complete answer within ${timeoutMs} ms`)), timeoutMs);
    req.end();
  });
}

function concat(chunks, size) {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Default limit of `readRaw` and the server helpers: 1 MiB. */
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * A request body over the limit (HTTP 413). A driver-level code (in
 * `hostCodes()`, not `allCodes()`): "http.body_too_large". `limit` is the configured maximum.
 */
class BodyTooLargeError extends Error {
  constructor(limit, declared) {
    super(declared !== undefined
      ? `request body of ${declared} bytes (content-length) is over the limit of ${limit} bytes`
      : `request body is over the limit of ${limit} bytes`);
    this.name = 'BodyTooLargeError';
    this.code = 'http.body_too_large';
    this.httpStatus = 413;
    this.limit = limit;
  }
}

/**
 * Reads a Node `IncomingMessage` body as raw bytes, at most `maxBytes`
 * (default 1 MiB): a larger `content-length` is refused before reading, and
 * a body that grows past the limit stops being read. Both reject with
 * `BodyTooLargeError` (status 413); the caller answers 413 and should close
 * the connection (`connection: close`), the rest of the body is not read.
 */
function readRaw(req, { maxBytes = DEFAULT_MAX_BODY_BYTES } = {}) {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers && req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      req.pause();
      reject(new BodyTooLargeError(maxBytes, declared));
      return;
    }
    const chunks = [];
    let size = 0;
    let done = false;
    const onData = (c) => {
      if (done) return;
      size += c.length;
      if (size > maxBytes) {
        done = true;
        chunks.length = 0;
        req.removeListener('data', onData);
        req.pause();
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (!done) resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    req.on('error', (e) => {
      if (!done) reject(e);
    });
  });
}

/**
 * The 413 answer of the server helpers: the core's response
 * (`bodyTooLargeResponse(limit)`), and the connection closed (the rest of
 * the body is not read).
 */
function tooLargeResponse(wasm, err) {
  const r = wasm.bodyTooLargeResponse(err.limit);
  return { ...r, headers: [...r.headers, ['connection', 'close']] };
}

/** Writes `{ status, headers, body }` to a Node `ServerResponse`. */
function writeResponse(res, r) {
  res.statusCode = r.status;
  for (const [n, v] of r.headers) res.setHeader(n, v);
  res.end(r.body && r.body.length ? Buffer.from(r.body) : undefined);
}

module.exports = {
  makeSender, makeBoundedGet, transportFailureKind, isPermanentTransportError, fromFetchResponse, readRaw, writeResponse, headersObject,
  BodyTooLargeError, tooLargeResponse, DEFAULT_MAX_BODY_BYTES,
};

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
    const agent = new https.Agent({ cert: tls.cert, key: tls.key, ca: tls.ca, keepAlive: true });
    return (req) => nodeRequest(req, agent, timeoutMs);
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
        res.on('error', reject);
        res.on('end', () => {
          const headers = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i], res.rawHeaders[i + 1]]);
          resolve({ status: res.statusCode, headers, body: new Uint8Array(Buffer.concat(chunks)) });
        });
      },
    );
    r.on('error', reject);
    if (timeoutMs) r.setTimeout(timeoutMs, () => r.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
    r.end(req.body ? Buffer.from(req.body) : undefined);
  });
}

/** Reads a Node `IncomingMessage` body as raw bytes. */
function readRaw(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/** Writes `{ status, headers, body }` to a Node `ServerResponse`. */
function writeResponse(res, r) {
  res.statusCode = r.status;
  for (const [n, v] of r.headers) res.setHeader(n, v);
  res.end(r.body && r.body.length ? Buffer.from(r.body) : undefined);
}

module.exports = { makeSender, fromFetchResponse, readRaw, writeResponse, headersObject };

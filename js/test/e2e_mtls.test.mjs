// SafraClient over mutual TLS, end to end: `tls: { cert, key, ca }` talks to
// a Node `https` server that demands a client certificate from a test CA
// (made here with the openssl CLI) and forwards every request to the Rust
// Safra simulator (`selo sim safra --port 0`). The proxy records the client
// certificate's CN and which TLS connection carried each request.
// scripts/test-js builds the CLI, sets SELO_BIN and installs openssl; without
// either these tests fail, they never skip. No wall-clock waits: the token
// clock is injected and background renewal runs on a mocked setTimeout.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { startSim, fault } from './sim.mjs';

const require = createRequire(import.meta.url);
const { selo, vectorText } = require('./helpers.cjs');
const boleto = JSON.parse(vectorText('safra/boleto-sample.json'));
const CLIENT_CN = 'selo-mtls-client';

function requireOpenssl() {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the openssl CLI is not installed (it makes the test CA and certificates; scripts/test-js installs it)');
  }
}

// --- a test PKI: a CA, a server certificate for 127.0.0.1/localhost, a client
// certificate from that CA, one from another CA, and one with an encrypted key.
function makePki() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'selo-mtls-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const ca = (name) =>
    openssl('req', '-x509', ...ec, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name, caName, cn, ext, keyArgs = ['-nodes']) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n${ext}\n`);
    openssl('req', '-new', ...ec, ...keyArgs, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-set_serial', `0x${Math.floor(Math.random() * 2 ** 48).toString(16)}`,
      '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`);
  };
  ca('selo-test-ca');
  ca('other-ca');
  leaf('server', 'selo-test-ca', 'localhost', 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost');
  leaf('client', 'selo-test-ca', CLIENT_CN, 'extendedKeyUsage=clientAuth');
  leaf('rogue', 'other-ca', CLIENT_CN, 'extendedKeyUsage=clientAuth');
  leaf('locked', 'selo-test-ca', `${CLIENT_CN}-locked`, 'extendedKeyUsage=clientAuth', ['-passout', 'pass:s3cret']);
  const read = (f) => fs.readFileSync(path.join(dir, f));
  return {
    ca: read('selo-test-ca.crt'),
    server: { cert: read('server.crt'), key: read('server.key') },
    client: { cert: read('client.crt'), key: read('client.key') },
    rogue: { cert: read('rogue.crt'), key: read('rogue.key') },
    locked: { cert: read('locked.crt'), key: read('locked.key'), passphrase: 's3cret' },
  };
}
requireOpenssl();
const pki = makePki();

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

/**
 * An https server on 127.0.0.1:0 that requires a client certificate from the
 * test CA and forwards method, path, headers and body to the simulator.
 * `requests`: `{ method, path, cn, connection }` per forwarded request;
 * `connections`: TLS connections established (secureConnection events).
 */
async function startProxy(simBase) {
  const sim = new URL(simBase);
  const seen = { requests: [], connections: 0, closed: 0, tlsErrors: [] };
  const closeWaiters = [];
  const upstream = new http.Agent({ keepAlive: true });
  const server = https.createServer(
    { ...pki.server, ca: pki.ca, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const peer = req.socket.getPeerCertificate();
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        seen.requests.push({ method: req.method, path: req.url, cn: peer && peer.subject ? peer.subject.CN : null, connection: req.socket.seloConnection });
        const headers = {};
        for (const [n, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(n)) headers[n] = v;
        headers.host = sim.host;
        const up = http.request({ host: sim.hostname, port: sim.port, method: req.method, path: req.url, headers, agent: upstream }, (ur) => {
          const out = {};
          for (const [n, v] of Object.entries(ur.headers)) if (!HOP_BY_HOP.has(n)) out[n] = v;
          res.writeHead(ur.statusCode, out);
          ur.pipe(res);
        });
        // The simulator dropped the reply: drop ours too.
        up.on('error', () => res.destroy());
        up.end(Buffer.concat(chunks));
      });
    },
  );
  // Idle connections stay open until the client closes them (node's default
  // is 5 s), so connection counts depend on the client's agent alone.
  server.keepAliveTimeout = 60_000;
  server.on('secureConnection', (s) => {
    seen.connections++;
    s.seloConnection = seen.connections;
    s.on('close', () => {
      seen.closed++;
      for (const w of closeWaiters.splice(0)) w();
    });
  });
  /** Resolves once the server has seen `n` TLS connections close (an event, not a sleep). */
  seen.closedAtLeast = (n) =>
    new Promise((resolve) => {
      const check = () => (seen.closed >= n ? resolve() : closeWaiters.push(check));
      check();
    });
  server.on('tlsClientError', (e) => seen.tlsErrors.push(e.code || e.message));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    upstream.destroy();
    server.closeAllConnections();
    server.close();
  });
  const simPath = sim.pathname.replace(/\/$/, '');
  return { base: `https://127.0.0.1:${server.address().port}${simPath}`, seen };
}

function recorder() {
  const events = [];
  const onEvent = (e) => {
    if (e.type === 'response') events.push(`${e.url.split('/').pop()}:${e.status}`);
    if (e.type === 'transport-error') events.push(`${e.url.split('/').pop()}:transport-error`);
  };
  return { events, onEvent };
}

test('SafraClient with tls {cert, key, ca}: register + query over mTLS; the server saw the client certificate on every request', { timeout: 120_000 }, async () => {
  const { base: simBase } = await startSim([]);
  const proxy = await startProxy(simBase);
  const { events, onEvent } = recorder();
  const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: proxy.base, tls: { ...pki.client, ca: pki.ca }, onEvent });
  try {
    const reg = await client.registerBoleto(boleto);
    assert.equal(reg.ok, true, JSON.stringify(reg));
    assert.equal(reg.codigoBarras.length, 44);
    const q = await client.queryBoleto({ nossoNumero: reg.nossoNumero, seuNumero: boleto.documento.seuNumero });
    assert.equal(q.ok, true, JSON.stringify(q));
    assert.equal(String(q.nossoNumero), String(reg.nossoNumero));
    assert.deepEqual(events, ['psd001:200', 'psd001:200', 'psd005:200', 'psd050:200', 'psd052:200']);

    // Key expiry (500 + amc-criptografia: erro) read from node:https's
    // response headers: re-handshake and retry over the same transport.
    await fault(simBase, { fault: 'expire-key' });
    events.length = 0;
    assert.equal((await client.queryBoleto({ nossoNumero: reg.nossoNumero, seuNumero: boleto.documento.seuNumero })).ok, true);
    assert.deepEqual(events, ['psd052:500', 'psd001:200', 'psd001:200', 'psd005:200', 'psd052:200']);

    const paths = proxy.seen.requests.map((r) => `${r.method} ${r.path.split('/').pop()}`);
    assert.deepEqual(paths, ['POST psd001', 'POST psd001', 'POST psd005', 'POST psd050', 'POST psd052', 'POST psd052', 'POST psd001', 'POST psd001', 'POST psd005', 'POST psd052']);
    for (const r of proxy.seen.requests) assert.equal(r.cn, CLIENT_CN, `request ${r.path} came without the client certificate`);
    assert.deepEqual(proxy.seen.tlsErrors, []);
  } finally {
    client.close();
  }
});

test('SafraClient without a valid client certificate fails fast with a transport error, and nothing reaches the bank', { timeout: 60_000 }, async () => {
  const { base: simBase } = await startSim([]);
  const proxy = await startProxy(simBase);
  const cases = [
    // No tls at all: global fetch, which does not trust the test CA either.
    { name: 'no tls', opts: {}, codes: ['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'] },
    // The server is trusted but no certificate is presented: TLS 1.3 alert 116.
    { name: 'tls without cert', opts: { tls: { ca: pki.ca } }, codes: ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ECONNRESET', 'EPIPE'] },
    // A certificate from another CA: node's server closes the connection after the handshake.
    { name: 'cert from another CA', opts: { tls: { ...pki.rogue, ca: pki.ca } }, codes: ['ECONNRESET', 'EPIPE', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'] },
  ];
  for (const c of cases) {
    const { events, onEvent } = recorder();
    const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: proxy.base, onEvent, timeoutMs: 20_000, ...c.opts });
    await assert.rejects(client.registerBoleto(boleto), (e) => {
      assert.ok(!(e instanceof selo.SeloError), `${c.name}: a transport failure, not a protocol error: ${e}`);
      const code = e.code ?? (e.cause && e.cause.code);
      assert.ok(c.codes.includes(code), `${c.name}: unexpected error code ${code}: ${e.message}`);
      // The error says what went wrong: a certificate.
      assert.match(`${e.message} ${e.cause && e.cause.message}`, /certificate/i, c.name);
      // node:https errors name the request that failed.
      if (c.opts.tls) assert.match(e.message, /^POST https:\/\/127\.0\.0\.1:\d+\/\S*psd001: /, c.name);
      return true;
    }, c.name);
    assert.deepEqual(events, ['psd001:transport-error'], c.name);
    client.close();
  }
  assert.deepEqual(proxy.seen.requests, [], 'no request may be forwarded without an accepted client certificate');
  assert.equal(proxy.seen.connections, 0, 'no TLS connection may be accepted');
});

test('the keep-alive agent reuses TLS connections: fewer connections than requests', { timeout: 120_000 }, async () => {
  const { base: simBase } = await startSim([]);
  const proxy = await startProxy(simBase);
  const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: proxy.base, tls: { ...pki.client, ca: pki.ca } });
  try {
    const reg = await client.registerBoleto(boleto);
    assert.equal(reg.ok, true);
    for (let i = 0; i < 3; i++) {
      assert.equal((await client.queryBoleto({ nossoNumero: reg.nossoNumero, seuNumero: boleto.documento.seuNumero })).ok, true);
    }
    const n = proxy.seen.requests.length;
    assert.equal(n, 7); // psd001 ×2, psd005, psd050, psd052 ×3
    assert.ok(proxy.seen.connections >= 1);
    assert.ok(proxy.seen.connections < n, `${proxy.seen.connections} TLS connections for ${n} requests`);
    // Sequential calls on an idle kept-alive socket: one connection carries them all.
    assert.deepEqual(new Set(proxy.seen.requests.map((r) => r.connection)), new Set([1]));

    // close() drops the kept-alive connection (the server sees it close);
    // the next call opens a new one.
    client.close();
    await proxy.seen.closedAtLeast(1);
    assert.equal(proxy.seen.closed, 1);
    assert.equal((await client.queryBoleto({ nossoNumero: reg.nossoNumero, seuNumero: boleto.documento.seuNumero })).ok, true);
    assert.equal(proxy.seen.connections, 2);
    assert.equal(proxy.seen.requests.at(-1).connection, 2);
  } finally {
    client.close();
  }
});

test('a reply dropped behind mTLS is reported to the session as "reset" naming the request; psd052 is sent again', { timeout: 60_000 }, async () => {
  const { base: simBase } = await startSim([]);
  const proxy = await startProxy(simBase);
  const lost = [];
  const client = new selo.SafraClient({
    cliente: 'CLIENTE01',
    baseUrl: proxy.base,
    tls: { ...pki.client, ca: pki.ca },
    onEvent: (e) => e.type === 'transport-error' && lost.push(e),
  });
  try {
    await client.authenticate();
    await fault(simBase, { fault: 'drop', count: 1 });
    const r = await client.queryBoleto({ nossoNumero: '1', seuNumero: 'x' });
    assert.equal(r.ok, false); // unknown boleto: 550 from the bank, typed
    assert.equal(lost.length, 1);
    assert.ok(!(lost[0].error instanceof selo.SeloError));
    assert.match(lost[0].error.message, /^POST https:\/\/127\.0\.0\.1:\d+\/\S*psd052: /);
    assert.ok(lost[0].error.cause instanceof Error);
    assert.equal(lost[0].failure, 'reset');
    assert.equal(lost[0].action, 'retry');
  } finally {
    client.close();
  }
});

test('tls.passphrase: an encrypted client key works (TLS options pass through to the agent)', { timeout: 60_000 }, async () => {
  const { base: simBase } = await startSim([]);
  const proxy = await startProxy(simBase);
  const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: proxy.base, tls: { ...pki.locked, ca: pki.ca } });
  try {
    const auth = await client.authenticate();
    assert.equal(auth.type, 'authenticated');
    assert.ok(proxy.seen.requests.length >= 3);
    for (const r of proxy.seen.requests) assert.equal(r.cn, `${CLIENT_CN}-locked`);
  } finally {
    client.close();
  }
});

test('token renewal over mTLS: psd007 goes first once renewAt is reached (injected clock)', { timeout: 60_000 }, async () => {
  const { base: simBase } = await startSim([]);
  const proxy = await startProxy(simBase);
  const { events, onEvent } = recorder();
  let now = 1_800_000_000; // the client's clock, injected
  const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: proxy.base, tls: { ...pki.client, ca: pki.ca }, now: () => now, onEvent });
  try {
    const reg = await client.registerBoleto(boleto);
    assert.equal(reg.ok, true);
    const before = client.session.token;
    assert.ok(before.renewAt > now && before.renewAt < before.expiresAt, JSON.stringify(before));

    // Just before renewAt: no renewal.
    now = before.renewAt - 1;
    events.length = 0;
    assert.equal((await client.queryBoleto({ nossoNumero: reg.nossoNumero, seuNumero: boleto.documento.seuNumero })).ok, true);
    assert.deepEqual(events, ['psd052:200']);

    // At renewAt (still before expiresAt): renew, then the call.
    now = before.renewAt;
    events.length = 0;
    assert.equal((await client.queryBoleto({ nossoNumero: reg.nossoNumero, seuNumero: boleto.documento.seuNumero })).ok, true);
    assert.deepEqual(events, ['psd007:200', 'psd052:200']);
    const renewed = client.session.token;
    assert.notEqual(renewed.token, before.token);
    assert.ok(renewed.renewAt > before.renewAt, `renewAt ${before.renewAt} -> ${renewed.renewAt}`);
    const psd007 = proxy.seen.requests.filter((r) => r.path.endsWith('/psd007'));
    assert.equal(psd007.length, 1);
    assert.equal(psd007[0].cn, CLIENT_CN);
  } finally {
    client.close();
  }
});

test('keepAlive: true renews the token in the background when renewAt comes over mTLS (injected clock, mocked setTimeout)', { timeout: 60_000 }, async (t) => {
  const { base: simBase } = await startSim([]);
  const proxy = await startProxy(simBase);
  let renewed;
  const done = new Promise((resolve, reject) => {
    renewed = { resolve, reject };
  });
  const events = [];
  let now = 1_800_000_000; // the client's clock; the simulator's 600 s token outlives this test
  const client = new selo.SafraClient({
    cliente: 'CLIENTE01',
    baseUrl: proxy.base,
    tls: { ...pki.client, ca: pki.ca },
    keepAlive: true,
    now: () => now,
    onEvent: (e) => {
      if (e.type === 'response') events.push(`${e.url.split('/').pop()}:${e.status}`);
      if (e.type === 'response' && e.url.endsWith('/psd007')) renewed.resolve();
      if (e.type === 'renew-error') renewed.reject(e.error);
    },
  });
  // The driver's renewal timer runs on a mocked setTimeout (network I/O does not use it).
  try {
    t.mock.timers.enable({ apis: ['setTimeout'] });
  } catch {
    t.mock.timers.enable(['setTimeout']); // Node 18's form
  }
  try {
    const auth = await client.authenticate();
    assert.equal(auth.type, 'authenticated');
    const first = auth.token.token;
    const dueIn = auth.token.renewAt - now;
    assert.equal(dueIn, auth.token.lifetime - 60, JSON.stringify(auth.token));
    // Not before renewAt.
    t.mock.timers.tick(dueIn * 1000 - 1);
    assert.deepEqual(events, ['psd001:200', 'psd001:200', 'psd005:200']);
    // At renewAt: psd007 goes out on its own.
    now = auth.token.renewAt;
    t.mock.timers.tick(1);
    await done;
    assert.deepEqual(events, ['psd001:200', 'psd001:200', 'psd005:200', 'psd007:200']);
    assert.notEqual(client.session.token.token, first);
    assert.equal(client.session.token.renewAt, now + auth.token.lifetime - 60);
    const psd007 = proxy.seen.requests.filter((r) => r.path.endsWith('/psd007'));
    assert.equal(psd007.length, 1);
    assert.equal(psd007[0].cn, CLIENT_CN);
  } finally {
    client.close();
  }
});

test('JwksSource with tls (node:https, the same bounds): the set over mTLS; too large, trickling, redirect refused; an untrusted server certificate is "refused"', { timeout: 60_000 }, async () => {
  const ofbKey = selo.RsaPrivateKey.import(fs.readFileSync(path.join(require('./helpers.cjs').VECTORS, 'external', 'keys', 'rsa2048-ofb.pem')));
  const jwks = { keys: [{ ...ofbKey.publicKey().toJwk('cli'), use: 'sig' }] };
  const token = new selo.OfbSigner({ key: ofbKey, kid: 'cli', iss: 'org' }).sign({ data: {} }, { aud: 'a' }).token;
  const hits = {};
  let trickleClosed = false;
  const server = https.createServer({ ...pki.server, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    hits[req.url] = (hits[req.url] || 0) + 1;
    if (req.url === '/jwks') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify(jwks));
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 16 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => {});
      return pump();
    }
    if (req.url === '/slow') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const iv = setInterval(() => res.write(' '), 200);
      return res.on('close', () => {
        clearInterval(iv);
        trickleClosed = true;
      });
    }
    res.writeHead(302, { location: '/jwks' });
    res.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `https://127.0.0.1:${server.address().port}`;
  const tls = { ...pki.client, ca: pki.ca };
  const sources = [];
  const source = (p, opts = {}) => {
    const s = new selo.JwksSource({ url: `${base}${p}`, tls, timeoutMs: 1000, ...opts });
    sources.push(s);
    return s;
  };
  const refusal = async (s, kind) => {
    await assert.rejects(s.verifier(token), (e) => {
      assert.equal(e.code, 'ofb.jwks.unavailable', e.message);
      assert.equal(e.cause && e.cause.kind, kind, e.cause && e.cause.message);
      return true;
    });
  };
  try {
    const ok = source('/jwks');
    assert.equal((await ok.verifier(token)).hasKid('cli'), true);
    await refusal(source('/big'), 'too-large');
    const t0 = performance.now();
    await refusal(source('/slow'), 'timeout');
    assert.ok(performance.now() - t0 < 1000 + 4000, 'the trickle was cut at the deadline');
    await refusal(source('/redir'), 'status');
    assert.equal(hits['/jwks'], 1, 'the redirect was not followed');
    await refusal(source('/jwks', { tls: { ...pki.client } }), 'refused'); // no CA: the server certificate is untrusted
    assert.equal(hits['/jwks'], 1);
    await new Promise((resolve) => {
      const check = () => (trickleClosed ? resolve() : setTimeout(check, 10));
      check();
    });
  } finally {
    for (const s of sources) s.close();
    server.closeAllConnections();
    server.close();
  }
});

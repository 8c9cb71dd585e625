// Servers that hold (issues 12 and 20): replay stores fail closed and get
// the core's key and TTL (one verification per request), hostile tokens are
// refused with stable codes while the server keeps serving, body size
// limits in the server helpers, and the BMP confirmation endpoint never
// echoes a failure's text. (The remote JWK Set: ofb_jwks.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import http from 'node:http';
import net from 'node:net';

const require = createRequire(import.meta.url);
const { selo } = require('./helpers.cjs');
const fs = require('node:fs');
const path = require('node:path');
const pem = fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'tests', 'vectors', 'external', 'keys', 'rsa2048-ofb.pem'), 'utf8');

const key = selo.RsaPrivateKey.import(pem);
const goodJwk = { ...key.publicKey().toJwk('cli'), use: 'sig' };
const signer = new selo.OfbSigner({ key, kid: 'cli', iss: 'org-tpp' });
const AUD = 'https://bank/p';
const EXP = { aud: AUD, iss: 'org-tpp', clientId: 'tpp' };
const request = (now) => ({ method: 'POST', headers: { 'content-type': 'application/jwt' }, body: signer.sign({ data: {} }, { aud: AUD, now }).token });

// ---- replay stores fail closed ------------------------------------------------

async function decideWith(store) {
  const v = new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] }, cache: store });
  return v.verify(request(), EXP);
}

function assertStoreFailed(d, secret) {
  assert.equal(d.ok, false);
  assert.equal(d.error.code, 'ofb.replay.store_failed');
  assert.equal(d.response.status, 503);
  const text = Buffer.from(d.response.body).toString('utf8');
  assert.match(text, /ofb\.replay\.store_failed/);
  if (secret) {
    assert.ok(!text.includes(secret), `the response leaks the store error: ${text}`);
    assert.ok(!d.error.message.includes(secret), 'the error message leaks the store error');
  }
}

test('replay store answering null or undefined (Redis SET NX on a replay) is a 503, never "fresh"', async () => {
  assertStoreFailed(await decideWith({ checkAndInsert: () => null }));
  assertStoreFailed(await decideWith({ checkAndInsert: async () => undefined }));
  assertStoreFailed(await decideWith({ checkAndInsert: () => {} }));
});

test('replay store throwing or rejecting is a 503 whose body never carries the error text', async () => {
  const secret = 'redis://user:hunter2@10.1.2.3:6379';
  let reported = 0;
  const v = new selo.OfbRequestVerifier({
    jwks: { keys: [goodJwk] },
    cache: { checkAndInsert() { throw new Error(`connect ECONNREFUSED ${secret}`); } },
    onStoreError: () => reported++,
  });
  assertStoreFailed(await v.verify(request(), EXP), secret);
  assert.equal(reported, 1, 'onStoreError sees the original error');
  assertStoreFailed(await decideWith({ checkAndInsert: async () => { throw new Error(secret); } }), secret);
  assertStoreFailed(await decideWith({ record() { throw new Error(secret); } }), secret);
  assertStoreFailed(await decideWith({ record: () => null }));
});

test('replay store answering garbage (true, "OK", 1, an error string) is a 503', async () => {
  for (const answer of [true, false, 'OK', 1, 0, 'FRESH', { status: 'fresh' }, `ERR ${'10.9.9.9:6379'}`]) {
    assertStoreFailed(await decideWith({ checkAndInsert: async () => answer }), '10.9.9.9');
    assertStoreFailed(await decideWith({ record: async () => answer }), '10.9.9.9');
  }
});

/**
 * A stand-in for a node-redis v4 client: `set(key, value, { NX, EX })`
 * answers "OK" when it set the key and null when the key existed (exactly
 * what Redis's SET NX does); it records every call.
 */
function fakeNodeRedis() {
  const keys = new Map();
  const calls = [];
  return {
    keys,
    calls,
    async set(key, value, opts) {
      calls.push({ key, value, opts });
      if (opts && opts.NX && keys.has(key)) return null;
      keys.set(key, { value, ex: opts && opts.EX });
      return 'OK';
    },
  };
}

/** The README's replay store over node-redis. */
function redisStore(redis) {
  return {
    async record(key, ttlSeconds) {
      const r = await redis.set(key, '1', { NX: true, EX: ttlSeconds });
      return r === 'OK' ? 'fresh' : r === null ? 'replayed' : undefined;
    },
  };
}

test('the documented node-redis store: the core\'s length-prefixed key and remaining-window TTL; "replayed" is a 403', async () => {
  const redis = fakeNodeRedis();
  const NOW = 1_800_000_000;
  const v = new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] }, cache: redisStore(redis), now: () => NOW });
  const { token, jti } = signer.sign({ data: {} }, { aud: AUD, now: NOW - 30 });
  const req = { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: token };
  assert.equal((await v.verify(req, EXP)).ok, true);
  assert.equal(redis.calls.length, 1);
  const { key, opts } = redis.calls[0];
  assert.equal(key, `selo:ofb:jti:${EXP.clientId.length}:${EXP.clientId}:${jti}`);
  // The TTL is the token's remaining acceptance window (iat + max age +
  // future skew, 60 s each by default), not a fixed 86 400 s.
  assert.ok(Number.isInteger(opts.EX) && opts.EX >= 60 + 60 - 30 && opts.EX <= 60 + 60 - 30 + 5, `EX ${opts.EX}`);
  const again = await v.verify(req, EXP);
  assert.equal(again.ok, false);
  assert.equal(again.error.code, 'ofb.replay.jti');
  assert.equal(again.response.status, 403);
  // A prefix of one's own.
  const r2 = fakeNodeRedis();
  const v2 = new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] }, cache: redisStore(r2), replayKeyPrefix: 'app:jti' });
  const t2 = signer.sign({ data: {} }, { aud: AUD });
  assert.equal((await v2.verify({ ...req, body: t2.token }, EXP)).ok, true);
  assert.equal(r2.calls[0].key, `app:jti:3:tpp:${t2.jti}`);
  // The JtiCache-shaped store gets the same key and TTL; a store with
  // `record` is never asked `checkAndInsert`.
  const entries = [];
  const v3 = new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] }, now: () => NOW, cache: { checkAndInsert: (c, j, n, e) => (entries.push([c, j, n, e]), 'fresh') } });
  const t3 = signer.sign({ data: {} }, { aud: AUD, now: NOW });
  assert.equal((await v3.verify({ ...req, body: t3.token }, EXP)).ok, true);
  assert.equal(entries.length, 1);
  assert.deepEqual(entries[0].slice(0, 3), ['tpp', t3.jti, NOW]);
  assert.equal(entries[0][3].key, `selo:ofb:jti:3:tpp:${t3.jti}`);
  assert.equal(entries[0][3].ttlSeconds, opts.EX + 30, 'issued 30 s later: 30 s more to live');
  let asked = 0;
  const both = { record: () => 'fresh', checkAndInsert: () => (asked++, 'replayed') };
  assert.equal((await new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] }, cache: both }).verify(request(), EXP)).ok, true);
  assert.equal(asked, 0);
});

test('replay keys never collide across clients: ("tpp:x", J) and ("tpp", "x:J") are two keys', async () => {
  const jose = await import('jose');
  const redis = fakeNodeRedis();
  const profile = { jtiFormat: 'any' };
  const v = new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] }, cache: redisStore(redis), profile });
  const { token, jti } = signer.sign({ data: {} }, { aud: AUD });
  const req = (body) => ({ method: 'POST', headers: { 'content-type': 'application/jwt' }, body });
  assert.equal((await v.verify(req(token), { ...EXP, clientId: 'tpp:x' })).ok, true);
  // Client "tpp" with jti "x:J": under `jti:${clientId}:${jti}` both were "jti:tpp:x:J".
  const other = await new jose.SignJWT({ data: {} })
    .setProtectedHeader({ alg: 'PS256', kid: 'cli', typ: 'JWT' })
    .setAudience(AUD).setIssuer('org-tpp').setJti(`x:${jti}`).setIssuedAt()
    .sign(await jose.importPKCS8(pem, 'PS256'));
  const d = await v.verify(req(other), { ...EXP, clientId: 'tpp' });
  assert.equal(d.ok, true, d.error && d.error.message);
  assert.deepEqual(redis.calls.map((c) => c.key), [`selo:ofb:jti:5:tpp:x:${jti}`, `selo:ofb:jti:3:tpp:x:${jti}`]);
});

test('one verification per request: a store sees only requests that passed stages 1–6', async () => {
  let asked = 0;
  const v = new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] }, cache: { checkAndInsert: () => (asked++, 'fresh') } });
  const bad = { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: signer.sign({ data: {} }, { aud: 'https://elsewhere/x' }).token };
  const d = await v.verify(bad, EXP);
  assert.equal(d.error.code, 'ofb.claims.aud');
  assert.equal(asked, 0, 'a refused request never reaches the store');
  assert.equal((await v.verify(request(), EXP)).ok, true);
  assert.equal(asked, 1);
});

// ---- hostile tokens against a server helper with a remote JWKS ---------------------------

test('hostile tokens (700 000-deep header, ~1 MiB of nested objects, a header with 10 000 more members) are refused with stable codes; the server keeps serving', { timeout: 60_000 }, async () => {
  let jwksHits = 0;
  const jwksSrv = http.createServer((req, res) => {
    jwksHits++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [goodJwk] }));
  });
  await new Promise((r) => jwksSrv.listen(0, '127.0.0.1', r));
  const rs = new selo.OfbRequestVerifier({ jwksUrl: `http://127.0.0.1:${jwksSrv.address().port}/jwks` });
  let served = 0;
  const mw = rs.middleware(() => EXP);
  const srv = await serve((req, res) => mw(req, res, () => {
    served++;
    res.statusCode = 201;
    res.end();
  }));
  const b64 = (x) => Buffer.from(x).toString('base64url');
  const deep = `${b64('['.repeat(700_000))}.e30.AA`;
  const depth = 120_000; // {"a":{"a":…1…}}: 6 bytes a level, ~1 MiB once base64url
  const nested = `${b64(JSON.stringify({ alg: 'PS256', kid: 'cli', typ: 'JWT' }))}.${b64(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)}.AA`;
  const members = { alg: 'PS256', kid: 'cli', typ: 'JWT' };
  for (let i = 0; i < 10_000; i++) members[`m${i}`] = i;
  const wide = `${b64(JSON.stringify(members))}.e30.AA`;
  assert.ok(nested.length > 900_000 && nested.length < 1024 * 1024, `${nested.length}`);
  const send = (body) => fetch(`http://127.0.0.1:${srv.port}/`, { method: 'POST', headers: { 'content-type': 'application/jwt' }, body });
  try {
    assert.equal((await send(request().body)).status, 201);
    for (const [name, token] of [['deep header', deep], ['nested payload', nested], ['10 000 header members', wide]]) {
      const r = await send(token);
      assert.equal(r.status, 400, name);
      const body = await r.json();
      assert.equal(body.errors[0].code, 'BAD_SIGNATURE', name);
      const d = await rs.verify({ method: 'POST', contentType: 'application/jwt', body: token }, EXP);
      assert.equal(d.error.code, 'ofb.verify.malformed', `${name}: ${d.error.message}`);
      assert.ok(selo.allCodes().includes(d.error.code));
      // The next valid request is served.
      assert.equal((await send(request().body)).status, 201, `after the ${name}`);
    }
    assert.equal(served, 4);
    assert.equal(jwksHits, 1, 'no hostile token made the server fetch the JWKS again');
  } finally {
    await srv.close();
    jwksSrv.closeAllConnections?.();
    jwksSrv.close();
  }
});

// ---- body size limits -------------------------------------------------------------

async function serve(handler) {
  const server = http.createServer(handler);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

/** Sends headers + `sent` bytes of a declared body and returns the status line's code. */
function rawPost(port, { declared, send, chunked = false }) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      const head = chunked
        ? 'POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/jwt\r\ntransfer-encoding: chunked\r\n\r\n'
        : `POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/jwt\r\ncontent-length: ${declared}\r\n\r\n`;
      s.write(head);
      if (send) s.write(chunked ? `${send.toString(16)}\r\n${'a'.repeat(send)}\r\n` : 'a'.repeat(send));
    });
    let buf = '';
    s.on('data', (d) => {
      buf += d;
      const m = /^HTTP\/1\.1 (\d+)/.exec(buf);
      if (m && buf.includes('\r\n\r\n')) {
        s.destroy();
        resolve({ status: Number(m[1]), text: buf });
      }
    });
    s.on('error', reject);
  });
}

test('body limit: OFB middleware answers 413 for a declared or streamed body over the limit, without reading it all', async () => {
  let nextCalled = 0;
  const v = new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] }, maxBodyBytes: 1000 });
  const mw = v.middleware(() => EXP);
  const srv = await serve((req, res) => mw(req, res, () => { nextCalled++; res.end('ok'); }));
  try {
    // Declared 10 MiB, only headers sent: refused at once (the body is never awaited).
    const a = await rawPost(srv.port, { declared: 10 * 1024 * 1024, send: 0 });
    assert.equal(a.status, 413);
    assert.match(a.text, /PAYLOAD_TOO_LARGE/);
    // Chunked, no length: refused once 1,001 bytes arrived, the stream still open.
    const b = await rawPost(srv.port, { chunked: true, send: 1001 });
    assert.equal(b.status, 413);
    assert.equal(nextCalled, 0);
  } finally {
    await srv.close();
  }
  // The default is 1 MiB.
  const d = new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] } });
  assert.equal(d._maxBody, 1024 * 1024);
});

test('body limit: BMP confirmation handler answers 413 over the limit; a body under it is decided', async () => {
  const key = selo.bmpGenerateKey ? selo.bmpGenerateKey() : 'k'.repeat(64);
  const client = new selo.BmpClient({ baseUrl: 'http://bmp.invalid', key, fetch: async () => { throw new Error('unused'); } });
  const srv = await serve(client.nodeConfirmationHandler({ maxBodyBytes: 100 }));
  try {
    const a = await rawPost(srv.port, { declared: 5000, send: 0 });
    assert.equal(a.status, 413);
    const b = await rawPost(srv.port, { chunked: true, send: 101 });
    assert.equal(b.status, 413);
    const c = await rawPost(srv.port, { declared: 10, send: 10 });
    assert.notEqual(c.status, 413);
  } finally {
    await srv.close();
  }
});

test('BMP confirmation handlers answer a store or handler failure with the core\'s fixed 500, never the error\'s text', async () => {
  const secret = 'postgres://app:hunter2@10.0.0.7:5432/bmp';
  const key = selo.bmpGenerateKey();
  const fixed = selo.bmpConfirmInternalResponse();
  assert.equal(fixed.status, 500);
  assert.equal(JSON.parse(Buffer.from(fixed.body).toString()).code, 'bmp.confirm.internal');
  const signed = new selo.BmpSigner({ key }).sign({ valor: '100.00' });
  const headers = { 'content-type': 'application/json', idempotencykey: signed.idempotencyKey };
  for (const get of [() => { throw new Error(secret); }, async () => { throw new Error(secret); }]) {
    const errors = [];
    const client = new selo.BmpClient({ key, store: { set() {}, get } });
    // node:http handler over a real connection
    const srv = await serve(client.nodeConfirmationHandler({ onError: (e) => errors.push(e) }));
    try {
      const r = await fetch(`http://127.0.0.1:${srv.port}/`, { method: 'POST', headers, body: signed.body });
      const text = await r.text();
      assert.equal(r.status, 500);
      assert.equal(text, Buffer.from(fixed.body).toString());
      assert.ok(!text.includes('hunter2'), text);
    } finally {
      await srv.close();
    }
    // Express-style handler
    const res = { statusCode: 0, headers: {}, sent: null };
    res.status = (c) => ((res.statusCode = c), res);
    res.set = (n, v) => ((res.headers[n.toLowerCase()] = v), res);
    res.send = (b) => ((res.sent = Buffer.from(b).toString()), res);
    await client.expressConfirmationHandler({ onError: (e) => errors.push(e) })({ headers, body: Buffer.from(signed.body) }, res);
    assert.equal(res.statusCode, 500);
    assert.equal(res.sent, Buffer.from(fixed.body).toString());
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(errors.length, 2, 'onError saw both failures');
    assert.ok(errors.every((e) => e.message.includes(secret)), 'onError sees the original error');
  }
  // A body already parsed by a JSON middleware: the fixed 500 too, not the TypeError's text.
  const client = new selo.BmpClient({ key });
  const res = { statusCode: 0, headers: {}, sent: null };
  res.status = (c) => ((res.statusCode = c), res);
  res.set = (n, v) => ((res.headers[n.toLowerCase()] = v), res);
  res.send = (b) => ((res.sent = Buffer.from(b).toString()), res);
  await client.expressConfirmationHandler()({ headers, body: { parsed: true } }, res);
  assert.equal(res.statusCode, 500);
  assert.equal(res.sent, Buffer.from(fixed.body).toString());
});

test('413 bodies are the core\'s bodyTooLargeResponse(limit), with the connection closed', async () => {
  const v = new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] }, maxBodyBytes: 1000 });
  const mw = v.middleware(() => EXP);
  const srv = await serve((req, res) => mw(req, res, () => res.end('ok')));
  try {
    // Headers of a 5000-byte body, nothing more: read until the server closes.
    const text = await new Promise((resolve, reject) => {
      const sock = net.connect(srv.port, '127.0.0.1', () => sock.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/jwt\r\ncontent-length: 5000\r\n\r\n'));
      let buf = '';
      sock.on('data', (d) => { buf += d; });
      sock.on('close', () => resolve(buf));
      sock.on('error', reject);
    });
    const a = { status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)[1]), text };
    assert.equal(a.status, 413);
    const body = a.text.slice(a.text.indexOf('\r\n\r\n') + 4);
    assert.equal(body, Buffer.from(selo.bodyTooLargeResponse(1000).body).toString());
    assert.match(a.text, /\r\nconnection: close\r\n/i);
  } finally {
    await srv.close();
  }
});

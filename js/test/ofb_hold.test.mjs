// Servers that hold (issue 12): replay stores fail closed, the remote JWK
// Set (timeout, max age, cooldown on unknown kids, single-flight, a bad key
// skipped) against a real local HTTP server counting fetches, and body size
// limits in the server helpers. Clocks are injected: no sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';

const require = createRequire(import.meta.url);
const { selo } = require('./helpers.cjs');
const fs = require('node:fs');
const path = require('node:path');
const pem = fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'tests', 'vectors', 'external', 'keys', 'rsa2048-ofb.pem'), 'utf8');

const SEED = process.env.SELO_JWKS_SEED ? Number(process.env.SELO_JWKS_SEED) : crypto.randomInt(2 ** 31);
console.log(`ofb_hold: random seed ${SEED} (SELO_JWKS_SEED=${SEED} replays it)`);
function mulberry32(a) {
  return () => {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const key = selo.RsaPrivateKey.import(pem);
const goodJwk = { ...key.publicKey().toJwk('cli'), use: 'sig' };
const signer = new selo.OfbSigner({ key, kid: 'cli', iss: 'org-tpp' });
const AUD = 'https://bank/p';
const EXP = { aud: AUD, iss: 'org-tpp', clientId: 'tpp' };
const request = (now) => ({ method: 'POST', headers: { 'content-type': 'application/jwt' }, body: signer.sign({ data: {} }, { aud: AUD, now }).token });
const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const tokenWithKid = (kid) => `${b64u({ alg: 'PS256', kid, typ: 'JWT' })}.${b64u({ data: {} })}.AAAA`;

/** A local JWKS server on port 0 counting fetches; `mode` 'hang' never answers. */
async function jwksServer(doc, { mode = 'answer' } = {}) {
  const state = { fetches: 0, doc };
  const held = [];
  const server = http.createServer((req, res) => {
    state.fetches++;
    if (mode === 'hang') return held.push(res);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(state.doc));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  assert.ok(port > 0);
  state.url = `http://127.0.0.1:${port}/jwks`;
  state.close = () => new Promise((r) => {
    for (const res of held) res.destroy();
    server.closeAllConnections?.();
    server.close(r);
  });
  return state;
}

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
});

test('replay store answering garbage (true, "OK", 1, an error string) is a 503', async () => {
  for (const answer of [true, false, 'OK', 1, 0, 'FRESH', { status: 'fresh' }, `ERR ${'10.9.9.9:6379'}`]) {
    const d = await decideWith({ checkAndInsert: async () => answer });
    assertStoreFailed(d, '10.9.9.9');
  }
});

test('a store answering "replayed" is a 403 replay; "fresh" passes; the documented SET NX mapping holds', async () => {
  // The README's Redis mapping over a fake SET NX: "OK" when set, null when the key exists.
  const keys = new Set();
  const setNx = async (k) => (keys.has(k) ? null : (keys.add(k), 'OK'));
  const store = {
    async checkAndInsert(clientId, jti) {
      const r = await setNx(`jti:${clientId}:${jti}`);
      return r === 'OK' ? 'fresh' : r === null ? 'replayed' : undefined;
    },
  };
  const v = new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] }, cache: store });
  const req = request();
  assert.equal((await v.verify(req, EXP)).ok, true);
  const again = await v.verify(req, EXP);
  assert.equal(again.ok, false);
  assert.equal(again.error.code, 'ofb.replay.jti');
  assert.equal(again.response.status, 403);
});

// ---- remote JWKS ----------------------------------------------------------------

test('JWKS: 1,000 tokens with random unknown kids cause at most one fetch per cooldown', async () => {
  const srv = await jwksServer({ keys: [goodJwk] });
  try {
    const rand = mulberry32(SEED);
    let clock = 1_000_000;
    const cooldownMs = 30_000;
    const v = new selo.OfbRequestVerifier({ jwksUrl: srv.url, jwksNow: () => clock, jwksCooldownMs: cooldownMs, jwksMaxAgeMs: 3_600_000 });
    // Same instant: 1,000 unknown kids, one fetch (the first load) in all.
    for (let i = 0; i < 1000; i++) {
      const kid = `k${Math.floor(rand() * 1e12)}`;
      const d = await v.verify({ method: 'POST', headers: { 'content-type': 'application/jwt' }, body: tokenWithKid(kid) }, EXP);
      assert.equal(d.ok, false);
      assert.equal(d.error.code, 'ofb.verify.kid_not_found');
    }
    assert.equal(srv.fetches, 1, 'one fetch for 1,000 unknown kids at one instant');
    // Over simulated time: random steps of 0–200 ms, 1,000 tokens.
    const start = clock;
    for (let i = 0; i < 1000; i++) {
      clock += Math.floor(rand() * 200);
      await v.verify({ method: 'POST', headers: { 'content-type': 'application/jwt' }, body: tokenWithKid(`r${rand()}`) }, EXP);
    }
    const windows = Math.floor((clock - start) / cooldownMs) + 1;
    assert.ok(srv.fetches - 1 <= windows, `${srv.fetches - 1} fetches over ${clock - start} ms (cooldown ${cooldownMs})`);
    assert.ok(srv.fetches >= 2, 'unknown kids do refetch once the cooldown has passed');
    // A good token still verifies.
    assert.equal((await v.verify(request(), EXP)).ok, true);
  } finally {
    await srv.close();
  }
});

test('JWKS: the set is refetched after maxAge, and a new kid is found after the cooldown', async () => {
  const other = selo.RsaPrivateKey.import(pem).publicKey().toJwk('rotated');
  const srv = await jwksServer({ keys: [goodJwk] });
  try {
    let clock = 0;
    const src = new selo.JwksSource({ url: srv.url, now: () => clock, cooldownMs: 30_000, maxAgeMs: 600_000 });
    await src.verifier('cli');
    assert.equal(srv.fetches, 1);
    srv.doc = { keys: [goodJwk, { ...other, use: 'sig' }] };
    clock = 29_999;
    assert.equal((await src.verifier('rotated')).hasKid('rotated'), false, 'within the cooldown: no refetch');
    assert.equal(srv.fetches, 1);
    clock = 30_000;
    assert.equal((await src.verifier('rotated')).hasKid('rotated'), true, 'after the cooldown: refetched');
    assert.equal(srv.fetches, 2);
    clock = 30_000 + 599_999;
    await src.verifier('cli');
    assert.equal(srv.fetches, 2, 'known kid within maxAge: cached');
    clock = 30_000 + 600_000;
    await src.verifier('cli');
    assert.equal(srv.fetches, 3, 'maxAge passed: refetched');
  } finally {
    await srv.close();
  }
});

test('JWKS: concurrent misses share one fetch (single-flight)', async () => {
  const srv = await jwksServer({ keys: [goodJwk] });
  try {
    const src = new selo.JwksSource({ url: srv.url, now: () => 0 });
    const vs = await Promise.all(Array.from({ length: 50 }, (_, i) => src.verifier(`unknown-${i}`)));
    assert.equal(srv.fetches, 1);
    assert.ok(vs.every((v) => v === vs[0]));
  } finally {
    await srv.close();
  }
});

test('JWKS: a server that never answers times out with JwksFetchError kind "timeout"', async () => {
  const srv = await jwksServer({ keys: [] }, { mode: 'hang' });
  try {
    const src = new selo.JwksSource({ url: srv.url, timeoutMs: 150 });
    await assert.rejects(src.verifier('x'), (e) => {
      assert.ok(e instanceof selo.JwksFetchError, `got ${e && e.name}: ${e && e.message}`);
      assert.ok(e instanceof selo.SeloError);
      assert.equal(e.code, 'ofb.jwks.fetch');
      assert.equal(e.kind, 'timeout');
      return true;
    });
    assert.equal(srv.fetches, 1);
  } finally {
    await srv.close();
  }
});

test('JWKS: a set with one malformed key skips it (reported) and verifies with the good one', async () => {
  const bad = { kty: 'RSA', kid: 'broken', n: '!!!not-base64!!!', e: 'AQAB' };
  const srv = await jwksServer({ keys: [bad, goodJwk, { kid: 'no-kty' }] });
  try {
    const seen = [];
    const v = new selo.OfbRequestVerifier({ jwksUrl: srv.url });
    v._jwks._onSkipped = (s) => seen.push(s);
    const d = await v.verify(request(), EXP);
    assert.equal(d.ok, true, d.error && d.error.message);
    assert.deepEqual(v._jwks.skipped.map((s) => [s.index, s.kid]), [[0, 'broken'], [2, 'no-kty']]);
    assert.equal(seen.length, 2);
    // The whole set parsed as one would have failed: the skip is what saved it.
    assert.throws(() => selo.parseJwks({ keys: [bad, goodJwk] }));
  } finally {
    await srv.close();
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

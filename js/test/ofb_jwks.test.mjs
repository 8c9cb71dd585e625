// Remote JWK Sets (issue 20): the core's policy (`JwksCache`) through the
// binding with the shared table, and `JwksSource` — the JS that only does
// the GET — against real local HTTP servers (node:http on 127.0.0.1): a
// 64 MiB set (refused, memory bounded), a trickle (one deadline for the
// whole fetch), a redirect to another port (not followed), a server down
// after max_age (stale-if-error, attempts on the backoff, then 503), 100
// concurrent requests with new kids on a cold cache (one fetch: every fetch
// starts the unknown-kid cooldown, the first one included), a known kid
// never waiting for a refresh. Clocks are injected where the policy has
// time in it; real time only bounds the fetch deadline, generously.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import crypto from 'node:crypto';

const require = createRequire(import.meta.url);
const { selo, vector } = require('./helpers.cjs');
const fs = require('node:fs');
const path = require('node:path');
const { VECTORS } = require('./helpers.cjs');
const keyPem = (name) => fs.readFileSync(path.join(VECTORS, 'external', 'keys', name), 'utf8');
const pem = keyPem('rsa2048-ofb.pem');

const key = selo.RsaPrivateKey.import(pem);
const goodJwk = { ...key.publicKey().toJwk('cli'), use: 'sig' };
const signer = new selo.OfbSigner({ key, kid: 'cli', iss: 'org-tpp' });
const AUD = 'https://bank/p';
const EXP = { aud: AUD, iss: 'org-tpp', clientId: 'tpp' };
const b64u = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
const tokenWithKid = (kid) => `${b64u({ alg: 'PS256', kid, typ: 'JWT' })}.${b64u({ data: {} })}.AAAA`;
const post = (body) => ({ method: 'POST', headers: { 'content-type': 'application/jwt' }, body });
const validRequest = () => post(signer.sign({ data: {} }, { aud: AUD }).token);

/**
 * A JWKS server on 127.0.0.1:0. `handler(req, res, state)` answers (default:
 * the set in `state.doc`); `state.hits` counts requests, `state.connections`
 * connections.
 */
async function jwksServer(handler) {
  const state = { hits: 0, connections: 0, doc: { keys: [goodJwk] } };
  const server = http.createServer((req, res) => {
    state.hits++;
    if (handler) return handler(req, res, state);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(state.doc));
  });
  server.on('connection', () => state.connections++);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  state.port = server.address().port;
  state.url = `http://127.0.0.1:${state.port}/jwks`;
  state.server = server;
  state.close = () => new Promise((r) => {
    server.closeAllConnections?.();
    server.close(r);
  });
  return state;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, what, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function assertUnavailable(d, kind) {
  assert.equal(d.ok, false);
  assert.equal(d.error.code, 'ofb.jwks.unavailable', d.error.message);
  assert.equal(d.error.httpStatus, 503);
  assert.equal(d.response.status, 503);
  const body = JSON.parse(Buffer.from(d.response.body).toString());
  assert.equal(body.errors[0].code, 'JWKS_UNAVAILABLE');
  // The log's error says why; the peer's body does not carry the URL.
  assert.ok(!Buffer.from(d.response.body).toString().includes('127.0.0.1'), 'the response leaks the JWKS URL');
  if (kind) {
    assert.ok(d.error.cause instanceof selo.JwksFetchError, `cause: ${d.error.cause}`);
    assert.equal(d.error.cause.code, 'ofb.jwks.fetch');
    assert.equal(d.error.cause.kind, kind, d.error.cause.message);
  }
}

// ---- the shared policy table through the binding ---------------------------------------

test('the shared table tests/vectors/ofb/jwks-policy.json, every scenario through JwksCache', () => {
  const table = vector('ofb/jwks-policy.json');
  const enc = new TextEncoder();
  const token = (kid) => (kid === null ? 'not-a-jws' : `${b64u({ alg: 'PS256', kid })}.e30.AA`);
  const body = (f) => (typeof f.body === 'string' ? enc.encode(f.body) : enc.encode(JSON.stringify({ keys: f.kids.map((kid) => ({ ...table.key, kid })) })));
  let steps = 0;
  for (const sc of table.scenarios) {
    const cache = new selo.JwksCache({ url: table.url, policy: sc.policy });
    let ticket = null;
    sc.steps.forEach((st, i) => {
      const at = `${sc.name}, step ${i}`;
      const expect = st.expect || {};
      steps++;
      if ('decide' in st) {
        let d;
        try {
          d = cache.decide(st.t, token(st.decide));
        } catch (e) {
          assert.equal(expect.kind, 'refuse', `${at}: ${e.message}`);
          assert.ok(e instanceof selo.SeloError, at);
          assert.equal(e.code, expect.code, at);
          assert.equal(e.httpStatus, 503, at);
          return;
        }
        assert.equal(d.kind, expect.kind, `${at}: ${JSON.stringify(d)}`);
        if (d.kind === 'use') {
          assert.equal(d.refresh !== undefined, expect.refresh, at);
          if (d.refresh) ticket = d.refresh.id;
        } else if (d.kind === 'fetch') {
          assert.equal(d.ticket.url, table.url, at);
          assert.ok(d.ticket.timeoutMs > 0 && d.ticket.maxBytes > 0, at);
          ticket = d.ticket.id;
        } else {
          assert.ok(d.untilMs > 0, at);
        }
      } else if (st.fetched) {
        assert.ok(ticket !== null, at);
        let skipped;
        try {
          skipped = cache.fetched(ticket, st.t, st.fetched.status, body(st.fetched));
        } catch (e) {
          assert.ok(expect.code, `${at}: unexpected ${e.code}: ${e.message}`);
          assert.equal(e.code, expect.code, at);
          if (expect.message_contains) assert.ok(e.message.includes(expect.message_contains), `${at}: ${e.message}`);
          return;
        }
        assert.equal(expect.code, undefined, `${at}: expected ${expect.code}`);
        assert.equal(skipped.length, expect.skipped || 0, at);
      } else if (st.failed) {
        const e = cache.failed(ticket, st.t, st.failed, "the host's words");
        assert.ok(e instanceof selo.SeloError, at);
        assert.equal(e.code, expect.code, at);
      } else if (st.stats) {
        const s = cache.stats();
        assert.deepEqual({ fetches: s.fetches, failures: s.failures, refused: s.refused }, st.stats, at);
      } else {
        assert.fail(`${at}: unknown step ${JSON.stringify(st)}`);
      }
    });
    cache.free();
  }
  assert.ok(steps >= 60, `${steps} steps`);
});

test('JwksCache / JwksSource refuse a non-https URL to another host and a bad policy (ofb.jwks.url)', () => {
  for (const url of ['http://keys.example.org/jwks', 'http://127.0.0.1@evil.example/jwks', 'ftp://keys.example.org/x', 'file:///etc/passwd']) {
    assert.throws(() => new selo.JwksSource({ url }), (e) => e instanceof selo.SeloError && e.code === 'ofb.jwks.url', url);
  }
  assert.throws(() => new selo.JwksSource({ url: 'https://k.example/j', policy: { max_agee: 1 } }), (e) => e.code === 'ofb.jwks.url');
  assert.throws(() => new selo.JwksSource({ url: 'https://k.example/j', timeoutMs: 0 }), (e) => e.code === 'ofb.jwks.url');
  // Allowed: https anywhere, http to loopback, http anywhere with allowHttp.
  const s = new selo.JwksSource({ url: 'http://keys.example.org/jwks', allowHttp: true, maxAgeMs: 1234 });
  assert.equal(s.policy.allow_http, true);
  assert.equal(s.policy.max_age_ms, 1234);
  assert.equal(s.policy.cooldown_ms, 30_000, 'the other members are the core defaults');
  assert.equal(new selo.JwksSource({ url: 'http://localhost:1/jwks' }).url, 'http://localhost:1/jwks');
});

// ---- real local servers --------------------------------------------------------------------

// The process's own garbage collector, to measure memory growth.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
function memory() {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, js: m.heapUsed + m.arrayBuffers };
}

test('a 64 MiB JWK Set is refused (too-large) after at most maxBytes read; memory growth stays bounded', { timeout: 60_000 }, async () => {
  const TOTAL = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let served = 0;
  let finished = false;
  let closed = false;
  const srv = await jwksServer((req, res, state) => {
    if (req.url === '/warm') return res.end(JSON.stringify(state.doc));
    // Chunked: no content-length to refuse early; the reader must stop.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"keys":[');
    const pump = () => {
      while (served < TOTAL) {
        served += chunk.length;
        if (!res.write(chunk)) return res.once('drain', pump);
      }
      res.end(']}', () => {
        finished = true;
      });
    };
    res.on('close', () => {
      closed = true;
    });
    pump();
  });
  try {
    const src = new selo.JwksSource({ url: srv.url });
    const rs = new selo.OfbRequestVerifier({ jwks: src });
    // Warm up what the first fetch and verification load (undici, wasm
    // paths), so the growth measured is the fetch's alone.
    await (await fetch(`http://127.0.0.1:${srv.port}/warm`)).arrayBuffer();
    assert.equal((await new selo.OfbRequestVerifier({ jwks: { keys: [goodJwk] } }).verify(validRequest(), EXP)).ok, true);
    const before = memory();
    // The peak while the fetch runs (sampled on the event loop it shares).
    const peak = { rss: before.rss, js: before.js };
    const sample = () => {
      const m = process.memoryUsage();
      peak.rss = Math.max(peak.rss, m.rss);
      peak.js = Math.max(peak.js, m.heapUsed + m.arrayBuffers);
    };
    const sampler = setInterval(sample, 1);
    const d = await rs.verify(validRequest(), EXP);
    clearInterval(sampler);
    sample();
    assertUnavailable(d, 'too-large');
    assert.match(d.error.cause.message, /524288 bytes; reading stopped/);
    await until(() => closed, 'the server to see the connection closed');
    assert.equal(finished, false, 'the whole 64 MiB was sent: the client kept reading');
    assert.ok(served < TOTAL / 2, `the server pushed ${served} bytes before the client hung up`);
    const grew = { rss: peak.rss - before.rss, js: peak.js - before.js };
    console.log(`64 MiB JWKS: ${served} bytes pushed by the server, peak memory growth rss ${grew.rss} B, heap+buffers ${grew.js} B`);
    // Reading the set whole would take 64 MiB; the limit is 512 KiB.
    assert.ok(grew.js < 16 * 1024 * 1024, `heap + array buffers grew by ${grew.js} bytes`);
    assert.ok(grew.rss < 40 * 1024 * 1024, `rss grew by ${grew.rss} bytes`);
    assert.deepEqual(src.stats(), { fetches: 1, failures: 1, refused: 1, consecutiveFailures: 1 });
    assert.equal(src.lastError.kind, 'too-large');
  } finally {
    await srv.close();
  }
});

test('a declared content-length over maxBytes is refused before reading', { timeout: 30_000 }, async () => {
  const srv = await jwksServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(64 * 1024 * 1024) });
    res.write('{"keys":[');
  });
  try {
    const src = new selo.JwksSource({ url: srv.url });
    const d = await new selo.OfbRequestVerifier({ jwks: src }).verify(validRequest(), EXP);
    assertUnavailable(d, 'too-large');
    assert.equal(srv.hits, 1);
  } finally {
    await srv.close();
  }
});

test('a JWKS that trickles a byte every 200 ms is refused at the one deadline for the whole fetch (timeout)', { timeout: 30_000 }, async () => {
  const TIMEOUT = 1000;
  let closed = false;
  let bytes = 0;
  const srv = await jwksServer((req, res) => {
    // Headers at once, then the body a byte at a time: every read succeeds
    // within any per-read timeout, only a whole-fetch deadline stops it.
    res.writeHead(200, { 'content-type': 'application/json' });
    const iv = setInterval(() => {
      bytes++;
      res.write(bytes === 1 ? '{' : ' ');
    }, 200);
    res.on('close', () => {
      clearInterval(iv);
      closed = true;
    });
  });
  try {
    const src = new selo.JwksSource({ url: srv.url, timeoutMs: TIMEOUT });
    const t0 = performance.now();
    const d = await new selo.OfbRequestVerifier({ jwks: src }).verify(validRequest(), EXP);
    const elapsed = performance.now() - t0;
    assertUnavailable(d, 'timeout');
    assert.ok(elapsed >= TIMEOUT - 50, `refused after ${elapsed} ms, before the deadline`);
    assert.ok(elapsed < TIMEOUT + 4000, `refused after ${elapsed} ms (deadline ${TIMEOUT} ms)`);
    assert.ok(bytes >= 2, `the server trickled ${bytes} bytes: the body had started`);
    await until(() => closed, 'the trickling connection to close');
  } finally {
    await srv.close();
  }
});

test('a JWKS that redirects to another port is not followed (the other server is never asked)', { timeout: 30_000 }, async () => {
  const target = await jwksServer();
  const redirector = await jwksServer((req, res) => {
    res.writeHead(req.url.endsWith('307') ? 307 : 302, { location: target.url });
    res.end();
  });
  try {
    for (const suffix of ['', '?307']) {
      const src = new selo.JwksSource({ url: `${redirector.url}${suffix}` });
      const d = await new selo.OfbRequestVerifier({ jwks: src }).verify(validRequest(), EXP);
      assertUnavailable(d, 'status');
      assert.match(d.error.cause.message, /redirects are not followed/);
    }
    assert.equal(redirector.hits, 2);
    assert.equal(target.hits, 0, 'the redirect was followed');
  } finally {
    await redirector.close();
    await target.close();
  }
});

test('a JWKS down after max_age: the stale set verifies until the grace ends, attempts follow the backoff, then 503; back up, it serves again', { timeout: 60_000 }, async () => {
  const POLICY = { maxAgeMs: 1000, staleGraceMs: 5000, backoffInitialMs: 200, backoffMaxMs: 1000, cooldownMs: 30_000 };
  let down = false;
  const attempts = [];
  let clock = 0;
  const srv = await jwksServer((req, res, state) => {
    if (down) {
      attempts.push(clock);
      req.socket.destroy(); // a server that is gone: the connection breaks
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(state.doc));
  });
  try {
    const failures = [];
    const src = new selo.JwksSource({ url: srv.url, now: () => clock, ...POLICY, onFetchError: (e) => failures.push(e) });
    const rs = new selo.OfbRequestVerifier({ jwks: src, now: () => 1_800_000_000 });
    const sign = () => post(signer.sign({ data: {} }, { aud: AUD, now: 1_800_000_000 }).token);
    assert.equal((await rs.verify(sign(), EXP)).ok, true);
    assert.equal(srv.hits, 1);
    down = true;
    // Every 50 ms of the clock from max_age to the end of the grace: each
    // request verifies with the stale set at once; a refresh runs beside it.
    for (clock = 1000; clock < 6000; clock += 50) {
      const d = await rs.verify(sign(), EXP);
      assert.equal(d.ok, true, `t=${clock}: ${d.error && d.error.message}`);
      await src.refresh().catch(() => {}); // the background refresh, if one started, has ended
    }
    // The attempts: the first at max_age, then after 200, 400, 800, 1000, 1000… ms.
    const expected = [1000];
    for (let wait = POLICY.backoffInitialMs; ;) {
      const next = Math.ceil((expected.at(-1) + wait) / 50) * 50;
      if (next >= 6000) break;
      expected.push(next);
      wait = Math.min(wait * 2, POLICY.backoffMaxMs);
    }
    assert.deepEqual(attempts, expected, 'fetch attempts while the server is down');
    assert.equal(failures.length, attempts.length);
    assert.ok(failures.every((e) => e.kind === 'network'), failures.map((e) => e.kind).join());
    // The grace is over: refused (the request that meets a due retry waits
    // for that one fetch; the others are refused without fetching).
    clock = 6000;
    const late = await rs.verify(sign(), EXP);
    assertUnavailable(late);
    const n = attempts.length;
    clock = 6010;
    assertUnavailable(await rs.verify(sign(), EXP));
    assert.equal(attempts.length, n, 'a refusal within the backoff does not fetch');
    // Back up: the next allowed fetch restores service.
    down = false;
    clock = 8000;
    assert.equal((await rs.verify(sign(), EXP)).ok, true);
    assert.equal(src.lastError, null);
    assert.equal(src.stats().consecutiveFailures, 0);
  } finally {
    await srv.close();
  }
});

test('100 concurrent requests, each with a new kid, on a cold cache: exactly one fetch (every fetch starts the cooldown); none within the cooldown; one after it (server hits counted)', { timeout: 60_000 }, async () => {
  // The one fetch is held until the requests have decided (they wait for it).
  const held = [];
  let hold = true;
  const srv = await jwksServer((req, res, state) => {
    const answer = () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(state.doc));
    };
    if (hold) held.push(answer);
    else answer();
  });
  try {
    const jwkFor = (kid) => ({ ...key.publicKey().toJwk(kid), use: 'sig' });
    const signedWithKid = (kid) => post(new selo.OfbSigner({ key, kid, iss: 'org-tpp' }).sign({ data: {} }, { aud: AUD }).token);
    const kids = Array.from({ length: 100 }, (_, i) => `k${i}-${crypto.randomUUID()}`);
    const published = new Set(kids.filter((_, i) => i % 2 === 0)); // the set has half of the new kids
    srv.doc = { keys: [...published].map(jwkFor) };
    let clock = 10_000; // the policy's clock, frozen while the requests run
    // A deadline far past the hold: a loaded machine cannot time the fetch out.
    const src = new selo.JwksSource({ url: srv.url, now: () => clock, cooldownMs: 30_000, maxAgeMs: 3_600_000, timeoutMs: 30_000 });
    const rs = new selo.OfbRequestVerifier({ jwks: src });
    const requests = kids.map(signedWithKid);
    const all = Promise.all(requests.map((r) => rs.verify(r, EXP)));
    await until(() => held.length === 1, 'the one fetch');
    await sleep(300); // the others meet the flight (after it they would not fetch either)
    hold = false;
    held.shift()();
    const ds = await all;
    kids.forEach((kid, i) => {
      if (published.has(kid)) {
        assert.equal(ds[i].ok, true, `${kid}: ${ds[i].error && ds[i].error.message}`);
      } else {
        assert.equal(ds[i].ok, false, kid);
        assert.equal(ds[i].error.code, 'ofb.verify.kid_not_found', ds[i].error.message);
        assert.equal(ds[i].response.status, 400);
      }
    });
    assert.equal(srv.hits, 1, 'a cold start with 100 new kids: one fetch');
    assert.deepEqual(src.stats(), { fetches: 1, failures: 0, refused: 0, consecutiveFailures: 0 });
    // The issuer publishes one more kid; new kids within the cooldown fetch nothing.
    srv.doc = { keys: [...srv.doc.keys, jwkFor('late')] };
    clock += 29_999;
    const burst = await Promise.all([signedWithKid('late'), ...Array.from({ length: 99 }, () => post(tokenWithKid(crypto.randomUUID())))]
      .map((r) => rs.verify(r, EXP)));
    for (const d of burst) {
      assert.equal(d.ok, false);
      assert.equal(d.error.code, 'ofb.verify.kid_not_found', d.error.message);
      assert.equal(d.response.status, 400);
    }
    assert.equal(srv.hits, 1, 'new kids within the cooldown: no fetch');
    assert.equal(src.hasKid('late'), false);
    clock += 1;
    const late = await rs.verify(signedWithKid('late'), EXP);
    assert.equal(late.ok, true, late.error && late.error.message);
    assert.equal(srv.hits, 2, 'the first new kid after the cooldown: exactly one fetch');
    assert.equal(src.fetches, 2);
    assert.equal((await rs.verify(post(tokenWithKid(crypto.randomUUID())), EXP)).error.code, 'ofb.verify.kid_not_found');
    assert.equal(srv.hits, 2, 'that fetch started a new cooldown');
    // A published kid still verifies, without a fetch.
    assert.equal((await rs.verify(signedWithKid(kids[0]), EXP)).ok, true);
    assert.equal(srv.hits, 2);
  } finally {
    await srv.close();
  }
});

test('unknown kids over simulated time (seeded): at most one fetch per cooldown window', { timeout: 60_000 }, async () => {
  const SEED = process.env.SELO_JWKS_SEED ? Number(process.env.SELO_JWKS_SEED) : crypto.randomInt(2 ** 31);
  console.log(`unknown kids: seed ${SEED} (SELO_JWKS_SEED=${SEED} replays it)`);
  let a = SEED;
  const rand = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const srv = await jwksServer();
  try {
    let clock = 1_000_000;
    const cooldownMs = 30_000;
    const rs = new selo.OfbRequestVerifier({ jwksUrl: srv.url, jwksNow: () => clock, jwksCooldownMs: cooldownMs, jwksMaxAgeMs: 3_600_000 });
    assert.equal((await rs.verify(validRequest(), EXP)).ok, true);
    const start = clock;
    for (let i = 0; i < 1000; i++) {
      clock += Math.floor(rand() * 200);
      const d = await rs.verify(post(tokenWithKid(`r${rand()}`)), EXP);
      assert.equal(d.error && d.error.code, 'ofb.verify.kid_not_found');
    }
    const windows = Math.floor((clock - start) / cooldownMs) + 1;
    assert.ok(srv.hits - 1 <= windows, `${srv.hits - 1} fetches over ${clock - start} ms (cooldown ${cooldownMs})`);
    assert.ok(srv.hits >= 2, 'unknown kids do refetch once the cooldown has passed');
    assert.equal((await rs.verify(validRequest(), EXP)).ok, true);
  } finally {
    await srv.close();
  }
});

test('a known kid never waits: past max_age the request verifies with the old set while the refresh is held; the refresh then rotates in a new key', { timeout: 30_000 }, async () => {
  const rotated = selo.RsaPrivateKey.import(keyPem('rsa2048-ofb-other.pem'));
  const held = [];
  let hold = false;
  const srv = await jwksServer((req, res, state) => {
    const answer = () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(state.doc));
    };
    if (hold) held.push(answer);
    else answer();
  });
  try {
    let clock = 0;
    // A deadline far beyond the test's timeout: waiting for the refresh would hang the test.
    const src = new selo.JwksSource({ url: srv.url, now: () => clock, maxAgeMs: 1000, timeoutMs: 600_000 });
    const rs = new selo.OfbRequestVerifier({ jwks: src });
    assert.equal((await rs.verify(validRequest(), EXP)).ok, true);
    hold = true;
    srv.doc = { keys: [goodJwk, { ...rotated.publicKey().toJwk('new'), use: 'sig' }] };
    clock = 1000;
    const d = await rs.verify(validRequest(), EXP);
    assert.equal(d.ok, true);
    assert.equal(src.fetches, 2, 'the verification started a refresh');
    await until(() => held.length === 1, 'the background refresh to reach the server');
    assert.equal(src.hasKid('new'), false);
    assert.equal((await rs.verify(validRequest(), EXP)).ok, true, 'and again: still no wait, no second fetch');
    assert.equal(srv.hits, 2);
    held.shift()();
    await src.refresh();
    assert.equal(src.hasKid('new'), true);
    const s2 = new selo.OfbSigner({ key: rotated, kid: 'new', iss: 'org-tpp' });
    assert.equal((await rs.verify(post(s2.sign({ data: {} }, { aud: AUD }).token), EXP)).ok, true);
  } finally {
    await srv.close();
  }
});

test('a set with keys that do not parse: they are skipped and reported, the good key verifies', { timeout: 30_000 }, async () => {
  const bad = { kty: 'RSA', kid: 'broken', n: '!!!not-base64!!!', e: 'AQAB' };
  const srv = await jwksServer();
  srv.doc = { keys: [bad, goodJwk, { kid: 'no-kty' }] };
  try {
    const seen = [];
    const src = new selo.JwksSource({ url: srv.url, onSkippedKey: (s) => seen.push(s) });
    const d = await new selo.OfbRequestVerifier({ jwks: src }).verify(validRequest(), EXP);
    assert.equal(d.ok, true, d.error && d.error.message);
    assert.deepEqual(src.skipped.map((s) => [s.index, s.kid]), [[0, 'broken'], [2, 'no-kty']]);
    assert.deepEqual(seen.map((s) => s.index), [0, 2]);
    assert.match(src.skipped[0].error, /^key\.jwk\./);
    assert.throws(() => selo.parseJwks({ keys: [bad, goodJwk] }), 'parsed as one set, it would have failed');
  } finally {
    await srv.close();
  }
});

test('a refused connection is a "network" failure; no second fetch within the backoff', { timeout: 30_000 }, async () => {
  const srv = await jwksServer();
  const url = srv.url;
  await srv.close();
  let clock = 0;
  const src = new selo.JwksSource({ url, now: () => clock });
  const rs = new selo.OfbRequestVerifier({ jwks: src });
  assertUnavailable(await rs.verify(validRequest(), EXP), 'network');
  clock = 500;
  assertUnavailable(await rs.verify(validRequest(), EXP));
  assert.deepEqual(src.stats(), { fetches: 1, failures: 1, refused: 2, consecutiveFailures: 1 });
});

test('an injected fetch: GET with redirect "manual" and an abort signal; JwksSource.verifier for OfbClient responses', async () => {
  const inits = [];
  const fetch = async (url, init) => {
    inits.push(init);
    return new Response(JSON.stringify({ keys: [goodJwk] }), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const src = new selo.JwksSource({ url: 'https://keys.example/jwks', fetch });
  const v = await src.verifier(signer.sign({ data: {} }, { aud: AUD }).token);
  assert.equal(v.hasKid('cli'), true);
  assert.equal(inits.length, 1);
  assert.equal(inits[0].method, 'GET');
  assert.equal(inits[0].redirect, 'manual');
  assert.ok(inits[0].signal instanceof AbortSignal);
  assert.equal(src.fetches, 1);
});

test('a JWKS that never answers (no headers) is refused at the deadline; cold start: concurrent requests share that one fetch', { timeout: 30_000 }, async () => {
  const held = [];
  const srv = await jwksServer((req, res) => held.push(res));
  try {
    const src = new selo.JwksSource({ url: srv.url, timeoutMs: 300 });
    const rs = new selo.OfbRequestVerifier({ jwks: src });
    const ds = await Promise.all(Array.from({ length: 20 }, () => rs.verify(validRequest(), EXP)));
    for (const d of ds) assertUnavailable(d);
    assert.equal(ds[0].error.cause.kind, 'timeout');
    assert.equal(srv.hits, 1, 'one fetch for 20 waiting requests');
    assert.deepEqual(src.stats(), { fetches: 1, failures: 1, refused: 20, consecutiveFailures: 1 });
  } finally {
    for (const res of held) res.destroy();
    await srv.close();
  }
});

test('max age and cooldown with an injected clock: every fetch (the first, a kid fetch, a max-age refresh) starts the cooldown; a rotated kid is found once it passed', { timeout: 30_000 }, async () => {
  const other = selo.RsaPrivateKey.import(keyPem('rsa2048-ofb-other.pem'));
  const otherJwk = (kid) => ({ ...other.publicKey().toJwk(kid), use: 'sig' });
  const srv = await jwksServer();
  try {
    let clock = 0;
    const src = new selo.JwksSource({ url: srv.url, now: () => clock, cooldownMs: 30_000, maxAgeMs: 600_000 });
    assert.equal((await src.verifier(tokenWithKid('cli'))).hasKid('cli'), true);
    assert.equal(srv.hits, 1);
    srv.doc = { keys: [goodJwk, otherJwk('rotated')] };
    // The first fetch started the cooldown: an unknown kid within it does not fetch.
    clock = 29_999;
    assert.equal((await src.verifier(tokenWithKid('rotated'))).hasKid('rotated'), false, 'within the cooldown of the first fetch: no fetch');
    assert.equal(srv.hits, 1);
    clock = 30_000;
    assert.equal((await src.verifier(tokenWithKid('rotated'))).hasKid('rotated'), true, 'after the cooldown: fetched');
    assert.equal(srv.hits, 2);
    srv.doc = { keys: [goodJwk, otherJwk('rotated-2')] };
    clock = 30_000 + 29_999;
    assert.equal((await src.verifier(tokenWithKid('rotated-2'))).hasKid('rotated-2'), false, 'within the cooldown of the kid fetch: no fetch');
    assert.equal(srv.hits, 2);
    clock = 60_000;
    assert.equal((await src.verifier(tokenWithKid('rotated-2'))).hasKid('rotated-2'), true, 'after the cooldown: refetched');
    assert.equal(srv.hits, 3);
    clock = 60_000 + 599_999;
    await src.verifier(tokenWithKid('cli'));
    assert.equal(srv.hits, 3, 'a known kid within max age: cached');
    clock = 660_000;
    await src.verifier(tokenWithKid('cli'));
    await src.refresh();
    assert.equal(srv.hits, 4, 'max age passed: refreshed in the background');
    // The refresh started the cooldown too.
    srv.doc = { keys: [goodJwk, otherJwk('rotated-3')] };
    clock = 660_000 + 29_999;
    assert.equal((await src.verifier(tokenWithKid('rotated-3'))).hasKid('rotated-3'), false, 'within the cooldown of the refresh: no fetch');
    assert.equal(srv.hits, 4);
    clock = 690_000;
    assert.equal((await src.verifier(tokenWithKid('rotated-3'))).hasKid('rotated-3'), true, 'after the cooldown: fetched');
    assert.equal(srv.hits, 5);
    assert.equal(src.fetches, 5);
  } finally {
    await srv.close();
  }
});

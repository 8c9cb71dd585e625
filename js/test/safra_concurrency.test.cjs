'use strict';
// Many calls at once through one SafraClient (SPEC §5): each call begins
// its own operation on the shared session; a handshake, psd005 or psd007
// runs once and the calls that need it wait for it. The bank is the core's
// bank role in process, plugged in as a fake `fetch` that counts every
// service on the bank side (and can add latency, hold or fail requests).
const { test } = require('node:test');
const { selo, vector, vectorText, seed, assert } = require('./helpers.cjs');

const gen = vector('safra/generated.json');
const sample = JSON.parse(vectorText('safra/boleto-sample.json'));

function boletoFor(nosso) {
  const b = structuredClone(sample);
  b.documento.nossoNumero = nosso;
  b.documento.seuNumero = String(nosso).padStart(10, '0').slice(-10);
  return b;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A bank and one client over a fake fetch. `latencyMs`: added to every
 * call. `intercept(service, n, init)` (n: 1-based count of that service so
 * far) may return a Response (or a promise of one) to answer instead of the
 * bank; undefined, or a promise of undefined (a delay), lets the bank answer.
 */
function setup({ latencyMs = 1, intercept = () => undefined, timeoutMs, maxInFlight } = {}) {
  const clock = { now: 1_800_000_000 };
  const bank = new selo.SafraBank({ bankKey: gen.bank_private_pkcs8_pem, tokenLifetime: 600, seed: seed(9) });
  const counts = {};
  let inFlight = 0;
  let maxSeen = 0;
  const fetch = async (url, init) => {
    const path = new URL(url).pathname;
    const service = path.split('/').pop();
    counts[service] = (counts[service] || 0) + 1;
    inFlight++;
    maxSeen = Math.max(maxSeen, inFlight);
    try {
      if (latencyMs) await sleep(latencyMs);
      const own = await intercept(service, counts[service], init);
      if (own !== undefined) return own;
      const r = bank.handle(path, init.headers, init.body, clock.now);
      return new Response(r.body.length ? r.body : null, { status: r.status, headers: r.headers });
    } finally {
      inFlight--;
    }
  };
  const events = [];
  const client = new selo.SafraClient({
    cliente: 'CLIENTE01',
    baseUrl: 'http://bank.test/psd',
    clientKey: gen.client_private_pkcs8_pem,
    fetch,
    timeoutMs,
    maxInFlight,
    now: () => clock.now,
    onEvent: (e) => events.push(e.type),
  });
  return { bank, client, counts, events, maxSeen: () => maxSeen };
}

/** Runs `fn` over `items` with at most `width` at once; results in order. */
async function pool(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

const nossos = (n, base) => Array.from({ length: n }, (_, i) => base + i);

test('64 registrations, 16 in flight, one client: exactly one handshake (2 psd001) and one psd005 on the bank side, each boleto registered once', async () => {
  const { bank, client, counts, events, maxSeen } = setup({ latencyMs: 5 });
  const list = nossos(64, 500_000_000);
  const results = await pool(list, 16, (n) => client.registerBoleto(boletoFor(n)));
  for (const [i, r] of results.entries()) {
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.reconciled, false);
    assert.equal(Number(r.nossoNumero), list[i]);
  }
  assert.equal(counts.psd001, 2, 'one handshake: stages 1 and 2');
  assert.equal(counts.psd005, 1, 'one authentication');
  assert.equal(counts.psd050, 64);
  assert.equal(counts.psd007 || 0, 0);
  assert.equal(counts.psd052 || 0, 0);
  const registered = bank.boletos().map((b) => Number(b.nossoNumero));
  assert.equal(registered.length, 64);
  assert.equal(new Set(registered).size, 64, 'no duplicates');
  assert.deepEqual([...registered].sort((a, b) => a - b), list);
  assert.equal(maxSeen(), 16, 'the 16 calls were in flight together');
  assert.ok(events.includes('wait'), 'calls that met the handshake waited for it');
  assert.equal(client.session.inFlight, 0);
  assert.equal(client.session.transitionInFlight, false);
});

test('with 100 ms per call, 64 registrations 16 at a time take at most 0.3× the time of the same 64 one at a time', { timeout: 120_000 }, async () => {
  const timed = async (width, base) => {
    const { bank, client, counts } = setup({ latencyMs: 100 });
    const t0 = performance.now();
    const results = await pool(nossos(64, base), width, (n) => client.registerBoleto(boletoFor(n)));
    const ms = performance.now() - t0;
    assert.ok(results.every((r) => r.ok));
    assert.equal(bank.boletos().length, 64);
    assert.equal(counts.psd001, 2);
    assert.equal(counts.psd005, 1);
    return ms;
  };
  const serial = await timed(1, 600_000_000);
  const parallel = await timed(16, 700_000_000);
  const ratio = parallel / serial;
  console.log(`# 64 registrations at 100 ms per call: 1 in flight ${serial.toFixed(0)} ms, 16 in flight ${parallel.toFixed(0)} ms, ratio ${ratio.toFixed(3)}`);
  assert.ok(serial >= 64 * 100, `one at a time takes at least 64 × 100 ms (${serial} ms)`);
  assert.ok(ratio <= 0.3, `ratio ${ratio} > 0.3`);
});

test('a key expiry seen by every call in flight (500 + amc-criptografia: erro to each psd050 of one round) causes exactly one new handshake', async () => {
  const held = [];
  const ROUND = 16;
  // The first ROUND psd050s are held until all of them are in flight, then
  // all answered 500 + amc-criptografia: erro (the bank forgot the key).
  const intercept = (service, n) => {
    if (service !== 'psd050' || n > ROUND) return undefined;
    return new Promise((resolve) => {
      held.push(resolve);
      if (held.length === ROUND) {
        for (const r of held) {
          r(new Response('{"erro":"chave expirada"}', { status: 500, headers: { 'amc-criptografia': 'erro', 'content-type': 'application/json' } }));
        }
      }
    });
  };
  const { bank, client, counts } = setup({ intercept });
  await client.authenticate();
  const generation = client.session.generation;
  const sessionId = client.session.sessionId;
  assert.equal(counts.psd001, 2);
  assert.equal(counts.psd005, 1);
  const list = nossos(ROUND, 800_000_000);
  const results = await Promise.all(list.map((n) => client.registerBoleto(boletoFor(n))));
  assert.ok(results.every((r) => r.ok && !r.reconciled), JSON.stringify(results.filter((r) => !r.ok)));
  assert.equal(held.length, ROUND, 'the whole round met the expired key');
  assert.equal(counts.psd001, 4, 'exactly one new handshake (2 more psd001)');
  assert.equal(counts.psd005, 2, 'and one new psd005');
  assert.equal(counts.psd050, 2 * ROUND, 'each psd050 sent again once, with the new key');
  assert.notEqual(client.session.sessionId, sessionId);
  assert.ok(client.session.generation > generation);
  const registered = bank.boletos().map((b) => Number(b.nossoNumero));
  assert.equal(registered.length, ROUND);
  assert.equal(new Set(registered).size, ROUND);
  assert.equal(client.session.inFlight, 0);
});

test('a call aborted by its caller while psd050 is in flight rejects with the reason and cancels its operation (the promise to reconcile is kept)', async () => {
  let release;
  const intercept = (service, n) => {
    if (service === 'psd050' && n === 1) {
      // The bank never answers this one in time.
      return new Promise((resolve) => {
        release = resolve;
      });
    }
    return undefined;
  };
  const { bank, client, counts } = setup({ intercept });
  const ac = new AbortController();
  const p = client.registerBoleto(boletoFor(900_000_001), { signal: ac.signal });
  while (!release) await sleep(2);
  assert.equal(client.session.inFlight, 1);
  ac.abort();
  await assert.rejects(p, (e) => e && e.name === 'AbortError');
  assert.equal(client.session.inFlight, 0, 'the operation was cancelled');
  const unresolved = client.unresolvedRegistrations();
  assert.deepEqual(unresolved.map((u) => u.nossoNumero), ['900000001'], 'a psd050 in flight stays an unresolved registration');
  // The late reply arrives after the cancel: nobody hands it to the session.
  release(new Response('{}', { status: 500 }));
  // A call aborted before it began never begins.
  await assert.rejects(client.queryBoleto({ nossoNumero: '1', seuNumero: '1' }, { signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
  assert.equal(client.session.inFlight, 0);
  // The same boleto registered again starts with psd052 (not found) then psd050.
  const r = await client.registerBoleto(boletoFor(900_000_001));
  assert.equal(r.ok, true);
  assert.equal(counts.psd052, 1, 'reconciled first');
  assert.equal(counts.psd050, 2);
  assert.equal(bank.boletos().length, 1);
  assert.deepEqual(client.unresolvedRegistrations(), []);
});

test('a call waiting for another call’s handshake longer than timeoutMs is cancelled with safra.session.not_ready', async () => {
  // Stage 1 of the handshake takes 600 ms (the fake ignores the client's
  // timeout, as a stuck proxy might): a call that waits for it gives up
  // after timeoutMs (200 ms), and only that call.
  const { client } = setup({ timeoutMs: 200, intercept: (service, n) => (service === 'psd001' && n === 1 ? sleep(600) : undefined) });
  const first = client.authenticate();
  await sleep(20);
  assert.equal(client.session.transitionInFlight, true);
  const t0 = performance.now();
  await assert.rejects(client.registerBoleto(boletoFor(900_000_002)), (e) => {
    assert.ok(e instanceof selo.SeloError, `expected SeloError, got ${e && e.name}: ${e && e.message}`);
    assert.equal(e.code, 'safra.session.not_ready');
    assert.match(e.message, /timeoutMs/);
    return true;
  });
  const waited = performance.now() - t0;
  assert.ok(waited >= 190 && waited < 550, `waited ${waited} ms`);
  assert.equal(client.session.inFlight, 1, 'the waiter was cancelled; the handshake goes on');
  assert.equal((await first).type, 'authenticated');
  assert.equal(client.session.inFlight, 0);
  // The waiter's boleto was never sent: nothing to reconcile.
  assert.deepEqual(client.unresolvedRegistrations(), []);
});

test('the same nossoNumero twice at once: the second call rejects with safra.boleto.in_flight, the first registers it', async () => {
  const { bank, client, counts } = setup({ latencyMs: 5 });
  const a = client.registerBoleto(boletoFor(900_000_003));
  const b = client.registerBoleto(boletoFor(900_000_003));
  await assert.rejects(b, (e) => {
    assert.ok(e instanceof selo.SeloError, `expected SeloError, got ${e && e.name}: ${e && e.message}`);
    assert.equal(e.code, 'safra.boleto.in_flight');
    assert.match(e.message, /900000003/);
    return true;
  });
  const r = await a;
  assert.equal(r.ok, true);
  assert.equal(counts.psd050, 1);
  assert.equal(bank.boletos().length, 1);
  // Once the first ended, the same boleto may be registered again (the bank decides).
  assert.equal(client.session.inFlight, 0);
});

test('maxInFlight: past it a call rejects with safra.session.busy', async () => {
  const { client } = setup({ latencyMs: 20, maxInFlight: 2 });
  const a = client.registerBoleto(boletoFor(900_000_010));
  const b = client.registerBoleto(boletoFor(900_000_011));
  await assert.rejects(client.registerBoleto(boletoFor(900_000_012)), (e) => e.code === 'safra.session.busy');
  assert.ok((await a).ok);
  assert.ok((await b).ok);
  assert.ok((await client.registerBoleto(boletoFor(900_000_012))).ok);
});

test('SafraSession: begin / next / cancel by hand, the getters, credentials shared with a second session', () => {
  const bank = new selo.SafraBank({ bankKey: gen.bank_private_pkcs8_pem, tokenLifetime: 600, seed: seed(9) });
  const now = 1_800_000_000;
  const s = new selo.SafraSession({ cliente: 'CLIENTE01', baseUrl: 'http://bank.test/psd', clientKey: gen.client_private_pkcs8_pem, seed: seed(3) });
  const answer = (request) => {
    const r = bank.handle(new URL(request.url).pathname, request.headers, request.body, now);
    return { status: r.status, headers: r.headers, body: r.body };
  };
  assert.equal(s.inFlight, 0);
  assert.equal(s.generation, 0);
  assert.throws(() => s.exportCredentials(), (e) => e.code === 'safra.session.not_ready');
  const a = s.begin({ type: 'registerBoleto', boleto: boletoFor(900_000_020) });
  const b = s.begin({ type: 'registerBoleto', boleto: boletoFor(900_000_021) });
  assert.equal(typeof a, 'number');
  assert.equal(s.inFlight, 2);
  assert.throws(() => s.begin({ type: 'registerBoleto', boleto: boletoFor(900_000_020) }), (e) => e.code === 'safra.boleto.in_flight');
  const stepA = s.next(a, now);
  assert.equal(stepA.wait, false);
  assert.match(stepA.request.url, /psd001$/);
  assert.equal(s.isTransition(stepA.id), true);
  assert.equal(s.transitionInFlight, true);
  assert.deepEqual(s.next(b, now), { wait: true }, 'b waits for a’s handshake');
  // Drive a to its end; b waits until the credentials are there.
  let out;
  let step = stepA;
  for (;;) {
    out = s.handleResponse(step.id, answer(step.request), now);
    if (out.done) break;
    step = s.next(a, now);
    assert.equal(step.wait, false);
  }
  assert.equal(out.reply.type, 'boletoRegistered');
  assert.ok(s.generation > 0);
  const stepB = s.next(b, now);
  assert.equal(stepB.wait, false);
  assert.match(stepB.request.url, /psd050$/);
  assert.equal(s.isTransition(stepB.id), false);
  assert.equal(s.cancel(b), true);
  assert.equal(s.cancel(b), false);
  assert.equal(s.inFlight, 0);
  assert.deepEqual(s.unresolvedRegistrations().map((u) => u.nossoNumero), ['900000021']);
  assert.throws(() => s.next(b, now), (e) => e.code === 'safra.session.unknown_request');
  s.setMaxInFlight(1);
  const c = s.begin('authenticate');
  assert.throws(() => s.begin('authenticate'), (e) => e.code === 'safra.session.busy');
  s.cancel(c);
  assert.throws(() => s.setMaxInFlight(0), TypeError);
  // Credentials shared: a second session registers with them at once.
  const creds = s.exportCredentials();
  assert.ok(creds instanceof Uint8Array);
  const t = new selo.SafraSession({ cliente: 'CLIENTE01', baseUrl: 'http://bank.test/psd', seed: seed(4) });
  t.adoptCredentials(creds);
  assert.equal(t.sessionId, s.sessionId);
  const d = t.begin({ type: 'registerBoleto', boleto: boletoFor(900_000_022) });
  const stepD = t.next(d, now);
  assert.match(stepD.request.url, /psd050$/);
  const done = t.handleResponse(stepD.id, answer(stepD.request), now);
  assert.equal(done.done, true);
  assert.equal(done.reply.type, 'boletoRegistered');
  const other = new selo.SafraSession({ cliente: 'OTHER', baseUrl: 'http://bank.test/psd' });
  assert.throws(() => other.adoptCredentials(creds), (e) => e.code === 'safra.session.bad_snapshot');
});

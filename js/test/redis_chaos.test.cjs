'use strict';
// A Safra fleet on Redis when things break (SPEC §5): the lease holder
// killed mid-handshake, Redis stopped and restarted, a lease holder whose
// lease expired under it (its write is refused and counted).
const { test } = require('node:test');
const { selo, vectorText, assert, rejectsCode } = require('./helpers.cjs');
const h = require('./redis_helpers.cjs');

const { RedisSafraShare } = h.redisModule;
const sample = JSON.parse(vectorText('safra/boleto-sample.json'));
const SEAL = Buffer.from(h.SEAL_HEX, 'hex');

function boletoFor(n) {
  const b = structuredClone(sample);
  b.documento.nossoNumero = n;
  b.documento.seuNumero = `S${n}`;
  return b;
}

/** One in-process instance: its own SafraClient and share on `redis`. */
function instance(redis, base, name, { leaseTtlMs, timeoutMs = 10_000, storeTimeoutMs = 1_000, fetch } = {}) {
  const shared = new RedisSafraShare(redis, { name, sealKey: SEAL, leaseTtlMs, timeoutMs: storeTimeoutMs });
  const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: base, timeoutMs, shared, fetch });
  return { shared, client };
}

test('kill -9 of the worker holding the lease mid-handshake: another takes the lease once it expires and completes; one handshake among the survivors', { timeout: 60_000 }, async () => {
  const redis = await h.startRedis();
  const { base } = await h.sim([]);
  // Slow bank: the handshake (2 psd001 + psd005) takes ≥ 600 ms; the lease
  // (3 s) outlives it even on a loaded machine.
  await h.simFault(base, { fault: 'latency', ms: 200 });
  const leaseTtlMs = 3_000;
  const ws = Array.from({ length: 4 }, (_, i) =>
    h.worker(h.workerArgs({ base, redis: redis.url, name: 'chaos-kill', first: 40_000 + i * 10, count: 6, inFlight: 2, leaseTtlMs, timeoutMs: 15_000 })),
  );
  // The first worker to say it holds the lease is killed at once.
  let victim = null;
  const until = Date.now() + 20_000;
  while (!victim) {
    victim = ws.find((w) => /lease held/.test(w.stderr()));
    if (!victim) {
      assert.ok(Date.now() < until, 'no worker took the lease');
      await h.sleep(5);
    }
  }
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  const survivors = ws.filter((w) => w !== victim);
  const results = await Promise.all(survivors.map((w) => w.done));
  const doneMs = Date.now() - killedAt;
  for (const r of results) {
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.equal(r.out.registered, 6);
  }
  const total = h.sumStats(results);
  assert.equal(total.handshakes, 1, JSON.stringify(total));
  assert.ok(total.lease_waits >= 1, JSON.stringify(total));
  const dead = await victim.done;
  assert.equal(dead.signal, 'SIGKILL');
  // The dead holder's lease lived at most its TTL; the new holder's
  // handshake, psd005 and the survivors' psd050s (200 ms each) follow.
  assert.ok(doneMs < leaseTtlMs + 6_000, `survivors done ${doneMs} ms after the kill`);
  const state = await h.simState(base);
  assert.equal(state.protocol.duplicates, 0);
  assert.equal(state.counts['psd050 200'], 18, JSON.stringify(state.counts));
});

test('Redis stopped: every call fails with shared.store_unavailable within its timeout (no secret in the message); after Redis restarts the instances recover without a new handshake', { timeout: 60_000 }, async () => {
  const server = await h.startRedis();
  const { base } = await h.sim([]);
  const redis1 = await h.connect(server.url);
  const a = instance(redis1, base, 'chaos-down');
  for (let n = 50_000; n < 50_003; n++) assert.equal((await a.client.registerBoleto(boletoFor(n))).ok, true);
  await server.stop();
  const timeoutMs = 3_000;
  const down = instance(redis1, base, 'chaos-down', { timeoutMs });
  const calls = [];
  for (let n = 50_010; n < 50_016; n++) {
    for (const inst of [a, down]) {
      const t0 = Date.now();
      calls.push(
        rejectsCode(inst.client.registerBoleto(boletoFor(n + (inst === a ? 0 : 100))), 'shared.store_unavailable').then(() => Date.now() - t0),
      );
    }
  }
  const took = await Promise.all(calls);
  for (const ms of took) assert.ok(ms <= timeoutMs, `failed after ${ms} ms`);
  let caught;
  try {
    await a.client.registerBoleto(boletoFor(50_020));
  } catch (e) {
    caught = e;
  }
  assert.equal(caught.code, 'shared.store_unavailable');
  assert.ok(!/selo:|\{safra|selo1\./.test(caught.message), caught.message);
  assert.ok(a.shared.stats().storeErrors >= 6, JSON.stringify(a.shared.stats()));
  assert.ok(down.shared.stats().storeErrors >= 6);
  // Back: the record was saved (SHUTDOWN SAVE) and comes back with it.
  await server.start();
  const until = Date.now() + 10_000;
  while (!redis1.isReady) {
    assert.ok(Date.now() < until, 'the client did not reconnect');
    await h.sleep(50);
  }
  const b = instance(await h.connect(server.url), base, 'chaos-down');
  for (let n = 50_030; n < 50_034; n++) {
    assert.equal((await a.client.registerBoleto(boletoFor(n))).ok, true);
    assert.equal((await b.client.registerBoleto(boletoFor(n + 100))).ok, true);
    assert.equal((await down.client.registerBoleto(boletoFor(n + 200))).ok, true);
  }
  assert.equal(b.shared.stats().adopted, 1);
  assert.equal(b.shared.stats().handshakes, 0);
  const state = await h.simState(base);
  assert.equal(state.counts['psd001 200'], 2, JSON.stringify(state.counts));
  assert.equal(state.counts['psd005 200'], 1, JSON.stringify(state.counts));
  assert.equal(state.protocol.duplicates, 0);
});

test('a stale lease holder: its lease expired during a slow psd005, another instance published first — its publish is refused and counted (leaseSteals), and it adopts the winner\'s record', { timeout: 60_000 }, async () => {
  const server = await h.startRedis();
  const { base } = await h.sim([]);
  const redis = await h.connect(server.url);
  let slow = true;
  let heldPsd005 = 0;
  const slowFetch = async (url, init) => {
    const r = await fetch(url, init);
    if (slow && url.endsWith('/psd005')) {
      heldPsd005++;
      await h.sleep(900);
    }
    return r;
  };
  // A's lease is short (it is the one that goes stale); B's is not.
  const leaseTtlMs = 300;
  const a = instance(redis, base, 'chaos-stale', { leaseTtlMs, fetch: slowFetch });
  const b = instance(redis, base, 'chaos-stale', { leaseTtlMs: 10_000 });
  const ra = a.client.registerBoleto(boletoFor(60_000));
  // A holds the lease, then its psd005 answer is held 900 ms: the lease expires.
  const until = Date.now() + 10_000;
  while (heldPsd005 === 0) {
    assert.ok(Date.now() < until, 'A never sent psd005');
    await h.sleep(5);
  }
  slow = false;
  await h.sleep(leaseTtlMs + 50);
  assert.equal((await b.client.registerBoleto(boletoFor(60_001))).ok, true);
  assert.equal(b.shared.stats().handshakes, 1);
  assert.equal((await ra).ok, true);
  const sa = a.shared.stats();
  assert.equal(sa.leaseSteals, 1, JSON.stringify(sa));
  assert.equal(sa.handshakes, 0, JSON.stringify(sa));
  assert.equal(sa.adopted, 1, JSON.stringify(sa));
  assert.equal(a.client.session.sessionId, b.client.session.sessionId, 'A uses the winner\'s credentials');
  assert.equal(a.shared.holdsLease, false);
  const record = await redis.get('selo:{safra:chaos-stale}:record');
  assert.match(record, /^selo1\.1\./, 'the winner\'s record stands');
  assert.equal((await a.client.registerBoleto(boletoFor(60_002))).ok, true);
});

test('a key expiry heard by a whole fleet (500 + amc-criptografia) makes exactly one new handshake fleet-wide: the others adopt its record', { timeout: 60_000 }, async () => {
  const server = await h.startRedis();
  const { base } = await h.sim([]);
  await h.simFault(base, { fault: 'latency', ms: 20 });
  const ws = Array.from({ length: 6 }, (_, i) =>
    h.worker(h.workerArgs({ base, redis: server.url, name: 'chaos-expire', first: 80_000 + i * 40, count: 40, inFlight: 4 })),
  );
  // Once the fleet is registering on generation 1, the bank forgets the key.
  const until = Date.now() + 20_000;
  for (;;) {
    const s = await h.simState(base);
    if ((s.counts['psd050 200'] || 0) >= 30) break;
    assert.ok(Date.now() < until, 'the fleet never got going');
    await h.sleep(10);
  }
  await h.simFault(base, { fault: 'expire-key' });
  const results = await Promise.all(ws.map((w) => w.done));
  for (const r of results) {
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.equal(r.out.registered, 40);
  }
  const state = await h.simState(base);
  assert.equal(state.counts['psd001 200'], 4, `two handshakes in all: ${JSON.stringify(state.counts)}`);
  assert.equal(state.counts['psd005 200'], 2, JSON.stringify(state.counts));
  assert.ok((state.counts['psd050 500'] || 0) >= 1, JSON.stringify(state.counts));
  assert.equal(state.protocol.duplicates, 0);
  assert.equal(h.sumStats(results).handshakes, 2, JSON.stringify(h.sumStats(results)));
  const record = await (await h.connect(server.url)).get('selo:{safra:chaos-expire}:record');
  assert.match(record, /^selo1\.2\./);
});

test('a store call that never answers fails at its bound (timeoutMs) with shared.store_unavailable; a reply of the wrong type too; both counted', { timeout: 30_000 }, async () => {
  const hang = () => new Promise(() => {});
  const silent = { get: hang, set: hang, del: hang, evalSha: hang, eval: hang };
  const { base } = await h.sim([]);
  const a = instance(silent, base, 'chaos-silent', { storeTimeoutMs: 200 });
  const t0 = Date.now();
  let caught;
  try {
    await a.client.registerBoleto(boletoFor(90_000));
  } catch (e) {
    caught = e;
  }
  const ms = Date.now() - t0;
  assert.equal(caught && caught.code, 'shared.store_unavailable');
  assert.match(caught.message, /GET failed \(timed out\)/);
  assert.ok(ms >= 190 && ms < 2_000, `${ms} ms`);
  assert.equal(a.shared.stats().storeErrors, 1);
  // A script answering something other than an integer.
  const odd = { get: async () => null, set: async () => 'OK', del: async () => 1, evalSha: async () => 'OK', eval: async () => 'OK' };
  const b = instance(odd, base, 'chaos-odd');
  await rejectsCode(b.client.registerBoleto(boletoFor(90_001)), 'shared.store_unavailable');
  assert.equal(b.shared.stats().storeErrors, 1);
  assert.equal(b.shared.holdsLease, false);
  const state = await h.simState(base);
  assert.equal(state.counts['psd001 200'] || 0, 0, 'nothing sent to the bank without the store');
});

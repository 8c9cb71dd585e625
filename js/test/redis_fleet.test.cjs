'use strict';
// Many instances, one Safra session (SPEC §5): fleets of worker PROCESSES
// (test/fleet_worker.cjs) sharing the session through a real redis-server,
// against `selo sim safra`, which counts what the bank saw. Then nothing
// the bank issued (session keys, tokens) may be found in Redis, in any
// encoding.
const { test } = require('node:test');
const { assert } = require('./helpers.cjs');
const h = require('./redis_helpers.cjs');

/** The sim's counts of "<service> <status>". */
const count = (state, key) => state.counts[key] || 0;

function assertAllRegistered(results, perWorker) {
  for (const r of results) {
    assert.equal(r.code, 0, `worker failed: ${r.stdout} ${r.stderr}`);
    assert.ok(r.out, `no JSON line: ${r.stdout}`);
    assert.equal(r.out.lang, 'node');
    assert.equal(r.out.registered, perWorker, JSON.stringify(r.out));
    assert.deepEqual(r.out.errors, []);
  }
}

/** No value in Redis holds any of the sim's issued session keys or tokens. */
async function assertNothingIssuedAtRest(client, state) {
  const { session_keys: keys, tokens } = state.protocol.issued;
  assert.ok(keys.length >= 1 && tokens.length >= 1, 'the sim issued something');
  const needles = [];
  for (const k of keys) needles.push(...h.encodings(k));
  for (const t of tokens) {
    const raw = Buffer.from(t, 'utf8');
    needles.push(t, raw.toString('base64'), raw.toString('base64url'), raw.toString('hex'));
    // The token's signature part alone, too.
    needles.push(t.split('.').pop());
  }
  const values = await h.dump(client);
  assert.ok(values.size >= 2, `expected the record and the fence at least: ${[...values.keys()]}`);
  for (const [k, v] of values) {
    for (const n of needles) assert.ok(!v.includes(n) && !k.includes(n), `key ${k} holds an issued secret`);
  }
  return values;
}

test('8 worker processes × 4 in flight share one session through Redis: 400 boletos, exactly 1 handshake and 1 psd005, no 480, no duplicate; nothing the bank issued is at rest in Redis', { timeout: 120_000 }, async () => {
  const redis = await h.startRedis();
  const { base } = await h.sim([]);
  await h.simFault(base, { fault: 'latency', ms: 20 });
  const started = Date.now();
  const results = await h.fleet(8, { base, redis: redis.url, name: 'fleet-a', first: 10_000, count: 50, inFlight: 4 });
  const ms = Date.now() - started;
  assertAllRegistered(results, 50);
  const state = await h.simState(base);
  assert.equal(count(state, 'psd001 200'), 2, JSON.stringify(state.counts));
  assert.equal(count(state, 'psd005 200'), 1, JSON.stringify(state.counts));
  assert.equal(count(state, 'psd050 200'), 400, JSON.stringify(state.counts));
  for (const k of Object.keys(state.counts)) assert.ok(!/ 480$/.test(k), `an HTTP 480: ${JSON.stringify(state.counts)}`);
  assert.equal(state.protocol.duplicates, 0);
  const total = h.sumStats(results);
  assert.equal(total.handshakes, 1, JSON.stringify(total));
  assert.equal(total.adopted, 7, JSON.stringify(total));
  assert.equal(total.store_errors, 0);
  assert.equal(total.lease_steals, 0);
  // At rest: the sealed record and the fence only, nothing the bank issued.
  const client = await h.connect(redis.url);
  const values = await assertNothingIssuedAtRest(client, state);
  assert.match(values.get('selo:{safra:fleet-a}:record'), /^selo1\.1\.[A-Za-z0-9_-]+$/);
  assert.match(values.get('selo:{safra:fleet-a}:fence'), /^[1-9][0-9]*$/, 'a lease was granted (an instance that takes it after the publish only adopts)');
  assert.equal(values.has('selo:{safra:fleet-a}:lease'), false, 'the lease was released');
  process.stderr.write(`# fleet 8x50 (4 in flight, 20 ms latency): ${ms} ms\n`);
});

test('a short token lifetime (65 s, renewed 60 s before its end): the renewal that falls due is run once fleet-wide (exactly one psd007), the others adopt it', { timeout: 120_000 }, async () => {
  const redis = await h.startRedis();
  // Lifetime 65 s; renewed 60 s before its end (the default margin): due 4
  // to 5 s after the token (whole seconds), and again 4 to 5 s after the
  // renewal: the second fleet runs inside that window.
  const { base } = await h.sim(['--token-lifetime', '65']);
  await h.simFault(base, { fault: 'latency', ms: 20 });
  const profile = { renewBeforeSecs: 60 };
  const opts = { base, redis: redis.url, name: 'fleet-renew', count: 10, inFlight: 4, profile };
  const first = await h.fleet(8, { ...opts, first: 20_000, count: 5 });
  assertAllRegistered(first, 5);
  let state = await h.simState(base);
  assert.equal(count(state, 'psd001 200'), 2, JSON.stringify(state.counts));
  assert.equal(count(state, 'psd005 200'), 1);
  assert.equal(count(state, 'psd007 200'), 0, 'not due yet');
  // The second fleet starts registering past the renewal point of the
  // token every worker will adopt (its processes start meanwhile, so the
  // 4-5 s until the renewed token is due again are the run's alone).
  const startAt = Date.now() + 5_100;
  const second = await h.fleet(8, { ...opts, first: 30_000, startAt });
  const lastDone = Date.now();
  assertAllRegistered(second, 10);
  state = await h.simState(base);
  process.stderr.write(`# renewal fleet: registered 8 x 10 in ${lastDone - startAt} ms from --start-at\n`);
  assert.equal(count(state, 'psd007 200'), 1, `one renewal fleet-wide: ${JSON.stringify(state.counts)} (the run took ${lastDone - startAt} ms)`);
  assert.equal(count(state, 'psd001 200'), 2, JSON.stringify(state.counts));
  assert.equal(count(state, 'psd005 200'), 1, JSON.stringify(state.counts));
  // psd050s in flight on the old token when it was renewed may meet a 401
  // (the bank revokes it): each recovers by adopting the new record — no
  // psd005, no second psd007, no 480.
  for (const k of Object.keys(state.counts)) assert.ok(!/ 480$/.test(k), JSON.stringify(state.counts));
  assert.equal(state.protocol.duplicates, 0);
  const total = h.sumStats(second);
  assert.equal(total.renewals, 1, JSON.stringify(total));
  assert.equal(total.handshakes, 0, JSON.stringify(total));
  const client = await h.connect(redis.url);
  const values = await assertNothingIssuedAtRest(client, state);
  assert.match(values.get('selo:{safra:fleet-renew}:record'), /^selo1\.2\./);
});

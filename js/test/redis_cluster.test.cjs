'use strict';
// The same fleet against a 3-node Redis Cluster (redis-cli --cluster
// create): every multi-key script touches one hash tag, so one slot.
const { test } = require('node:test');
const { spawnSync } = require('node:child_process');
const { assert } = require('./helpers.cjs');
const h = require('./redis_helpers.cjs');

test('Redis Cluster (3 nodes): 4 worker processes share one session — 1 handshake, 1 psd005, no duplicate; the fleet\'s keys live in one slot; OFB and BMP stores on the cluster', { timeout: 120_000 }, async () => {
  const cluster = await h.startCluster();
  const { base } = await h.sim([]);
  await h.simFault(base, { fault: 'latency', ms: 20 });
  const results = await h.fleet(4, { base, cluster: cluster.nodes, name: 'fleet-cluster', first: 70_000, count: 50, inFlight: 4 });
  for (const r of results) {
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.equal(r.out.registered, 50);
    assert.deepEqual(r.out.errors, []);
  }
  const state = await h.simState(base);
  assert.equal(state.counts['psd001 200'], 2, JSON.stringify(state.counts));
  assert.equal(state.counts['psd005 200'], 1, JSON.stringify(state.counts));
  assert.equal(state.counts['psd050 200'], 200);
  assert.equal(state.protocol.duplicates, 0);
  assert.equal(h.sumStats(results).handshakes, 1);
  const c = await h.connectCluster(cluster.nodes);
  const record = await c.get('selo:{safra:fleet-cluster}:record');
  assert.match(record, /^selo1\.1\./);
  assert.equal(await c.get('selo:{safra:fleet-cluster}:fence'), '1');
  const slot = (k) => spawnSync('redis-cli', ['-p', String(cluster.ports[0]), 'cluster', 'keyslot', k], { encoding: 'utf8' }).stdout.trim();
  const slots = new Set(['record', 'lease', 'fence'].map((k) => slot(`selo:{safra:fleet-cluster}:${k}`)));
  assert.equal(slots.size, 1, [...slots].join());
  assert.equal([...slots][0], slot('safra:fleet-cluster'), 'the slot of the hash tag');
  // The OFB and BMP adapters on a cluster client.
  const { RedisJtiStore, RedisBmpPending } = h.redisModule;
  const jti = new RedisJtiStore(c);
  assert.equal(await jti.record('selo:ofb:jti:2:c1:abc', 60), 'fresh');
  assert.equal(await jti.record('selo:ofb:jti:2:c1:abc', 60), 'replayed');
  const bmp = new RedisBmpPending(c);
  await bmp.set('k-1', Buffer.from('{"a":1}'));
  assert.equal(await bmp.get('k-1'), '{"a":1}');
  assert.equal(await bmp.get('k-2'), null);
});

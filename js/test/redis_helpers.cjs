'use strict';
// Shared by the redis_*.test.cjs files (not a test file): real redis-server
// processes on free loopback ports (Debian's redis-server; missing is a
// failure, never a skip), a 3-node Redis Cluster, the Safra simulator and
// fleet worker processes (test/fleet_worker.cjs).
const { after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { createClient, createCluster } = require('redis');

const PKG = process.env.SELO_UNDER_TEST || path.join(__dirname, '..');
const redisModule = require(path.join(PKG, 'lib', 'redis.cjs'));
const WORKER = path.join(__dirname, 'fleet_worker.cjs');
const SEAL_HEX = '5e'.repeat(32);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function requireRedisServer() {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  assert.ok(!r.error && r.status === 0, 'redis-server is not on PATH: scripts/setup python installs it (apt redis-server)');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitPing(port, ms = 10_000) {
  const until = Date.now() + ms;
  for (;;) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (r.stdout && r.stdout.trim() === 'PONG') return;
    if (Date.now() > until) throw new Error(`redis-server on ${port} did not answer PING`);
    await sleep(50);
  }
}

/**
 * A redis-server on a free loopback port, killed after the test file.
 * `stop()` saves and shuts it down (SHUTDOWN SAVE: the data comes back with
 * `start()` on the same port); `extra` adds server arguments.
 */
async function startRedis(extra = []) {
  requireRedisServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'selo-redis-'));
  const port = await freePort();
  const server = { port, url: `redis://127.0.0.1:${port}`, dir, child: null };
  server.start = async () => {
    server.child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra],
      { stdio: 'ignore' },
    );
    await waitPing(port);
  };
  server.stop = async () => {
    const c = server.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    spawnSync('redis-cli', ['-p', String(port), 'shutdown', 'save']);
    await exited;
  };
  await server.start();
  after(() => {
    if (server.child && server.child.exitCode === null) server.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

/** Three cluster-enabled redis-servers joined by `redis-cli --cluster create`. */
async function startCluster() {
  requireRedisServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'selo-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children = ports.map((p) =>
    spawn(
      'redis-server',
      ['--port', String(p), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${p}.conf`),
        '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    ),
  );
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (const p of ports) await waitPing(p);
  execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
  const until = Date.now() + 15_000;
  for (;;) {
    const ok = ports.every((p) => /cluster_state:ok/.test(spawnSync('redis-cli', ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).stdout || ''));
    if (ok) break;
    if (Date.now() > until) throw new Error('the cluster did not reach cluster_state:ok');
    await sleep(100);
  }
  return { ports, nodes: ports.map((p) => `127.0.0.1:${p}`).join(',') };
}

/** A connected node-redis client (closed after the test file). */
async function connect(url, opts = {}) {
  const c = createClient({ url, disableOfflineQueue: true, socket: { connectTimeout: 1_000, reconnectStrategy: (n) => Math.min(50 * (n + 1), 300) }, ...opts });
  c.on('error', () => {});
  await c.connect();
  after(() => close(c));
  return c;
}

/** Closes a client at once (its server may be gone already: no QUIT round trip). */
function close(c) {
  try {
    c.destroy();
  } catch {
    /* gone */
  }
}

async function connectCluster(nodes) {
  const c = createCluster({
    rootNodes: nodes.split(',').map((hp) => ({ url: `redis://${hp}` })),
    defaults: { disableOfflineQueue: true, socket: { connectTimeout: 1_000 } },
  });
  c.on('error', () => {});
  await c.connect();
  after(() => close(c));
  return c;
}

/** The Safra simulator (test/sim.mjs). */
async function sim(args = []) {
  const m = await import('./sim.mjs');
  return { ...(await m.startSim(args)), state: (b) => m.simState(b), fault: (b, f) => m.fault(b, f) };
}

async function simState(base) {
  const r = await fetch(`${base}/_control/state`);
  assert.equal(r.status, 200);
  return r.json();
}

async function simFault(base, f) {
  const r = await fetch(`${base}/_control/fault`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(f) });
  assert.equal(r.status, 200, await r.text());
}

/** The sim's base URL without the service path (…/psd → …). */
const controlBase = (base) => base.replace(/\/psd$/, '');

/**
 * Starts one fleet worker process: `{ child, done, stderr() }`; `done`
 * resolves to `{ code, signal, out (the parsed JSON line or null), stdout, stderr }`.
 */
function worker(args) {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      let out = null;
      try {
        out = JSON.parse(stdout.trim().split('\n').pop());
      } catch {
        out = null;
      }
      resolve({ code, signal, out, stdout, stderr });
    });
  });
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, done, stderr: () => stderr };
}

/** Worker arguments per the fleet worker contract. */
function workerArgs({ base, redis, cluster, name, first, count, inFlight, leaseTtlMs, timeoutMs, profile, startAt }) {
  const a = ['--base-url', base, '--name', name, '--seal-key', SEAL_HEX, '--first', String(first), '--count', String(count), '--in-flight', String(inFlight)];
  if (cluster) a.push('--cluster', cluster);
  else a.push('--redis', redis);
  if (leaseTtlMs !== undefined) a.push('--lease-ttl-ms', String(leaseTtlMs));
  if (timeoutMs !== undefined) a.push('--timeout-ms', String(timeoutMs));
  if (profile !== undefined) a.push('--profile', JSON.stringify(profile));
  if (startAt !== undefined) a.push('--start-at', String(startAt));
  return a;
}

/** Runs `n` workers at once, each `count` boletos from `first + i * count`. */
async function fleet(n, opts) {
  const ws = Array.from({ length: n }, (_, i) => worker(workerArgs({ ...opts, first: opts.first + i * opts.count })));
  return Promise.all(ws.map((w) => w.done));
}

/** Sum of the workers' stats. */
function sumStats(results) {
  const t = { handshakes: 0, renewals: 0, adopted: 0, lease_waits: 0, lease_steals: 0, store_errors: 0 };
  for (const r of results) for (const k of Object.keys(t)) t[k] += r.out ? r.out.stats[k] : 0;
  return t;
}

/** Every key and its value (strings), SCAN over one node. */
async function dump(client) {
  const out = new Map();
  for await (const keys of client.scanIterator({ COUNT: 100 })) {
    for (const k of Array.isArray(keys) ? keys : [keys]) {
      const type = await client.type(k);
      out.set(k, type === 'string' ? await client.get(k) : `<${type}>`);
    }
  }
  return out;
}

/** Every encoding a secret could be stored in. */
function encodings(b64) {
  const raw = Buffer.from(b64, 'base64');
  const forms = [b64, raw.toString('base64'), raw.toString('base64url'), raw.toString('hex'), raw.toString('hex').toUpperCase(), raw.toString('latin1')];
  return forms.filter((f) => f.length >= 8);
}

module.exports = {
  SEAL_HEX, redisModule, sleep, startRedis, startCluster, connect, connectCluster, sim, simState, simFault, controlBase,
  worker, workerArgs, fleet, sumStats, dump, encodings, freePort,
};

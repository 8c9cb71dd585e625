// Fleet benchmark (not a test): registrations/s for 1, 2, 4, 8 worker
// processes (test/fleet_worker.cjs, one SafraClient each, sharing one
// session through Redis) × 1, 4, 16, 64 calls in flight per worker,
// against `selo sim safra` with 100 ms latency per call, beside the
// serialised baseline (one process, one call at a time: what a client that
// serialises its operations does).
//
//   node bench/fleet.mjs            (SELO_BIN: the CLI; redis-server on PATH)
//   SELO_BENCH_WORKERS=1,8 SELO_BENCH_IN_FLIGHT=1,64 node bench/fleet.mjs
//
// Each cell registers max(4 × in-flight, 8) boletos per worker after a
// warm-up run made the handshake, so the numbers are steady-state
// throughput; process start-up (≈ 0.3 s) is included in each cell.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const worker = path.join(here, '..', 'test', 'fleet_worker.cjs');
const bin = process.env.SELO_BIN || path.join(here, '..', '..', 'target', 'selo-release', 'bin', 'selo');
const list = (v, d) => (v ? v.split(',').map(Number) : d);
const WORKERS = list(process.env.SELO_BENCH_WORKERS, [1, 2, 4, 8]);
const IN_FLIGHT = list(process.env.SELO_BENCH_IN_FLIGHT, [1, 4, 16, 64]);
const LATENCY = Number(process.env.SELO_BENCH_LATENCY_MS || 100);

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

const port = await freePort();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'selo-bench-'));
children.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }));
for (let i = 0; spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) {
  if (i > 100) throw new Error('redis-server did not start');
  await new Promise((r) => setTimeout(r, 50));
}
const sim = spawn(bin, ['sim', 'safra', '--port', '0', '--bank-key-bits', '1024'], { stdio: ['ignore', 'pipe', 'ignore'] });
children.push(sim);
const first = await new Promise((resolve) => readline.createInterface({ input: sim.stdout }).once('line', resolve));
const base = /listening on (\S+)/.exec(first)[1].replace(/\/$/, '');
await fetch(`${base}/_control/fault`, { method: 'POST', body: JSON.stringify({ fault: 'latency', ms: LATENCY }) });

let next = 1_000_000;
function run(workers, inFlight, count) {
  const t0 = Date.now();
  const ps = Array.from({ length: workers }, () => {
    const args = [worker, '--base-url', base, '--redis', `redis://127.0.0.1:${port}`, '--name', 'bench', '--seal-key', '42'.repeat(32),
      '--first', String(next), '--count', String(count), '--in-flight', String(inFlight)];
    next += count;
    return new Promise((resolve) => {
      const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('close', (code) => resolve({ code, out }));
    });
  });
  return Promise.all(ps).then((rs) => {
    const s = (Date.now() - t0) / 1000;
    const ok = rs.reduce((n, r) => n + (JSON.parse(r.out || '{"registered":0}').registered || 0), 0);
    return { ok, s, rate: ok / s };
  });
}

await run(1, 1, 1); // the handshake, once for the fleet
console.log(`# fleet benchmark: ${LATENCY} ms per bank call, Node ${process.versions.node}, ${os.cpus().length} cores`);
console.log('| workers | in flight each | boletos | seconds | registrations/s |');
console.log('|---:|---:|---:|---:|---:|');
for (const w of WORKERS) {
  for (const f of IN_FLIGHT) {
    const count = Math.max(4 * f, 8);
    const r = await run(w, f, count);
    const label = w === 1 && f === 1 ? ' (serialised baseline)' : '';
    console.log(`| ${w} | ${f}${label} | ${r.ok} | ${r.s.toFixed(2)} | ${r.rate.toFixed(1)} |`);
  }
}
const state = await (await fetch(`${base}/_control/state`)).json();
console.log(`\nsim: ${JSON.stringify(state.counts)}; duplicates ${state.protocol.duplicates}`);
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);

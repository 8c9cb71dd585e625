#!/usr/bin/env node
'use strict';
// One instance of a Safra fleet (SPEC §5), for fleet tests in any language:
//
//   node js/test/fleet_worker.cjs --base-url URL (--redis redis://127.0.0.1:P |
//     --cluster host:port[,host:port...]) --name FLEET --seal-key HEX64
//     --first N --count K --in-flight F [--cliente CLIENTE01]
//     [--lease-ttl-ms MS] [--timeout-ms MS] [--profile JSON] [--start-at EPOCH_MS]
//
// registers boletos nossoNumero N..N+K-1 (tests/vectors/safra/boleto-sample.json,
// seuNumero "S<n>"), F at a time (from --start-at, Unix ms, when given: the
// process is ready by then), through a SafraClient shared with the
// fleet by RedisSafraShare, and prints ONE JSON line on stdout:
//   {"lang":"node","registered":K,"errors":[codes],"stats":{"handshakes":..,
//    "renewals":..,"adopted":..,"lease_waits":..,"lease_steals":..,"store_errors":..}}
// Exit status 0 iff every boleto was registered. On stderr, one line
// "fleet-worker <pid> lease held" / "... lease released" each time this
// instance takes or gives up the fleet's lease (chaos tests read it).
//
// The package: $SELO_UNDER_TEST (the installed tarball, scripts/test-js) or
// this working tree; `redis` (node-redis) from js/node_modules.
const fs = require('node:fs');
const path = require('node:path');

const pkg = process.env.SELO_UNDER_TEST || path.join(__dirname, '..');
const selo = require(process.env.SELO_UNDER_TEST || path.join(__dirname, '..', 'index.cjs'));
const { RedisSafraShare } = require(path.join(pkg, 'lib', 'redis.cjs'));
const { createClient, createCluster } = require('redis');

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${a}: missing value`);
    o[a.slice(2)] = v;
    i++;
  }
  for (const k of ['base-url', 'name', 'seal-key', 'first', 'count', 'in-flight']) {
    if (o[k] === undefined) throw new Error(`--${k} is required`);
  }
  if ((o.redis === undefined) === (o.cluster === undefined)) throw new Error('exactly one of --redis and --cluster');
  if (!/^[0-9a-fA-F]{64}$/.test(o['seal-key'])) throw new Error('--seal-key: expected 64 hex characters');
  return o;
}

function boletoFor(sample, n) {
  const b = structuredClone(sample);
  b.documento.nossoNumero = n;
  b.documento.seuNumero = `S${n}`;
  return b;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const first = Number(o.first);
  const count = Number(o.count);
  const inFlight = Math.max(1, Number(o['in-flight']));
  const timeoutMs = o['timeout-ms'] !== undefined ? Number(o['timeout-ms']) : 30_000;
  const sample = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'vectors', 'safra', 'boleto-sample.json'), 'utf8'));

  const socket = { connectTimeout: 2_000, reconnectStrategy: (n) => Math.min(50 * (n + 1), 500) };
  const redis =
    o.cluster !== undefined
      ? createCluster({
          rootNodes: o.cluster.split(',').map((hp) => ({ url: `redis://${hp}` })),
          defaults: { socket, disableOfflineQueue: true },
        })
      : createClient({ url: o.redis, socket, disableOfflineQueue: true });
  redis.on('error', () => {
    /* counted by the share when a call fails */
  });
  await redis.connect();

  const shared = new RedisSafraShare(redis, {
    name: o.name,
    sealKey: Buffer.from(o['seal-key'], 'hex'),
    leaseTtlMs: o['lease-ttl-ms'] !== undefined ? Number(o['lease-ttl-ms']) : undefined,
    timeoutMs: Math.min(timeoutMs || 5_000, 5_000),
  });
  const client = new selo.SafraClient({
    cliente: o.cliente || 'CLIENTE01',
    baseUrl: o['base-url'],
    profile: o.profile !== undefined ? JSON.parse(o.profile) : undefined,
    timeoutMs,
    shared,
    // SELO_FLEET_LOG=1: one stderr line per step (debugging a fleet).
    onEvent: process.env.SELO_FLEET_LOG
      ? (e) => process.stderr.write(`fleet-worker ${process.pid} ${Date.now()} ${e.type} ${e.url ? e.url.split('/').pop() : ''} ${e.status ?? ''} ${e.action ?? ''} ${e.error ? e.error.code || e.error.message : ''} lease=${shared.holdsLease}\n`)
      : undefined,
  });

  // Tell a watcher when this instance holds the fleet's lease.
  let held = false;
  const watch = setInterval(() => {
    if (shared.holdsLease !== held) {
      held = shared.holdsLease;
      process.stderr.write(`fleet-worker ${process.pid} lease ${held ? 'held' : 'released'}\n`);
    }
  }, 5);

  if (o['start-at'] !== undefined) {
    const wait = Number(o['start-at']) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  let registered = 0;
  const errors = [];
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const n = first + next++;
      try {
        const r = await client.registerBoleto(boletoFor(sample, n));
        if (r.ok) registered++;
        else errors.push('safra.business_error'); // HTTP 550: the bank refused the boleto
      } catch (e) {
        errors.push((e && e.code) || (e && e.name) || 'error');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, lane));
  clearInterval(watch);
  const s = shared.stats();
  process.stdout.write(
    `${JSON.stringify({
      lang: 'node',
      registered,
      errors,
      stats: {
        handshakes: s.handshakes,
        renewals: s.renewals,
        adopted: s.adopted,
        lease_waits: s.leaseWaits,
        lease_steals: s.leaseSteals,
        store_errors: s.storeErrors,
      },
    })}\n`,
  );
  // Gives the fleet's lease back (if held) before the Redis client goes.
  await client.close();
  try {
    await redis.quit();
  } catch {
    /* already gone */
  }
  process.exitCode = registered === count ? 0 : 1;
}

main().catch((e) => {
  process.stderr.write(`fleet-worker: ${(e && e.stack) || e}\n`);
  process.exitCode = 2;
});

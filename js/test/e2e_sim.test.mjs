// SafraClient over real HTTP against the Rust Safra simulator
// (`selo sim safra --port 0`), faults injected through its control endpoint.
// scripts/test-js builds the CLI and sets SELO_BIN; without a CLI these
// tests fail (sim.mjs), they never skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startSim, fault } from './sim.mjs';

const require = createRequire(import.meta.url);
const { selo, vectorText } = require('./helpers.cjs');
const boleto = JSON.parse(vectorText('safra/boleto-sample.json'));

for (const provider of ['node', 'rustcrypto']) {
  test(`SafraClient against selo sim safra: full flow, key expiry, 480, 550 (${provider})`, { timeout: 120_000 }, async () => {
    const { base } = await startSim([]);
    const events = [];
    const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: base, provider, onEvent: (e) => e.type === 'response' && events.push(`${e.url.split('/').pop()}:${e.status}`) });
    const reg = await client.registerBoleto(boleto);
    assert.equal(reg.ok, true, JSON.stringify(reg));
    assert.equal(reg.codigoBarras.length, 44);
    assert.deepEqual(events, ['psd001:200', 'psd001:200', 'psd005:200', 'psd050:200']);

    await fault(base, { fault: 'expire-key' });
    events.length = 0;
    const q = await client.queryBoleto({ nossoNumero: reg.nossoNumero, seuNumero: '0000004021' });
    assert.equal(q.ok, true);
    assert.deepEqual(events, ['psd052:500', 'psd001:200', 'psd001:200', 'psd005:200', 'psd052:200']);

    await fault(base, { fault: 'answer-480' });
    events.length = 0;
    assert.equal((await client.queryBoleto({ nossoNumero: reg.nossoNumero, seuNumero: '0000004021' })).ok, true);
    assert.equal(events[0], 'psd052:480');
    assert.equal(events.at(-1), 'psd052:200');

    await fault(base, { fault: 'answer-550' });
    const biz = await client.queryBoleto({ nossoNumero: reg.nossoNumero, seuNumero: '0000004021' });
    assert.equal(biz.ok, false);
    assert.equal(biz.statusProcessamento.codigo, 99);

    const renewed = await client.renew();
    assert.equal(renewed.type, 'renewed');
  });
}

test('a dropped reply is reported to the session: psd052 may be resent, so it is retried', { timeout: 60_000 }, async () => {
  const { base } = await startSim([]);
  const events = [];
  const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: base, onEvent: (e) => events.push(e) });
  await client.authenticate();
  await fault(base, { fault: 'drop', count: 1 });
  events.length = 0;
  const r = await client.queryBoleto({ nossoNumero: '1', seuNumero: 'x' });
  assert.equal(r.ok, false); // unknown boleto: 550 from the bank, typed
  assert.deepEqual(
    events.map((e) => `${e.type}:${e.url.split('/').pop()}`),
    ['request:psd052', 'transport-error:psd052', 'request:psd052', 'response:psd052'],
  );
  // Exactly what a lost reply is over the global fetch: undici's "fetch
  // failed" TypeError whose cause is the closed socket, reported as "reset".
  const lost = events[1];
  assert.equal(lost.error.name, 'TypeError');
  assert.equal(lost.error.message, 'fetch failed');
  const code = lost.error.cause && lost.error.cause.code;
  assert.ok(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'].includes(code), `cause: ${lost.error.cause && lost.error.cause.message} (${code})`);
  assert.equal(lost.failure, 'reset');
  assert.equal(lost.action, 'retry');
  assert.equal(events[3].status, 550);
});

/** The Safra part of the simulator's state (`boletos`, `psd050_counts`, `duplicates`). */
async function simState(base) {
  return (await (await fetch(`${base}/_control/state`)).json()).protocol;
}

for (const f of ['store-then-502', 'store-then-drop']) {
  test(`${f}: the boleto stored but its reply lost → reconciled by psd052, psd050 processed once`, { timeout: 60_000 }, async () => {
    const { base } = await startSim([]);
    const log = [];
    const client = new selo.SafraClient({
      cliente: 'CLIENTE01',
      baseUrl: base,
      onEvent: (e) => e.type !== 'request' && log.push(`${e.url.split('/').pop()}:${e.type === 'response' ? e.status : e.failure}:${e.action}`),
    });
    await client.authenticate();
    await fault(base, { fault: f });
    log.length = 0;
    const reg = await client.registerBoleto(boleto);
    assert.equal(reg.ok, true, JSON.stringify(reg));
    assert.equal(reg.reconciled, true);
    assert.equal(reg.nossoNumero, '000000123456789');
    assert.deepEqual(log, [f === 'store-then-502' ? 'psd050:502:reconcile' : 'psd050:reset:reconcile', 'psd052:200:null']);
    const st = await simState(base);
    assert.deepEqual(st.psd050_counts, { '000000123456789': 1 });
    assert.equal(st.duplicates, 0);
  });
}

test('stall on psd050 past the client timeout → reconcile → not found → psd050 sent once more', { timeout: 60_000 }, async () => {
  const { base } = await startSim([]);
  const log = [];
  const client = new selo.SafraClient({
    cliente: 'CLIENTE01',
    baseUrl: base,
    timeoutMs: 300,
    onEvent: (e) => e.type !== 'request' && log.push(`${e.url.split('/').pop()}:${e.type === 'response' ? e.status : e.failure}:${e.action}`),
  });
  await client.authenticate();
  await fault(base, { fault: 'stall', ms: 1500, service: 'psd050' });
  log.length = 0;
  const reg = await client.registerBoleto(boleto);
  assert.equal(reg.ok, true, JSON.stringify(reg));
  assert.equal(reg.reconciled, false);
  assert.deepEqual(log, ['psd050:timeout:reconcile', 'psd052:550:retry', 'psd050:200:null']);
  const st = await simState(base);
  assert.deepEqual(st.psd050_counts, { '000000123456789': 1 });
});

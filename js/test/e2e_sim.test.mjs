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

test('a dropped reply surfaces as a transport error; the next call recovers', { timeout: 60_000 }, async () => {
  const { base } = await startSim([]);
  const events = [];
  const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: base, onEvent: (e) => events.push(e) });
  await client.authenticate();
  await fault(base, { fault: 'drop', count: 1 });
  events.length = 0;
  // Exactly what a lost reply is over the global fetch: undici's "fetch
  // failed" TypeError whose cause is the closed socket — not a protocol
  // error (SeloError), and not any other TypeError (a bug would fail here).
  await assert.rejects(client.queryBoleto({ nossoNumero: '1', seuNumero: 'x' }), (e) => {
    assert.ok(!(e instanceof selo.SeloError), `a transport failure, not a protocol error: ${e}`);
    assert.equal(e.name, 'TypeError');
    assert.equal(e.message, 'fetch failed');
    const code = e.cause && e.cause.code;
    assert.ok(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'].includes(code), `cause: ${e.cause && e.cause.message} (${code})`);
    return true;
  });
  assert.deepEqual(events.map((e) => `${e.type}:${e.url.split('/').pop()}`), ['request:psd052', 'transport-error:psd052']);
  assert.equal(events[1].error.message, 'fetch failed');
  const r = await client.queryBoleto({ nossoNumero: '1', seuNumero: 'x' });
  assert.equal(r.ok, false); // unknown boleto: 550 from the bank, typed
});

// SafraClient over real HTTP against the Rust Safra simulator
// (`selo sim safra --port 0`), faults injected through its control endpoint.
// scripts/test-js builds the CLI and sets SELO_BIN; run alone without it,
// these tests are skipped (say so loudly).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { bin, startSim, fault } from './sim.mjs';

const require = createRequire(import.meta.url);
const { selo, vectorText } = require('./helpers.cjs');
const skip = bin ? false : 'SELO_BIN is not set (scripts/test-js sets it to the built selo CLI)';
const boleto = JSON.parse(vectorText('safra/boleto-sample.json'));

for (const provider of ['node', 'rustcrypto']) {
  test(`SafraClient against selo sim safra: full flow, key expiry, 480, 550 (${provider})`, { skip, timeout: 120_000 }, async () => {
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

test('a dropped reply surfaces as a transport error; the next call recovers', { skip, timeout: 60_000 }, async () => {
  const { base } = await startSim([]);
  const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: base });
  await client.authenticate();
  await fault(base, { fault: 'drop', count: 1 });
  await assert.rejects(client.queryBoleto({ nossoNumero: '1', seuNumero: 'x' }), (e) => !(e instanceof selo.SeloError));
  const r = await client.queryBoleto({ nossoNumero: '1', seuNumero: 'x' });
  assert.equal(r.ok, false); // unknown boleto: 550 from the bank, typed
});

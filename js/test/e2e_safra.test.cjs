'use strict';
// SafraClient end to end against the core's bank role, exposed through the
// binding and plugged in as a fake `fetch`; faults injected by the bank.
const { test } = require('node:test');
const { selo, vector, vectorText, seed, rejectsCode, assert } = require('./helpers.cjs');

const gen = vector('safra/generated.json');
const boleto = JSON.parse(vectorText('safra/boleto-sample.json'));

/** A fake fetch over a SafraBank, recording paths and statuses. */
function bankFetch(bank, clock, log) {
  return async (url, init) => {
    const path = new URL(url).pathname;
    const r = bank.handle(path, init.headers, init.body, clock.now);
    log.push({ path, status: r.status });
    return new Response(r.body.length ? r.body : null, { status: r.status, headers: r.headers });
  };
}

function setup({ profile, provider, lifetime = 600 } = {}) {
  const clock = { now: 1_800_000_000 };
  const log = [];
  const bank = new selo.SafraBank({ bankKey: gen.bank_private_pkcs8_pem, profile, tokenLifetime: lifetime, seed: seed(9) });
  const client = new selo.SafraClient({
    cliente: 'CLIENTE01',
    baseUrl: 'http://bank.test/psd',
    profile,
    provider,
    clientKey: gen.client_private_pkcs8_pem,
    fetch: bankFetch(bank, clock, log),
    now: () => clock.now,
  });
  return { clock, log, bank, client };
}

for (const provider of ['node', 'rustcrypto']) {
  test(`whole psd flow over fetch: handshake, auth, register, query (${provider})`, async () => {
    const { log, bank, client } = setup({ provider });
    const reg = await client.registerBoleto(boleto);
    assert.equal(reg.ok, true);
    assert.equal(reg.codigoBarras.length, 44);
    assert.equal(reg.nossoNumero, '000000123456789');
    assert.equal(reg.statusProcessamento.codigo, 0);
    assert.deepEqual(log.map((l) => l.path.split('/').pop()), ['psd001', 'psd001', 'psd005', 'psd050']);
    const q = await client.queryBoleto({ nossoNumero: reg.nossoNumero, seuNumero: '0000004021' });
    assert.equal(q.ok, true);
    assert.equal(q.registradoCip, 'S');
    assert.equal(bank.boletos().length, 1);
    assert.equal(client.session.state, 'authenticated');
    assert.equal(bank.sessionKeyB64(client.session.sessionId), client.session.sessionKeyB64());
  });
}

test('renewal when due, re-authentication when expired', async () => {
  const { clock, log, client } = setup({ lifetime: 600 });
  const a = await client.authenticate();
  assert.equal(a.type, 'authenticated');
  assert.equal(a.token.renewAt, clock.now + 540);
  clock.now += 545; // past renewAt, before expiresAt
  log.length = 0;
  await client.queryBoleto({ nossoNumero: '1', seuNumero: 'x' });
  assert.deepEqual(log.map((l) => l.path.split('/').pop()), ['psd007', 'psd052']);
  // Token long expired (its lifetime is 600 s) but the bank's session still
  // alive (it expires after an hour idle): psd005 again.
  clock.now += 2_000;
  log.length = 0;
  await client.queryBoleto({ nossoNumero: '1', seuNumero: 'x' });
  assert.deepEqual(log.map((l) => l.path.split('/').pop()), ['psd005', 'psd052']);
});

test('injected key expiry (500 + amc-criptografia: erro) re-handshakes with a new session GUID', async () => {
  const { log, bank, client } = setup();
  await client.authenticate();
  const before = client.session.sessionId;
  bank.inject('expire-key');
  log.length = 0;
  const reg = await client.registerBoleto(boleto);
  assert.equal(reg.ok, true);
  assert.deepEqual(log.map((l) => `${l.path.split('/').pop()}:${l.status}`), ['psd050:500', 'psd001:200', 'psd001:200', 'psd005:200', 'psd050:200']);
  assert.notEqual(client.session.sessionId, before);
});

test('injected 480 re-initialises by default and re-authenticates with on480 = reauth', async () => {
  let { log, bank, client } = setup();
  await client.authenticate();
  bank.inject('answer-480');
  log.length = 0;
  await client.queryBoleto({ nossoNumero: '1', seuNumero: 'x' });
  assert.deepEqual(log.map((l) => `${l.path.split('/').pop()}:${l.status}`), ['psd052:480', 'psd001:200', 'psd001:200', 'psd005:200', 'psd052:550']);
  ({ log, bank, client } = setup({ profile: { on480: 'reauth' } }));
  await client.authenticate();
  bank.inject('answer-480');
  log.length = 0;
  const q = await client.queryBoleto({ nossoNumero: '1', seuNumero: 'x' });
  assert.equal(q.ok, false);
  assert.equal(q.statusProcessamento.codigo, 3);
  assert.deepEqual(log.map((l) => `${l.path.split('/').pop()}:${l.status}`), ['psd052:480', 'psd005:200', 'psd052:550']);
});

test('550 is a typed business result; duplicate registration is refused by the bank', async () => {
  const { bank, client } = setup();
  assert.equal((await client.registerBoleto(boleto)).ok, true);
  const dup = await client.registerBoleto(boleto);
  assert.equal(dup.ok, false);
  assert.equal(dup.statusProcessamento.codigo, 2);
  bank.inject('answer-550');
  const r = await client.queryBoleto({ nossoNumero: '000000123456789', seuNumero: '0000004021' });
  assert.equal(r.ok, false);
  assert.equal(r.statusProcessamento.codigo, 99);
});

test('too many recoveries end in safra.session.too_many_recoveries', async () => {
  const { bank, client } = setup({ profile: { maxRecoveries: 1 } });
  await client.authenticate();
  for (let i = 0; i < 5; i++) bank.inject('expire-key');
  await rejectsCode(client.registerBoleto(boleto), 'safra.session.too_many_recoveries');
});

test('invalid boleto is refused before anything is sent', async () => {
  const { log, client } = setup();
  await client.authenticate();
  log.length = 0;
  await rejectsCode(client.registerBoleto({ ...boleto, documento: { ...boleto.documento, especie: '99' } }), 'safra.boleto.invalid_value');
  assert.equal(log.length, 0);
});

test('export/import continues a session in another instance', async () => {
  const { clock, log, bank, client } = setup();
  await client.authenticate();
  const blob = client.session.export();
  const restored = selo.SafraSession.import(blob, {});
  assert.equal(restored.state, 'authenticated');
  const other = new selo.SafraClient({ cliente: 'CLIENTE01', session: restored, fetch: bankFetch(bank, clock, log), now: () => clock.now });
  log.length = 0;
  assert.equal((await other.registerBoleto(boleto)).ok, true);
  assert.deepEqual(log.map((l) => l.path.split('/').pop()), ['psd050']);
});

test('concurrent calls on one client are serialised', async () => {
  const { client } = setup();
  const results = await Promise.all([
    client.registerBoleto(boleto),
    client.queryBoleto({ nossoNumero: '000000123456789', seuNumero: '0000004021' }),
    client.renew(),
  ]);
  assert.equal(results[0].ok, true);
  assert.equal(results[1].ok, true);
  assert.equal(results[2].type, 'renewed');
});

test('a bank answering garbage yields SeloErrors, never a crash', async () => {
  const bad = [
    { status: 200, body: 'not json' },
    { status: 200, body: '{"jwk":"x"}' },
    { status: 404, body: '' },
  ];
  for (const b of bad) {
    const client = new selo.SafraClient({ cliente: 'C', baseUrl: 'http://x/psd', fetch: async () => new Response(b.body, { status: b.status }) });
    await assert.rejects(client.authenticate(), (e) => e instanceof selo.SeloError && selo.allCodes().includes(e.code));
  }
  let n = 0;
  const afterHandshake = async (url, init) => {
    n++;
    return new Response('{"data":"a.b.c"}', { status: 200 });
  };
  const c2 = new selo.SafraClient({ cliente: 'C', baseUrl: 'http://x/psd', fetch: afterHandshake });
  await assert.rejects(c2.handshake(), selo.SeloError);
  assert.ok(n >= 1);
});

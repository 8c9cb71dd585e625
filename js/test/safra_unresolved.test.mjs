// Issue 19 through SafraClient against the Rust simulator (`selo sim safra`):
// the promise to reconcile an ambiguous psd050 is session state (it
// survives failed reconciliations, other operations and export/import, and
// the boleto is registered exactly once), and the bank key is pinned
// (profile `bankKeyPins`: a wrong pin stops the handshake after stage 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startSim, fault, simState } from './sim.mjs';

const require = createRequire(import.meta.url);
const { selo, vectorText, VECTORS } = require('./helpers.cjs');
const sample = JSON.parse(vectorText('safra/boleto-sample.json'));
const BANK_KEY = path.join(VECTORS, 'external', 'keys', 'rsa1024-bank.pem');

function boletoFor(nosso) {
  const b = structuredClone(sample);
  b.documento.nossoNumero = nosso;
  b.documento.seuNumero = String(nosso).slice(-10).padStart(10, '0');
  return b;
}

/** `service:status|failure` of every reply or transport failure the client saw. */
function recorder() {
  const log = [];
  const onEvent = (e) => {
    if (e.type === 'response') log.push(`${e.url.split('/').pop()}:${e.status}`);
    else if (e.type === 'transport-error') log.push(`${e.url.split('/').pop()}:${e.failure}`);
  };
  return { log, onEvent };
}

const isOutcomeUnknown = (nosso) => (e) => {
  assert.ok(e instanceof selo.SeloError, `expected a SeloError, got ${e && e.name}: ${e && e.message}`);
  assert.equal(e.code, 'safra.boleto.outcome_unknown', e.message);
  assert.match(e.message, new RegExp(`\\b${nosso}\\b`), 'the error names the boleto');
  return true;
};

test('forgotten promise: store-then-502 and 2 failing psd052 → 2 × outcome_unknown (across another operation and an export/import), then the same register reconciles; psd050 processed once', { timeout: 60_000 }, async () => {
  const N = 2;
  const NOSSO = 123_456_789;
  const KEY = '000000123456789'; // the simulator's nossoNumero (15 digits)
  const { base } = await startSim([]);
  const rec = recorder();
  const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: base, onEvent: rec.onEvent });
  await client.authenticate();
  assert.deepEqual(client.unresolvedRegistrations(), []);

  // psd050 is stored by the bank but its reply is a 502; each of the next
  // N psd052 queries (the reconciliations) is answered a plain 500.
  await fault(base, [{ fault: 'store-then-502' }, ...Array.from({ length: N }, () => ({ fault: '500-plain', service: 'psd052' }))]);
  rec.log.length = 0;
  await assert.rejects(client.registerBoleto(boletoFor(NOSSO)), isOutcomeUnknown(NOSSO));
  assert.deepEqual(rec.log, ['psd050:502', 'psd052:500'], 'psd050 once, then the reconciling psd052 (which failed)');
  const unresolved = client.unresolvedRegistrations();
  assert.equal(unresolved.length, 1);
  assert.equal(unresolved[0].nossoNumero, String(NOSSO));
  assert.equal(unresolved[0].seuNumero, boletoFor(NOSSO).documento.seuNumero);
  assert.ok(Number.isFinite(unresolved[0].since) && unresolved[0].since > 1_600_000_000, `since: ${unresolved[0].since}`);
  assert.deepEqual(client.session.unresolvedRegistrations(), unresolved);

  // Other operations in between: another boleto registered, the token renewed.
  rec.log.length = 0;
  const other = await client.registerBoleto(boletoFor(NOSSO + 1));
  assert.equal(other.ok, true, JSON.stringify(other));
  assert.equal(other.reconciled, false);
  assert.equal((await client.renew()).type, 'renewed');
  assert.deepEqual(rec.log, ['psd050:200', 'psd007:200']);
  assert.deepEqual(client.unresolvedRegistrations(), unresolved, 'the promise outlives other operations');

  // Another process: the exported session carries the promise.
  const bytes = client.session.export();
  const imported = selo.SafraSession.import(bytes);
  assert.deepEqual(imported.unresolvedRegistrations(), unresolved);
  const rec2 = recorder();
  const client2 = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: base, session: imported, onEvent: rec2.onEvent });

  // The same boleto again, as a caller would: psd052 first (never psd050),
  // which fails N - 1 more times, then finds it.
  for (let i = 1; i < N; i++) {
    rec2.log.length = 0;
    await assert.rejects(client2.registerBoleto(boletoFor(NOSSO)), isOutcomeUnknown(NOSSO));
    assert.deepEqual(rec2.log, ['psd052:500'], `attempt ${i + 1}: psd052 first, psd050 not sent`);
    assert.deepEqual(client2.unresolvedRegistrations(), unresolved);
  }
  rec2.log.length = 0;
  const done = await client2.registerBoleto(boletoFor(NOSSO));
  assert.equal(done.ok, true, JSON.stringify(done));
  assert.equal(done.reconciled, true);
  assert.equal(done.nossoNumero, KEY);
  assert.deepEqual(rec2.log, ['psd052:200'], 'reconciled by the query alone');
  assert.deepEqual(client2.unresolvedRegistrations(), []);

  const st = (await simState(base)).protocol;
  assert.equal(st.psd050_counts[KEY], 1, `psd050 counts: ${JSON.stringify(st.psd050_counts)}`);
  assert.equal(st.duplicates, 0);
  assert.ok(st.boletos.some((b) => b.nossoNumero === KEY), 'the boleto is on the bank');
});

test('resolveRegistration forgets an unresolved boleto: the next register sends psd050 directly', { timeout: 60_000 }, async () => {
  const NOSSO = 223_456_789;
  const { base } = await startSim([]);
  const rec = recorder();
  const client = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: base, onEvent: rec.onEvent });
  await client.authenticate();
  await fault(base, [{ fault: 'store-then-drop' }, { fault: '500-plain', service: 'psd052' }]);
  await assert.rejects(client.registerBoleto(boletoFor(NOSSO)), isOutcomeUnknown(NOSSO));
  assert.deepEqual(client.unresolvedRegistrations().map((u) => u.nossoNumero), [String(NOSSO)]);
  assert.equal(client.resolveRegistration(String(NOSSO + 7)), false, 'not unresolved: nothing forgotten');
  assert.equal(client.resolveRegistration(NOSSO), true);
  assert.deepEqual(client.unresolvedRegistrations(), []);
  assert.equal(client.resolveRegistration(NOSSO), false);
  // Forgotten on purpose: psd050 goes out again and the bank refuses the
  // duplicate itself (its 550), which is what resolving skips checking.
  rec.log.length = 0;
  const again = await client.registerBoleto(boletoFor(NOSSO));
  assert.equal(rec.log[0], 'psd050:550', rec.log.join(' '));
  assert.equal(again.ok, false);
});

/** RFC 7469 pin of a PEM key, computed with node:crypto (not selo). */
function pinOf(pem) {
  const spki = crypto.createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(spki).digest('base64url');
}

test('bank-key pinning: the simulator key pinned works; a wrong pin refuses at stage 1 and nothing more reaches the bank', { timeout: 60_000 }, async () => {
  const pin = pinOf(fs.readFileSync(BANK_KEY, 'utf8'));
  const { base, pin: printed } = await startSim(['--bank-key', BANK_KEY]);
  assert.equal(printed, pin, 'the pin the simulator prints is the SHA-256 of the key\'s SPKI DER');
  const before = await simState(base);
  assert.equal(before.protocol.bank_key_pin, pin);

  // Pinned (with another pin beside it, and in standard base64 form): works.
  const stdForm = Buffer.from(pin, 'base64url').toString('base64');
  const wrong = crypto.createHash('sha256').update('another key').digest('base64url');
  for (const pins of [[pin], [wrong, stdForm]]) {
    const ok = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: base, profile: { bankKeyPins: pins } });
    assert.equal((await ok.authenticate()).type, 'authenticated', JSON.stringify(pins));
  }

  // A wrong pin: stage 1 only, then the typed refusal.
  const sent = [];
  const refused = new selo.SafraClient({
    cliente: 'CLIENTE01', baseUrl: base, profile: { bankKeyPins: [wrong] },
    onEvent: (e) => e.type === 'request' && sent.push(e.url.split('/').pop()),
  });
  const a = await simState(base);
  await assert.rejects(refused.registerBoleto(boletoFor(323_456_789)), (e) => {
    assert.ok(e instanceof selo.SeloError, `${e && e.name}: ${e && e.message}`);
    assert.equal(e.code, 'safra.handshake.bank_key_not_pinned', e.message);
    return true;
  });
  const b = await simState(base);
  assert.deepEqual(sent, ['psd001'], 'only stage 1 was sent');
  // Between the two state reads: the first state read itself and stage 1.
  assert.equal(b.requests - a.requests, 2, `requests seen by the simulator: ${a.requests} → ${b.requests}`);
  assert.notEqual(refused.session.state, 'authenticated');
  assert.deepEqual(b.protocol.psd050_counts, {});
  // The refusal is not a wedge of the simulator: a pinned client still works.
  const after = new selo.SafraClient({ cliente: 'CLIENTE01', baseUrl: base, profile: { bankKeyPins: [pin] } });
  assert.equal((await after.authenticate()).type, 'authenticated');
});

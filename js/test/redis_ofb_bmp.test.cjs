'use strict';
// OFB replay entries and BMP pending transactions on Redis (SPEC §5,
// docs/shared-state.md §2): a token accepted by one instance is a replay at
// another; Redis down answers 503 (fail closed); a BMP confirmation that
// reaches another instance finds the transaction that one sent.
const { test } = require('node:test');
const fs = require('node:fs');
const path = require('node:path');
const { selo, seed, assert, rejectsCode } = require('./helpers.cjs');
const h = require('./redis_helpers.cjs');

const { RedisJtiStore, RedisBmpPending } = h.redisModule;

const pem = fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'vectors', 'external', 'keys', 'rsa2048-ofb.pem'), 'utf8');
const ofbKey = selo.RsaPrivateKey.import(pem);
const AUD = 'https://rs.example/open-banking/payments/v4/consents';
const ISS = 'c0ffee00-0000-4000-8000-000000000001';
const jwks = { keys: [{ ...ofbKey.publicKey().toJwk('k1'), alg: 'PS256', use: 'sig' }] };
const signer = new selo.OfbSigner({ key: ofbKey, kid: 'k1', iss: ISS });
const expected = { aud: AUD, iss: ISS, clientId: 'c1' };

function verifierOn(client, errors) {
  return new selo.OfbRequestVerifier({ jwks, cache: new RedisJtiStore(client, { timeoutMs: 1_000 }), onStoreError: (e) => errors.push(e) });
}

const post = (token) => ({ method: 'POST', contentType: 'application/jwt', body: token });

test('OFB: a token accepted by instance A and replayed to instance B (another store on the same Redis) is refused 403; the key and TTL are the core\'s; Redis down answers 503', { timeout: 30_000 }, async () => {
  const server = await h.startRedis();
  const errors = [];
  const a = verifierOn(await h.connect(server.url), errors);
  const b = verifierOn(await h.connect(server.url), errors);
  const { token } = signer.sign({ data: { v: 1 } }, { aud: AUD });
  const first = await a.verify(post(token), expected);
  assert.equal(first.ok, true, JSON.stringify(first.error && first.error.code));
  const again = await b.verify(post(token), expected);
  assert.equal(again.ok, false);
  assert.equal(again.response.status, 403);
  assert.equal(again.error.code, 'ofb.replay.jti');
  // The entry: the core's key, value 1, TTL within the token's window.
  const probe = await h.connect(server.url);
  const keys = [...(await h.dump(probe)).entries()];
  assert.equal(keys.length, 1);
  const [key, value] = keys[0];
  const jti = JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).jti;
  assert.equal(key, `selo:ofb:jti:2:c1:${jti}`);
  assert.equal(value, '1');
  const ttl = await probe.ttl(key);
  assert.ok(ttl >= 1 && ttl <= 86_400, `ttl ${ttl}`);
  // A fresh token at B goes through.
  assert.equal((await b.verify(post(signer.sign({ data: {} }, { aud: AUD }).token), expected)).ok, true);
  assert.deepEqual(errors, []);
  // Redis down: fail closed with the core's 503.
  await server.stop();
  const down = await a.verify(post(signer.sign({ data: {} }, { aud: AUD }).token), expected);
  assert.equal(down.ok, false);
  assert.equal(down.response.status, 503);
  assert.equal(down.error.code, 'ofb.replay.store_failed');
  assert.ok(errors.length >= 1 && errors.every((e) => e.code === 'shared.store_unavailable'), errors.map((e) => e.code).join());
  assert.ok(!errors.some((e) => /selo:ofb/.test(e.message)), 'no key in the message');
});

const KEY = selo.bmpGenerateKey({ seed: seed(3) });
const conta = { agencia: '0001', agenciaDigito: '1', conta: '1234567', contaDigito: '8', tipoConta: 1, documentoFederal: '52998224725', nome: 'Titular Exemplo' };
const pix = { type: 'pix', dataTransacao: '2026-11-23T10:15:00', contaOrigem: conta, valor: '100.00', chavePix: 'fulano@example.com', tipoChave: 3 };

test('BMP: a confirmation reaching another instance finds the pending transaction (RedisBmpPending); changed or unknown ones are refused; Redis down fails closed', { timeout: 30_000 }, async () => {
  const server = await h.startRedis();
  const sender = new selo.BmpClient({ key: KEY, store: new RedisBmpPending(await h.connect(server.url)) });
  const other = new selo.BmpClient({ key: KEY, store: new RedisBmpPending(await h.connect(server.url)) });
  const signed = await sender.prepare(pix);
  const headers = { 'content-type': 'application/json', idempotencykey: signed.idempotencyKey };
  const ok = await other.confirm(headers, signed.body);
  assert.equal(ok.status, 200, JSON.stringify(ok.error));
  assert.equal(ok.confirmed, true);
  const changed = await other.confirm(headers, signed.bodyText.replace('fulano@', 'ciclano@'));
  assert.equal(changed.status, 409);
  // Stored under the core's key, the exact body, for 7 days.
  const probe = await h.connect(server.url);
  const key = selo.sharedBmpPendingKey(signed.idempotencyKey);
  assert.equal(key, `selo:bmp:pending:{${signed.idempotencyKey.length}:${signed.idempotencyKey}}`);
  assert.equal(await probe.get(key), signed.bodyText);
  const ttl = await probe.ttl(key);
  assert.ok(ttl > 604_700 && ttl <= 604_800, `ttl ${ttl}`);
  // A transaction never sent by any instance.
  const lone = new selo.BmpClient({ key: KEY });
  const unsent = await lone.prepare(pix);
  const unknown = await other.confirm({ ...headers, idempotencykey: unsent.idempotencyKey }, unsent.body);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.error.code, 'bmp.confirm.unknown_transaction');
  // Redis down: nothing is prepared (so nothing sent) that could not be recorded.
  await server.stop();
  await rejectsCode(sender.prepare(pix), 'shared.store_unavailable');
  await rejectsCode(other.confirm(headers, signed.body), 'shared.store_unavailable');
});

// OFB: shared vectors (external and our own), PS256 interop with the npm
// `jose` package both ways, the server helper's OFB error responses, the
// drivers over a fake fetch, and replay with sync and async caches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as jose from 'jose';

const require = createRequire(import.meta.url);
const { selo, vector, fromB64, throwsCode, seed } = require('./helpers.cjs');

const ext = vector('external/ofb/jws.json');
const own = vector('ofb/verify.json');
const signV = vector('ofb/sign.json');
const jwkV = vector('ofb/jwk.json');
const fs = require('node:fs');
const path = require('node:path');
const keyPem = (rel) => fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'tests', 'vectors', rel), 'utf8');
const pem = keyPem('external/keys/rsa2048-ofb.pem');

const STAGE = {
  ok: null, iat: /^ofb\.claims\.iat_/, aud: /^ofb\.claims\.aud$/, iss: /^ofb\.claims\.iss$/, jti: /^ofb\.claims\.jti$/,
  typ: /^ofb\.verify\.typ$/, kid: /^ofb\.verify\.kid_/, signature: /^ofb\.verify\.bad_signature$/, alg: /^ofb\.verify\.alg_not_allowed$/,
};

for (const provider of ['node', 'rustcrypto']) {
  test(`external jws vectors stop at the named stage (${provider})`, () => {
    const v = new selo.OfbVerifier({ jwks: ext.jwks, profile: { iatFutureSkew: ext.iat_future_skew, iatMaxAge: ext.iat_max_age }, provider });
    for (const c of ext.cases) {
      const run = () => v.verify(c.token, { aud: ext.expected_aud, iss: ext.expected_iss, now: ext.now });
      if (c.expect === 'ok') run();
      else assert.throws(run, (e) => e instanceof selo.SeloError && STAGE[c.expect].test(e.code), c.name);
    }
  });

  test(`own verify vectors: exact codes, statuses and error bodies (${provider})`, () => {
    for (const c of own.cases) {
      const v = new selo.OfbVerifier({ jwks: own.jwks, profile: c.profile, provider });
      const run = () => v.verify(c.token, { aud: own.expected_aud, iss: own.expected_iss, now: own.now });
      if (c.expect === 'ok') {
        run();
        continue;
      }
      throwsCode(run, c.expect, c.name);
      // The server helper answers with the code's status and OFB error body.
      const d = v.verifyRequest({ method: 'POST', contentType: 'application/jwt', body: c.token, now: own.now },
        { aud: own.expected_aud, iss: own.expected_iss, clientId: 'c1' }, new selo.JtiCache());
      assert.equal(d.ok, false);
      assert.equal(d.error.code, c.expect);
      assert.equal(d.response.status, d.error.httpStatus);
      const body = JSON.parse(Buffer.from(d.response.body).toString());
      assert.ok(Array.isArray(body.errors) && body.errors[0].code, c.name);
      if (c.status) assert.equal(d.response.status, c.status);
      if (c.error_code) assert.equal(body.errors[0].code, c.error_code);
    }
  });
}

test('own sign vectors: seeded RustCrypto signing reproduces the tokens', () => {
  const key = selo.RsaPrivateKey.import(keyPem(`${signV.key}`));
  for (const c of signV.cases) {
    const s = new selo.OfbSigner({ key, kid: c.params.kid, iss: c.params.iss, profile: c.profile, provider: 'rustcrypto', seed: fromB64(c.seed) });
    const out = s.sign(c.payload, { aud: c.params.aud, exp: c.params.exp ?? undefined, now: c.now });
    assert.equal(out.token, c.token, c.name);
    assert.equal(out.jti, c.jti);
    const p = selo.ofbPrepare(c.payload, { ...c.params, exp: c.params.exp ?? undefined, profile: c.profile, now: c.now, seed: fromB64(c.seed) });
    assert.equal(Buffer.from(p.signingInput).toString(), c.signing_input);
  }
});

test('own JWK vectors: PEM to JWK and RFC 7638 thumbprints', () => {
  for (const c of jwkV.cases) {
    const k = selo.RsaPrivateKey.import(keyPem(c.pem));
    const j = k.toJwk();
    for (const [m, v] of Object.entries(c.private_jwk)) assert.equal(j[m], v, `${c.pem} ${m}`);
    if (c.thumbprint) assert.equal(k.publicKey().thumbprint(), c.thumbprint);
    if (c.thumbprint) assert.equal(selo.jwkThumbprint(c.private_jwk), c.thumbprint);
  }
});

test('jose verifies selo PS256 tokens; selo verifies jose PS256 tokens', async () => {
  const now = Math.floor(Date.now() / 1000);
  const key = selo.RsaPrivateKey.import(pem);
  const jwk = key.publicKey().toJwk('kid-1');
  const jwks = { keys: [{ ...jwk, alg: 'PS256', use: 'sig' }] };
  for (const provider of ['node', 'rustcrypto']) {
    const signer = new selo.OfbSigner({ key, kid: 'kid-1', iss: 'org-a', provider });
    const { token } = signer.sign({ data: { amount: '10.00' } }, { aud: 'https://rs/x', now });
    const { payload, protectedHeader } = await jose.jwtVerify(token, jose.createLocalJWKSet(jwks), {
      algorithms: ['PS256'], audience: 'https://rs/x', issuer: 'org-a', typ: 'JWT',
    });
    assert.equal(protectedHeader.kid, 'kid-1');
    assert.deepEqual(payload.data, { amount: '10.00' });
  }
  const joseKey = await jose.importPKCS8(pem, 'PS256');
  const jt = await new jose.SignJWT({ data: { ok: true } })
    .setProtectedHeader({ alg: 'PS256', kid: 'kid-1', typ: 'JWT' })
    .setAudience('org-b').setIssuer('org-a').setJti(crypto.randomUUID()).setIssuedAt(now)
    .sign(joseKey);
  for (const provider of ['node', 'rustcrypto']) {
    const v = new selo.OfbVerifier({ jwks, provider });
    assert.deepEqual(v.verify(jt, { aud: 'org-b', iss: 'org-a', now }).payload.data, { ok: true });
  }
  // jose RS256 (algorithm confusion) is refused.
  const rs = await new jose.SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'kid-1', typ: 'JWT' }).sign(await jose.importPKCS8(pem, 'RS256'));
  throwsCode(() => new selo.OfbVerifier({ jwks }).verify(rs, { aud: 'x', iss: 'y', now }), 'ofb.verify.alg_not_allowed');
});

test('two-phase signing with Node crypto (external signer), self-verified', () => {
  const nodeCrypto = require('node:crypto');
  const key = selo.RsaPrivateKey.import(pem);
  const p = selo.ofbPrepare({ data: {} }, { kid: 'k', aud: 'a', iss: 'i' });
  const sig = nodeCrypto.sign('sha256', p.signingInput, { key: pem, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  const out = p.finish(sig, key.publicKey());
  assert.equal(out.jti, p.jti);
  const bad = Uint8Array.from(sig);
  bad[0] ^= 1;
  throwsCode(() => p.finish(bad, key.publicKey()), 'ofb.sign.self_verify');
  throwsCode(() => new selo.OfbSigner({ key: keyPem('external/keys/rsa1024-client.pem'), kid: 'k', iss: 'i' }).sign({}, { aud: 'a' }), 'ofb.sign.key_size');
  throwsCode(() => new selo.OfbSigner({ key, kid: 'k', iss: 'i' }).sign({ aud: 'x' }, { aud: 'a' }), 'ofb.sign.reserved_claim');
  throwsCode(() => new selo.OfbSigner({ key, kid: 'k', iss: 'i' }).sign([1], { aud: 'a' }), 'ofb.sign.payload_not_object');
});

test('drivers: OfbClient signs requests and verifies responses with a JWKS URL; server verifier with replay', async () => {
  const key = selo.RsaPrivateKey.import(pem);
  const jwks = { keys: [{ ...key.publicKey().toJwk('srv'), use: 'sig' }] };
  const clientJwks = { keys: [{ ...key.publicKey().toJwk('cli'), use: 'sig' }] };
  const server = new selo.OfbSigner({ key, kid: 'srv', iss: 'org-bank' });
  const rsVerifier = new selo.OfbRequestVerifier({ jwks: clientJwks });
  let jwksFetches = 0;
  const fetch = async (url, init) => {
    if (url === 'https://bank/jwks') {
      jwksFetches++;
      return new Response(JSON.stringify(jwks), { status: 200 });
    }
    const d = await rsVerifier.verify({ method: init.method, headers: init.headers, body: init.body }, { aud: url, iss: 'org-tpp', clientId: 'tpp' });
    if (!d.ok) return new Response(d.response.body, { status: d.response.status, headers: d.response.headers });
    const r = server.signResponse(201, { data: { echo: d.verified.payload.data } }, { aud: 'org-tpp' });
    return new Response(r.body, { status: r.status, headers: r.headers });
  };
  const client = new selo.OfbClient({ key, kid: 'cli', organisationId: 'org-tpp', jwksUrl: 'https://bank/jwks', fetch });
  const r = await client.request('https://bank/payments', { payload: { data: { v: 1 } }, iss: 'org-bank' });
  assert.equal(r.status, 201);
  assert.deepEqual(r.verified.payload.data, { echo: { v: 1 } });
  await client.request('https://bank/payments', { payload: { data: { v: 2 } }, iss: 'org-bank' });
  assert.equal(jwksFetches, 1, 'JWKS cached');
  // Replay: the same signed body twice -> 403 with the OFB body.
  const { body } = client.signRequest('https://bank/p', { data: {} });
  const req = { method: 'POST', headers: { 'content-type': 'application/jwt' }, body };
  const exp = { aud: 'https://bank/p', iss: 'org-tpp', clientId: 'tpp' };
  assert.equal((await rsVerifier.verify(req, exp)).ok, true);
  const again = await rsVerifier.verify(req, exp);
  assert.equal(again.ok, false);
  assert.equal(again.error.code, 'ofb.replay.jti');
  assert.equal(again.response.status, 403);
  // Wrong content type -> 415; async (Redis-like) cache.
  const wrongCt = await rsVerifier.verify({ ...req, headers: { 'content-type': 'application/json' } }, exp);
  assert.equal(wrongCt.response.status, 415);
  const seen = new Set();
  const asyncCache = { async checkAndInsert(c, j) { const k = `${c}:${j}`; if (seen.has(k)) return 'replayed'; seen.add(k); return 'fresh'; } };
  const v2 = new selo.OfbRequestVerifier({ jwks: clientJwks, cache: asyncCache });
  const { body: b2 } = client.signRequest('https://bank/p', { data: {} });
  assert.equal((await v2.verify({ ...req, body: b2 }, exp)).ok, true);
  const r2 = await v2.verify({ ...req, body: b2 }, exp);
  assert.equal(r2.ok, false);
  assert.equal(r2.error.code, 'ofb.replay.jti');
  assert.equal(r2.response.status, 403);
  assert.equal(seen.size, 1);
});

test('JtiCache: the default bound is the core\'s DEFAULT_CAPACITY (1 000 000), not 100 000', () => {
  const c = new selo.JtiCache();
  for (let i = 0; i <= 100_000; i++) assert.equal(c.checkAndInsert('c', String(i), 1), 'fresh');
  assert.equal(c.size, 100_001);
  assert.equal(c.checkAndInsert('c', '0', 1), 'replayed');
  c.free();
});

test('JtiCache: capacity refusal, eviction, TTL', () => {
  const c = new selo.JtiCache({ capacity: 2 });
  assert.equal(c.checkAndInsert('a', '1', 100), 'fresh');
  assert.equal(c.checkAndInsert('a', '1', 100), 'replayed');
  assert.equal(c.checkAndInsert('b', '1', 100), 'fresh');
  throwsCode(() => c.checkAndInsert('c', '1', 100), 'ofb.replay.capacity');
  assert.equal(c.checkAndInsert('c', '1', 100 + 86_400), 'fresh');
  const e = new selo.JtiCache({ capacity: 1, whenFull: 'evict-oldest' });
  e.checkAndInsert('a', '1', 1);
  assert.equal(e.checkAndInsert('a', '2', 1), 'fresh');
  assert.equal(e.size, 1);
});

// OFB server-role responses (OfbSigner.signResponse) verified by the npm
// `jose` package, an implementation selo shares nothing with. Only jose's
// own errors count as a refusal, each checked by class.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as jose from 'jose';

const require = createRequire(import.meta.url);
const { selo, VECTORS } = require('./helpers.cjs');
const fs = require('node:fs');
const path = require('node:path');

const pem = fs.readFileSync(path.join(VECTORS, 'external', 'keys', 'rsa2048-ofb.pem'), 'utf8');
const otherPem = fs.readFileSync(path.join(VECTORS, 'external', 'keys', 'rsa2048-ofb-other.pem'), 'utf8');
const KID = 'srv-key-1';
const SERVER_ORG = 'ba0bab00-0000-4000-8000-000000000002';
const CLIENT_ORG = 'c0ffee00-0000-4000-8000-000000000001';
const PAYLOAD = { data: { consentId: 'urn:bancoex:C1DD33123', status: 'AWAITING_AUTHORISATION' }, meta: {} };

const text = (body) => (typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
const header = (r, name) => {
  const h = r.headers;
  if (Array.isArray(h)) {
    const hit = h.find((x) => (Array.isArray(x) ? x[0] : x.name).toLowerCase() === name);
    return hit && (Array.isArray(hit) ? hit[1] : hit.value);
  }
  const k = Object.keys(h).find((x) => x.toLowerCase() === name);
  return k && h[k];
};

async function publicKey(p) {
  // jose reads the public half from the PKCS#8 key's JWK, independent of selo
  const priv = await jose.importPKCS8(p, 'PS256', { extractable: true });
  const { kty, n, e } = await jose.exportJWK(priv);
  return jose.importJWK({ kty, n, e }, 'PS256');
}

function respond(status = 201, now = Math.floor(Date.now() / 1000), payload = PAYLOAD) {
  const signer = new selo.OfbSigner({ key: pem, kid: KID, iss: SERVER_ORG });
  try {
    return { r: signer.signResponse(status, payload, { aud: CLIENT_ORG, now }), now };
  } finally {
    signer.free();
  }
}

const verify = async (token, key, now, opts = {}) => jose.jwtVerify(token, key, {
  algorithms: ['PS256'], audience: opts.aud ?? CLIENT_ORG, issuer: opts.iss ?? SERVER_ORG, typ: 'JWT',
  requiredClaims: ['iat', 'jti'], currentDate: new Date(now * 1000), maxTokenAge: 60,
});

function flip(token, part) {
  const parts = token.split('.');
  const raw = Buffer.from(parts[part], 'base64url');
  raw[raw.length >> 1] ^= 1;
  parts[part] = raw.toString('base64url');
  return parts.join('.');
}

test('signResponse verifies with jose (PS256, header, claims, media type)', async () => {
  const { r, now } = respond();
  assert.equal(r.status, 201);
  assert.equal(header(r, 'content-type'), 'application/jwt');
  const { payload, protectedHeader } = await verify(text(r.body), await publicKey(pem), now);
  assert.deepEqual(protectedHeader, { alg: 'PS256', kid: KID, typ: 'JWT' });
  assert.deepEqual(payload.data, PAYLOAD.data);
  assert.equal(payload.iss, SERVER_ORG);
  assert.equal(payload.aud, CLIENT_ORG);
  assert.equal(payload.iat, now);
  assert.match(payload.jti, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('jose refuses a broken signResponse for the right reason', async () => {
  const { r, now } = respond(200);
  const token = text(r.body);
  const key = await publicKey(pem);
  await assert.rejects(verify(flip(token, 2), key, now), jose.errors.JWSSignatureVerificationFailed);
  await assert.rejects(verify(flip(token, 1), key, now), jose.errors.JWSSignatureVerificationFailed);
  await assert.rejects(verify(token, await publicKey(otherPem), now), jose.errors.JWSSignatureVerificationFailed);
  await assert.rejects(verify(token, key, now, { aud: 'someone-else' }),
    (e) => e instanceof jose.errors.JWTClaimValidationFailed && e.claim === 'aud');
  await assert.rejects(verify(token, key, now, { iss: 'someone-else' }),
    (e) => e instanceof jose.errors.JWTClaimValidationFailed && e.claim === 'iss');
  await assert.rejects(verify(token, key, now + 3600), jose.errors.JWTExpired);
});

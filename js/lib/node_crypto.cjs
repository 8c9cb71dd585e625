'use strict';
// The JS half of the Node `crypto` RSA provider: the wasm module calls these
// functions synchronously. Keys arrive as DER PKCS#1 views into wasm memory;
// KeyObjects are cached by the SHA-256 of that DER (bounded), so a key is
// parsed once, and the cache never holds key bytes as strings.
const crypto = require('node:crypto');
const { constants } = crypto;

const MAX_KEYS = 64;
const privateKeys = new Map();
const publicKeys = new Map();
const stats = { node: 0, fallback: 0 };

function cached(map, der, make) {
  const id = crypto.createHash('sha256').update(der).digest('base64');
  let k = map.get(id);
  if (k === undefined) {
    if (map.size >= MAX_KEYS) map.clear();
    k = make(Buffer.from(der));
    map.set(id, k);
  }
  return k;
}

const privateKey = (der) =>
  cached(privateKeys, der, (b) => crypto.createPrivateKey({ key: b, format: 'der', type: 'pkcs1' }));
const publicKey = (der) =>
  cached(publicKeys, der, (b) => crypto.createPublicKey({ key: b, format: 'der', type: 'pkcs1' }));

const PADDINGS = {
  pkcs1v15: { padding: constants.RSA_PKCS1_PADDING },
  'oaep-sha1': { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
  'oaep-sha256': { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
};

function rsaSign(pss, der, msg) {
  const key = privateKey(der);
  const sig = crypto.sign(
    'sha256',
    msg,
    pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : key,
  );
  stats.node++;
  return sig;
}

function rsaVerify(pss, der, msg, sig) {
  const key = publicKey(der);
  const ok = crypto.verify(
    'sha256',
    msg,
    pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : key,
    sig,
  );
  stats.node++;
  return ok;
}

function rsaEncrypt(padding, der, msg) {
  const p = PADDINGS[padding];
  if (!p) throw new Error(`padding ${padding} is not done by Node`);
  const ct = crypto.publicEncrypt({ key: publicKey(der), ...p }, msg);
  stats.node++;
  return ct;
}

function rsaDecrypt(padding, der, ct) {
  // PKCS#1 v1.5 never comes here (Node refuses it; RustCrypto does it with
  // implicit rejection).
  const p = PADDINGS[padding];
  if (!p || padding === 'pkcs1v15') throw new Error(`padding ${padding} is not done by Node`);
  const pt = crypto.privateDecrypt({ key: privateKey(der), ...p }, ct);
  stats.node++;
  return pt;
}

function rsaFallback() {
  stats.fallback++;
}

/** How many RSA operations Node did, and how many went to RustCrypto. */
function rsaProviderStats() {
  return { ...stats };
}

function resetRsaProviderStats() {
  stats.node = 0;
  stats.fallback = 0;
}

module.exports = {
  rsaSign,
  rsaVerify,
  rsaEncrypt,
  rsaDecrypt,
  rsaFallback,
  rsaProviderStats,
  resetRsaProviderStats,
};

'use strict';
// The JS half of the Node `crypto` RSA provider: the wasm module calls these
// functions synchronously.
const crypto = require('node:crypto');
const { constants } = crypto;

// Keys are loaded once per (n, e) id (computed in wasm) and kept as
// KeyObjects in a bounded map; an unknown id answers `undefined` and the
// wasm side loads the DER, so key bytes cross once, not per operation.
const MAX_KEYS = 64;
const keys = new Map();
const stats = { node: 0, fallback: 0 };
const aesStats = { node: 0 };

function load(id, make) {
  if (keys.size >= MAX_KEYS) keys.clear();
  keys.set(id, make());
}
function rsaLoadPrivate(id, der) {
  load(id, () => crypto.createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' }));
}
function rsaLoadPublic(id, der) {
  load(id, () => crypto.createPublicKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' }));
}

const PADDINGS = {
  pkcs1v15: { padding: constants.RSA_PKCS1_PADDING },
  'oaep-sha1': { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
  'oaep-sha256': { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
};

function rsaSign(pss, id, msg) {
  const key = keys.get(id);
  if (key === undefined) return undefined;
  const sig = crypto.sign('sha256', msg, pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : key);
  stats.node++;
  return sig;
}

function rsaVerify(pss, id, msg, sig) {
  const key = keys.get(id);
  if (key === undefined) return undefined;
  const ok = crypto.verify('sha256', msg, pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : key, sig);
  stats.node++;
  return ok;
}

function rsaEncrypt(padding, id, msg) {
  const p = PADDINGS[padding];
  if (!p) throw new Error(`padding ${padding} is not done by Node`);
  const key = keys.get(id);
  if (key === undefined) return undefined;
  const ct = crypto.publicEncrypt({ key, ...p }, msg);
  stats.node++;
  return new Uint8Array(ct.buffer, ct.byteOffset, ct.byteLength);
}

function rsaDecrypt(padding, id, ct) {
  // PKCS#1 v1.5 never comes here (Node refuses it; RustCrypto does it with
  // implicit rejection).
  const p = PADDINGS[padding];
  if (!p || padding === 'pkcs1v15') throw new Error(`padding ${padding} is not done by Node`);
  const key = keys.get(id);
  if (key === undefined) return undefined;
  const pt = crypto.privateDecrypt({ key, ...p }, ct);
  stats.node++;
  return new Uint8Array(pt.buffer, pt.byteOffset, pt.byteLength);
}

// AES-256-CTR for the wasm side's envelope (OpenSSL, AES-NI). `key`, `iv`
// and `data` are views into wasm memory, valid for this call only: Node
// copies what it needs, and the result is a fresh Buffer.
function aes256Ctr(key, iv, data) {
  const c = crypto.createCipheriv('aes-256-ctr', key, iv);
  const out = c.update(data);
  c.final();
  aesStats.node++;
  return out;
}

function rsaFallback() {
  stats.fallback++;
}

/** How many RSA operations Node did, and how many went to RustCrypto. */
function rsaProviderStats() {
  return { ...stats };
}

/** How many AES-256-CTR envelope operations Node did for the wasm side. */
function aesProviderStats() {
  return { ...aesStats };
}

function resetRsaProviderStats() {
  stats.node = 0;
  stats.fallback = 0;
  aesStats.node = 0;
}

module.exports = {
  rsaLoadPrivate,
  rsaLoadPublic,
  rsaSign,
  rsaVerify,
  rsaEncrypt,
  rsaDecrypt,
  rsaFallback,
  aes256Ctr,
  rsaProviderStats,
  resetRsaProviderStats,
  aesProviderStats,
};

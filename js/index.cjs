'use strict';
// CommonJS entry point of the `selo` npm package.
// Node 18 has no global WebCrypto; the wasm RNG (getrandom) reads globalThis.crypto.
if (typeof globalThis.crypto === 'undefined') globalThis.crypto = require('node:crypto').webcrypto;
const wasm = require('./wasm/selo_wasm.js');
const { SeloError } = require('./lib/errors.cjs');
const { rsaProviderStats, resetRsaProviderStats, aesProviderStats } = require('./lib/node_crypto.cjs');
const { SafraClient: SafraClientBase } = require('./lib/safra_client.cjs');
const { makeBmp } = require('./lib/bmp_client.cjs');
const { makeOfb, MEDIA_TYPE } = require('./lib/ofb.cjs');

// Node's crypto is the default RSA provider where it exists.
if (typeof process !== 'undefined' && process.versions && process.versions.node) {
  wasm.setDefaultRsaProvider('node');
}

class SafraClient extends SafraClientBase {
  constructor(options) {
    super(options, wasm.SafraSession);
  }
}

const bmp = makeBmp(wasm);
const ofb = makeOfb(wasm);

const api = {};
for (const [k, v] of Object.entries(wasm)) {
  if (!k.startsWith('__')) api[k] = v;
}
Object.assign(api, {
  SeloError,
  rsaProviderStats,
  resetRsaProviderStats,
  aesProviderStats,
  SafraClient,
  BmpClient: bmp.BmpClient,
  MemoryTransactionStore: bmp.MemoryTransactionStore,
  bmpConfirmAsync: (key, headers, rawBody, store, profile) => bmp.confirm(key, profile, store, headers, rawBody),
  OfbClient: ofb.OfbClient,
  OfbRequestVerifier: ofb.OfbRequestVerifier,
  OfbHttpError: ofb.OfbHttpError,
  JwksSource: ofb.JwksSource,
  JwksFetchError: ofb.JwksFetchError,
  OFB_MEDIA_TYPE: MEDIA_TYPE,
});

module.exports = api;

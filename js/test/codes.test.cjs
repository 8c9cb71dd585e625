'use strict';
const { test } = require('node:test');
const fs = require('node:fs');
const path = require('node:path');
const { selo, assert, throwsCode } = require('./helpers.cjs');

// The core's table, read from its source: every `=> ("code", …)` in the
// define_error! blocks, in all_codes() order (keys, crypto, safra, ofb, bmp, br).
function coreCodes() {
  const src = path.join(__dirname, '..', '..', 'core', 'src');
  const files = ['keys/mod.rs', 'crypto/mod.rs', 'safra/mod.rs', 'ofb/mod.rs', 'bmp/mod.rs', 'br/mod.rs'];
  const out = [];
  for (const f of files) {
    const text = fs.readFileSync(path.join(src, f), 'utf8');
    for (const m of text.matchAll(/=>\s*\("([a-z0-9_.]+)",/g)) out.push(m[1]);
  }
  return out;
}

test('allCodes() equals the core table, in order', () => {
  assert.deepEqual(selo.allCodes(), coreCodes());
  assert.equal(new Set(selo.allCodes()).size, selo.allCodes().length);
});

test('SeloError is a real Error subclass with name, code, message, httpStatus', () => {
  let caught;
  try {
    selo.safraOpen(new Uint8Array(32), 'only.two');
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof selo.SeloError);
  assert.ok(caught instanceof Error);
  assert.equal(caught.name, 'SeloError');
  assert.equal(caught.code, 'safra.envelope.malformed');
  assert.equal(caught.httpStatus, 400);
  assert.match(caught.message, /3 dot-separated parts|three|parts/);
  assert.ok(typeof caught.stack === 'string');
  assert.ok(selo.allCodes().includes(caught.code));
});

test('every code a test provokes is in allCodes()', () => {
  throwsCode(() => selo.RsaPrivateKey.import('-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n'), 'key.import.unsupported_pem_label');
  throwsCode(() => selo.RsaPublicKey.import(new Uint8Array([1, 2, 3])), 'key.import.bad_der');
  throwsCode(() => selo.aes256Ctr(new Uint8Array(5), new Uint8Array(16), new Uint8Array(1)), 'crypto.aes.bad_key_length');
});

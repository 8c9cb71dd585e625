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

// The codes only the host layers raise (selo::HOST_CODES in core/src/error.rs),
// read from the Rust source: every `code: "…"` of the HOST_CODES table.
function hostCodesInSource() {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', 'core', 'src', 'error.rs'), 'utf8');
  const start = text.indexOf('pub const HOST_CODES');
  const block = text.slice(start, text.indexOf('\n];\n', start));
  return [...block.matchAll(/code: "([a-z0-9_.]+)",/g)].map((m) => m[1]);
}

test('hostCodes() equals the core HOST_CODES table, in order, and is disjoint from allCodes()', () => {
  const host = selo.hostCodes();
  assert.deepEqual(host, hostCodesInSource());
  assert.ok(host.includes('http.body_too_large'));
  // Issue 20: what the JWKS fetch and the OFB client raise are core codes now.
  for (const c of ['ofb.jwks.fetch', 'ofb.jwks.unavailable', 'ofb.jwks.url', 'ofb.client.http_status', 'ofb.client.unsigned', 'bmp.confirm.internal']) {
    assert.ok(selo.allCodes().includes(c), `${c} is a core code`);
    assert.ok(!host.includes(c), `${c} is not a host code`);
  }
  for (const c of host) assert.ok(!selo.allCodes().includes(c), `${c} is in both lists`);
});

// Literals in the package's sources that look like a code but are not one
// (argument paths in TypeError messages, a request property, a Node API).
const NOT_CODES = new Set(['options.cliente', 'options.key', 'req.ofb', 'tls.connect']);

/**
 * Every code the package's own JS raises: quoted literals that are a dotted
 * code (or start a message with "code: "), and the first literal argument of
 * `new SeloError(…)` / `makeSeloError(…)` / `super(…)` and `.code = …`
 * assignments (which also catch an undotted code).
 */
function codesInJsSources() {
  const root = path.join(__dirname, '..');
  const files = ['index.cjs', 'index.mjs', 'index.d.ts']
    .concat(fs.readdirSync(path.join(root, 'lib')).filter((f) => /\.(c|m)?js$/.test(f)).map((f) => path.join('lib', f)));
  const found = new Map();
  const patterns = [
    /(['"`])([a-z]+(?:\.[a-z0-9_]+)+)(?:\1|: )/g,
    /(?:new SeloError|makeSeloError|super)\((['"`])([a-z][a-z0-9_.]*)\1/g,
    /\.code\s*=\s*(['"`])([a-z][a-z0-9_.]*)\1/g,
  ];
  for (const f of files) {
    const text = fs.readFileSync(path.join(root, f), 'utf8');
    for (const re of patterns) {
      for (const m of text.matchAll(re)) {
        if (!NOT_CODES.has(m[2]) && !found.has(m[2])) found.set(m[2], f);
      }
    }
  }
  return found;
}

test('every code the JS sources raise is in allCodes() or hostCodes()', () => {
  const known = new Set([...selo.allCodes(), ...selo.hostCodes()]);
  const found = codesInJsSources();
  // The scan sees the driver codes (so it would see a new one).
  for (const c of ['ofb.jwks.fetch', 'ofb.client.http_status', 'http.body_too_large', 'ofb.replay.store_failed']) {
    assert.ok(found.has(c), `scan missed ${c}`);
  }
  const unlisted = [...found].filter(([c]) => !known.has(c)).map(([c, f]) => `${c} (${f})`);
  assert.deepEqual(unlisted, [], 'codes raised in JS but in no table: add them to HOST_CODES in core/src/error.rs');
});

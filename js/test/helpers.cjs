'use strict';
// Shared test helpers. SELO_UNDER_TEST points at the package installed from
// the packed tarball (scripts/test-js); without it the working tree is used.
const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');

const selo = require(process.env.SELO_UNDER_TEST || path.join(__dirname, '..', 'index.cjs'));
const VECTORS = path.join(__dirname, '..', '..', 'tests', 'vectors');

function vector(rel) {
  return JSON.parse(fs.readFileSync(path.join(VECTORS, rel), 'utf8'));
}

function vectorText(rel) {
  return fs.readFileSync(path.join(VECTORS, rel), 'utf8');
}

const b64 = (u8) => Buffer.from(u8).toString('base64');
const fromB64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));
const utf8 = (u8) => Buffer.from(u8).toString('utf8');
const seed = (byte) => new Uint8Array(32).fill(byte);

/** Asserts `fn` throws a SeloError with `code`. */
function throwsCode(fn, code, msg) {
  assert.throws(
    fn,
    (e) => {
      assert.ok(e instanceof selo.SeloError, `expected SeloError, got ${e && e.name}: ${e && e.message}`);
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'SeloError');
      assert.equal(e.code, code, msg);
      return true;
    },
    msg,
  );
}

async function rejectsCode(p, code, msg) {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof selo.SeloError, `expected SeloError, got ${e && e.name}: ${e && e.message}`);
    assert.equal(e.code, code, msg);
    return true;
  });
}

module.exports = { selo, vector, vectorText, b64, fromB64, utf8, seed, throwsCode, rejectsCode, assert, VECTORS };

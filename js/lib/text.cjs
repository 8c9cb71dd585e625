'use strict';
// Text helpers the wasm side calls: the engine's native UTF-8 encoder is much
// faster than wasm-bindgen's per-character copy for long strings.
const encoder = new TextEncoder();

/** UTF-8 bytes of a JS string (lone surrogates become U+FFFD). */
function utf8Bytes(s) {
  return encoder.encode(s);
}

module.exports = { utf8Bytes };

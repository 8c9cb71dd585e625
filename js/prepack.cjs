// npm `prepack` guard: refuses to pack the package without the wasm module
// (built by scripts/package or scripts/test-js: wasm-bindgen --target nodejs
// into wasm/), and copies the repository's licence files next to package.json.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const here = __dirname;
for (const f of ['wasm/selo_wasm.js', 'wasm/selo_wasm_bg.wasm']) {
  const p = path.join(here, f);
  if (!fs.existsSync(p) || fs.statSync(p).size === 0) {
    console.error(`prepack: ${f} is missing: build the wasm module first (scripts/package or scripts/test-js); refusing to pack a package that cannot load`);
    process.exit(1);
  }
}
const magic = fs.readFileSync(path.join(here, 'wasm/selo_wasm_bg.wasm')).subarray(0, 4);
if (!magic.equals(Buffer.from([0x00, 0x61, 0x73, 0x6d]))) {
  console.error('prepack: wasm/selo_wasm_bg.wasm is not a WebAssembly module');
  process.exit(1);
}
for (const f of ['LICENSE-MIT', 'LICENSE-APACHE']) {
  const src = path.join(here, '..', f);
  if (fs.existsSync(src)) fs.copyFileSync(src, path.join(here, f));
  if (!fs.existsSync(path.join(here, f))) {
    console.error(`prepack: ${f} is missing (expected at the repository root)`);
    process.exit(1);
  }
}

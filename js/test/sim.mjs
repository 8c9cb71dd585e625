// Shared by the end-to-end tests: spawn the Rust Safra simulator
// (`selo sim safra --port 0`, the CLI in SELO_BIN) and inject faults through
// its control endpoint. Not a test file (no `.test.` in the name).
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The CLI: $SELO_BIN (scripts/test-js sets it), else a built one in the
// cargo target directory. None is a failure of every test that needs it,
// never a skip.
const here = path.dirname(fileURLToPath(import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR || path.join(here, '..', '..', 'target');
export const bin =
  process.env.SELO_BIN || ['debug', 'release'].map((p) => path.join(targetDir, p, 'selo')).find((f) => fs.existsSync(f));

/** Fails the calling test when there is no CLI to start. */
export function requireBin() {
  assert.ok(bin, 'no selo CLI: set SELO_BIN (scripts/test-js does) or build it (cargo build -p selo-cli)');
  return bin;
}

/**
 * Starts a simulator (killed after the test file): `{ base, child, pin }`,
 * `pin` the bank-key pin the simulator prints on its second line.
 */
export async function startSim(args) {
  const child = spawn(requireBin(), ['sim', 'safra', '--port', '0', '--bank-key-bits', '1024', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = readline.createInterface({ input: child.stdout });
  const lines = [];
  await new Promise((resolve, reject) => {
    rl.on('line', (l) => {
      lines.push(l);
      if (lines.length === 2) resolve();
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
    setTimeout(() => reject(new Error('simulator did not start in 20 s')), 20_000).unref();
  });
  const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(lines[0]);
  assert.ok(m, `unexpected first line: ${lines[0]}`);
  const p = /^bank key pin \(profile bank_key_pins\): (\S+)$/.exec(lines[1]);
  assert.ok(p, `unexpected second line: ${lines[1]}`);
  after(() => child.kill('SIGTERM'));
  return { base: m[1].replace(/\/$/, ''), child, pin: p[1] };
}

/** `GET /_control/state` of a simulator (the whole document). */
export async function simState(simBase) {
  const r = await fetch(`${simBase}/_control/state`);
  assert.equal(r.status, 200);
  return r.json();
}

/** POSTs a fault (`{ fault: 'expire-key' | 'answer-480' | … }`) to the simulator. */
export async function fault(simBase, f) {
  const r = await fetch(`${simBase}/_control/fault`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(f) });
  assert.equal(r.status, 200, await r.text());
}

// The README's examples run as a user would run them (`import … from 'selo'`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = process.env.SELO_UNDER_TEST || path.join(here, '..');

// A scratch project whose node_modules/selo is the package under test.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'selo-examples-'));
fs.mkdirSync(path.join(dir, 'node_modules'));
fs.symlinkSync(path.resolve(pkgDir), path.join(dir, 'node_modules', 'selo'), 'dir');

for (const [file, expect] of [
  ['safra_in_memory.mjs', /registered true 000000123456789 \d{44}\nqueried true S/],
  ['safra_many_at_once.mjs', /registered 32 in \d+ ms\npsd001 2 psd005 1 psd050 32\nfulfilled rejected safra\.boleto\.in_flight/],
  ['bmp_payment.mjs', /^200 \{ sucesso: true \}/],
  ['ofb_sign_verify.mjs', /replay false ofb\.replay\.jti 403/],
]) {
  test(`example ${file} runs`, () => {
    fs.copyFileSync(path.join(here, '..', 'examples', file), path.join(dir, file));
    const out = execFileSync(process.execPath, [path.join(dir, file)], { encoding: 'utf8', timeout: 60_000 });
    assert.match(out, expect);
  });
}

// The fleet example needs Redis (a redis-server of its own) and node-redis
// (the package's optional peer, linked from js/node_modules).
test('example safra_fleet.mjs runs (three instances share one session through Redis)', async () => {
  const { startRedis } = createRequire(import.meta.url)('./redis_helpers.cjs');
  const server = await startRedis();
  for (const m of ['redis', '@redis']) {
    const link = path.join(dir, 'node_modules', m);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(here, '..', 'node_modules', m), link, 'dir');
  }
  const file = 'safra_fleet.mjs';
  fs.copyFileSync(path.join(here, '..', 'examples', file), path.join(dir, file));
  const out = execFileSync(process.execPath, [path.join(dir, file)], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, REDIS_URL: server.url } });
  assert.match(out, /registered 20 20 20\npsd001 2 psd005 1 psd050 60\nhandshakes (1 0 0|0 1 0|0 0 1) adopted/);
});

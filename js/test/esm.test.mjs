// The ESM entry point: `import … from 'selo'` exposes exactly the CommonJS
// exports, and the package's `exports` map routes both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = process.env.SELO_UNDER_TEST || path.join(here, '..');
const require = createRequire(import.meta.url);

test('ESM named exports equal the CommonJS exports', async () => {
  const cjs = require(pkgDir);
  const esm = await import(pathToFileURL(path.join(pkgDir, 'index.mjs')).href);
  const named = Object.keys(esm).filter((k) => k !== 'default').sort();
  assert.deepEqual(named, Object.keys(cjs).sort());
  for (const k of named) assert.equal(esm[k], cjs[k], k);
  assert.equal(esm.default, cjs);
  assert.equal(esm.allCodes().length, cjs.allCodes().length);
});

test('package.json routes import and require to the two entry points, with types', async () => {
  const pkg = require(path.join(pkgDir, 'package.json'));
  assert.equal(pkg.exports['.'].import, './index.mjs');
  assert.equal(pkg.exports['.'].require, './index.cjs');
  assert.equal(pkg.exports['.'].types, './index.d.ts');
  assert.deepEqual(Object.keys(pkg.dependencies || {}), []);
  const { SeloError, safraOpen } = await import(pathToFileURL(path.join(pkgDir, 'index.mjs')).href);
  assert.throws(() => safraOpen(new Uint8Array(32), 'x'), (e) => e instanceof SeloError && e.code === 'safra.envelope.malformed');
});

test('index.d.ts declares every export', async () => {
  const fs = await import('node:fs');
  const dts = fs.readFileSync(path.join(pkgDir, 'index.d.ts'), 'utf8');
  const cjs = require(pkgDir);
  const missing = Object.keys(cjs).filter((k) => !new RegExp(`export (declare )?(function|class|const|let|type|interface) ${k}\\b`).test(dts));
  assert.deepEqual(missing, []);
});

test('selo/redis: the exports map routes import, require and types; both entries export the same; the main entry never loads it (nor node-redis)', async () => {
  const fs = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const pkg = require(path.join(pkgDir, 'package.json'));
  assert.deepEqual(pkg.exports['./redis'], { types: './redis.d.ts', import: './redis.mjs', require: './lib/redis.cjs' });
  assert.deepEqual(pkg.peerDependenciesMeta, { redis: { optional: true } });
  for (const f of ['redis.d.ts', 'redis.mjs', 'lib/redis.cjs']) assert.ok(fs.existsSync(path.join(pkgDir, f)), f);
  const cjs = require(path.join(pkgDir, 'lib', 'redis.cjs'));
  const esm = await import(pathToFileURL(path.join(pkgDir, 'redis.mjs')).href);
  for (const k of ['RedisSafraShare', 'RedisJtiStore', 'RedisBmpPending']) {
    assert.equal(typeof cjs[k], 'function', k);
    assert.equal(esm[k], cjs[k], k);
  }
  const dts = fs.readFileSync(path.join(pkgDir, 'redis.d.ts'), 'utf8');
  for (const k of ['RedisSafraShare', 'RedisJtiStore', 'RedisBmpPending']) assert.match(dts, new RegExp(`export declare class ${k}\\b`));
  const loaded = execFileSync(process.execPath, ['-e', `require(${JSON.stringify(pkgDir)}); console.log(Object.keys(require.cache).filter((f) => /redis/.test(f)).length)`], { encoding: 'utf8' });
  assert.equal(loaded.trim(), '0');
});

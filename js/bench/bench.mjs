// Benchmarks (not a test): Safra envelope seal+open (1 KiB, 64 KiB) against
// hand-written Node crypto AES-256-CTR, and PS256 sign/verify through selo
// (Node provider and wasm RustCrypto) against hand-written Node crypto and
// jose. Prints a Markdown table (ops/s, median of 5 runs).
//   node bench/bench.mjs [--quick]
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const selo = require(process.env.SELO_UNDER_TEST || path.join(here, '..', 'index.cjs'));
const quick = process.argv.includes('--quick');
const RUN_MS = quick ? 150 : 600;

async function measure(fn) {
  const runs = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < RUN_MS) {
      for (let i = 0; i < 4; i++) await fn();
      n += 4;
      t = performance.now();
    }
    runs.push((n * 1000) / (t - t0));
  }
  runs.sort((a, b) => a - b);
  return runs[2];
}

const key = crypto.randomBytes(32);
const keyB64 = key.toString('base64');
const HDR = selo.safraEnvelopeHeader();

// Hand-written Node crypto envelope, the same format.
function nodeSeal(k, iv, pt) {
  const c = crypto.createCipheriv('aes-256-ctr', k, iv);
  return `${HDR}.${iv.toString('base64')}.${Buffer.concat([c.update(pt), c.final()]).toString('base64')}`;
}
function nodeOpen(k, env) {
  const [, iv, ct] = env.split('.');
  const d = crypto.createDecipheriv('aes-256-ctr', k, Buffer.from(iv, 'base64'));
  const pt = Buffer.concat([d.update(Buffer.from(ct, 'base64')), d.final()]);
  // selo's safraOpen also parses the JSON plaintext into an object.
  return { plaintext: pt, json: JSON.parse(pt.toString('utf8')) };
}

const rows = [];
for (const size of [1024, 65536]) {
  const pt = Buffer.from(JSON.stringify({ d: 'x'.repeat(size - 8) }));
  const iv = Buffer.from('AbCdEfGhIjKlMnOp');
  const envSelo = selo.safraSeal(key, pt, { iv });
  if (!Buffer.from(selo.safraOpen(key, envSelo).plaintext).equals(pt) || nodeSeal(key, iv, pt) !== envSelo) throw new Error('envelope mismatch');
  const label = size === 1024 ? '1 KiB' : '64 KiB';
  rows.push([`envelope seal+open ${label}`, 'selo (wasm)', await measure(() => selo.safraOpen(key, selo.safraSeal(key, pt, { iv })))]);
  rows.push([`envelope seal+open ${label}`, 'Node crypto (hand-written)', await measure(() => nodeOpen(key, nodeSeal(key, iv, pt)))]);
}

const pem = fs.readFileSync(path.join(here, '..', '..', 'tests', 'vectors', 'external', 'keys', 'rsa2048-ofb.pem'), 'utf8');
const k = selo.RsaPrivateKey.import(pem);
const jwks = { keys: [{ ...k.publicKey().toJwk('b'), use: 'sig', alg: 'PS256' }] };
const payload = { data: { amount: '100.00', currency: 'BRL' } };
const now = Math.floor(Date.now() / 1000);
for (const provider of ['node', 'rustcrypto']) {
  const s = new selo.OfbSigner({ key: k, kid: 'b', iss: 'org', provider });
  const v = new selo.OfbVerifier({ jwks, provider });
  const tok = s.sign(payload, { aud: 'aud', now }).token;
  rows.push(['PS256 sign (OFB token)', `selo, ${provider} provider`, await measure(() => s.sign(payload, { aud: 'aud', now }))]);
  rows.push(['PS256 verify (OFB token, all claims)', `selo, ${provider} provider`, await measure(() => v.verify(tok, { aud: 'aud', iss: 'org', now }))]);
}
// Hand-written Node crypto compact JWS.
const nodeKey = crypto.createPrivateKey(pem);
const nodePub = crypto.createPublicKey(nodeKey);
const b64u = (b) => Buffer.from(b).toString('base64url');
function nodeSign() {
  const input = `${b64u(JSON.stringify({ alg: 'PS256', kid: 'b', typ: 'JWT' }))}.${b64u(JSON.stringify({ aud: 'aud', iss: 'org', jti: crypto.randomUUID(), iat: now, ...payload }))}`;
  return `${input}.${b64u(crypto.sign('sha256', Buffer.from(input), { key: nodeKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }))}`;
}
const nodeTok = nodeSign();
function nodeVerify(t) {
  const [h, p, s] = t.split('.');
  if (!crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key: nodePub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, Buffer.from(s, 'base64url'))) throw new Error('bad');
  return JSON.parse(Buffer.from(p, 'base64url'));
}
rows.push(['PS256 sign (OFB token)', 'Node crypto (hand-written)', await measure(nodeSign)]);
rows.push(['PS256 verify (OFB token, all claims)', 'Node crypto (hand-written, signature only)', await measure(() => nodeVerify(nodeTok))]);
const joseKey = await jose.importPKCS8(pem, 'PS256');
const joseJwks = jose.createLocalJWKSet(jwks);
const joseSign = () => new jose.SignJWT(payload).setProtectedHeader({ alg: 'PS256', kid: 'b', typ: 'JWT' }).setAudience('aud').setIssuer('org').setJti(crypto.randomUUID()).setIssuedAt(now).sign(joseKey);
const joseTok = await joseSign();
rows.push(['PS256 sign (OFB token)', 'jose', await measure(joseSign)]);
rows.push(['PS256 verify (OFB token, all claims)', 'jose (jwtVerify)', await measure(() => jose.jwtVerify(joseTok, joseJwks, { algorithms: ['PS256'], audience: 'aud', issuer: 'org' }))]);

const wasmPath = require.resolve(path.join(path.dirname(require.resolve(process.env.SELO_UNDER_TEST || path.join(here, '..', 'index.cjs'))), 'wasm', 'selo_wasm_bg.wasm'));
const wasm = fs.readFileSync(wasmPath);
console.log(`Node ${process.version}, ${crypto.getHashes ? '' : ''}${process.arch}; median of 5 runs of ${RUN_MS} ms\n`);
console.log('| operation | implementation | ops/s |');
console.log('|---|---|---:|');
for (const [op, impl, v] of rows) console.log(`| ${op} | ${impl} | ${v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1)} |`);
console.log(`\nwasm module: ${wasm.length.toLocaleString('en-US')} bytes, ${zlib.gzipSync(wasm, { level: 9 }).length.toLocaleString('en-US')} bytes gzipped`);

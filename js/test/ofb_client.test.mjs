// OfbClient.request reads every reply the core's way (`ofbReadReply`),
// against a real local HTTP server (node:http on 127.0.0.1): an unsigned
// 2xx is never handed back as verified (`ofb.client.unsigned`), an unsigned
// non-2xx is an `OfbHttpError` (`ofb.client.http_status`) unless the caller
// opted in (then it comes back marked unverified), a signed reply is
// verified whatever its status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import http from 'node:http';

const require = createRequire(import.meta.url);
const { selo, VECTORS } = require('./helpers.cjs');
const fs = require('node:fs');
const path = require('node:path');
const pem = fs.readFileSync(path.join(VECTORS, 'external', 'keys', 'rsa2048-ofb.pem'), 'utf8');

const key = selo.RsaPrivateKey.import(pem);
const serverSigner = new selo.OfbSigner({ key, kid: 'srv', iss: 'org-bank' });
const serverJwks = { keys: [{ ...key.publicKey().toJwk('srv'), use: 'sig' }] };

/** A bank on 127.0.0.1:0 answering each request with `reply()` ({ status, headers, body }), and its JWKS at /jwks. */
async function bank() {
  const state = { reply: null, requests: 0 };
  const server = http.createServer((req, res) => {
    if (req.url === '/jwks') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify(serverJwks));
    }
    state.requests++;
    req.resume();
    req.on('end', () => {
      const r = state.reply();
      res.writeHead(r.status, r.headers);
      res.end(r.body);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  state.base = `http://127.0.0.1:${server.address().port}`;
  state.close = () => new Promise((r) => {
    server.closeAllConnections?.();
    server.close(r);
  });
  return state;
}

test('OfbClient against a server answering 200 application/json: ofb.client.unsigned, never a verified result', async () => {
  const b = await bank();
  try {
    const client = new selo.OfbClient({ key, kid: 'cli', organisationId: 'org-tpp', jwksUrl: `${b.base}/jwks` });
    for (const r of [
      { status: 200, headers: { 'content-type': 'application/json' }, body: '{"data":{"status":"ACCEPTED"}}' },
      { status: 201, headers: { 'content-type': 'application/json' }, body: '{"data":{}}' },
      { status: 204, headers: {}, body: '' },
    ]) {
      b.reply = () => r;
      // Even opting in to unsigned errors never lets an unsigned 2xx through.
      for (const allowUnsignedErrors of [false, true]) {
        await assert.rejects(client.request(`${b.base}/payments`, { payload: { data: {} }, iss: 'org-bank', allowUnsignedErrors }), (e) => {
          assert.ok(e instanceof selo.SeloError, `${e && e.name}: ${e && e.message}`);
          assert.equal(e.code, 'ofb.client.unsigned');
          assert.equal(e.status, r.status);
          assert.match(e.message, new RegExp(`HTTP ${r.status}`));
          return true;
        });
      }
    }
  } finally {
    await b.close();
  }
});

test('OfbClient: an unsigned non-2xx throws OfbHttpError (ofb.client.http_status) unless opted in, then it is returned unverified', async () => {
  const b = await bank();
  try {
    const r = { status: 503, headers: { 'content-type': 'text/html' }, body: '<html>upstream down</html>' };
    b.reply = () => r;
    const client = new selo.OfbClient({ key, kid: 'cli', organisationId: 'org-tpp', jwks: serverJwks });
    await assert.rejects(client.request(`${b.base}/payments`, { payload: { data: {} }, iss: 'org-bank' }), (e) => {
      assert.ok(e instanceof selo.OfbHttpError);
      assert.ok(e instanceof selo.SeloError);
      assert.equal(e.code, 'ofb.client.http_status');
      assert.ok(selo.allCodes().includes(e.code));
      assert.equal(e.status, 503);
      assert.equal(e.text, r.body);
      return true;
    });
    const perCall = await client.request(`${b.base}/payments`, { payload: { data: {} }, iss: 'org-bank', allowUnsignedErrors: true });
    assert.equal(perCall.status, 503);
    assert.equal(perCall.unverified, true);
    assert.equal(perCall.verified, null);
    assert.equal(Buffer.from(perCall.body).toString(), r.body);
    const optedIn = new selo.OfbClient({ key, kid: 'cli', organisationId: 'org-tpp', jwks: serverJwks, allowUnsignedErrors: true });
    assert.equal((await optedIn.request(`${b.base}/payments`, { payload: { data: {} }, iss: 'org-bank' })).unverified, true);
  } finally {
    await b.close();
  }
});

test('OfbClient: a signed reply is verified whatever its status; a tampered signed reply is refused', async () => {
  const b = await bank();
  try {
    const client = new selo.OfbClient({ key, kid: 'cli', organisationId: 'org-tpp', jwksUrl: `${b.base}/jwks`, allowUnsignedErrors: true });
    for (const status of [200, 422]) {
      b.reply = () => {
        const s = serverSigner.signResponse(status, { data: { status } }, { aud: 'org-tpp' });
        return { status: s.status, headers: Object.fromEntries(s.headers), body: Buffer.from(s.body) };
      };
      const out = await client.request(`${b.base}/payments`, { payload: { data: {} }, iss: 'org-bank' });
      assert.equal(out.status, status);
      assert.equal(out.unverified, undefined);
      assert.deepEqual(out.verified.payload.data, { status });
    }
    b.reply = () => {
      const s = serverSigner.signResponse(200, { data: {} }, { aud: 'org-tpp' });
      const [h, p, sig] = Buffer.from(s.body).toString().split('.');
      const flipped = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
      return { status: 200, headers: { 'content-type': 'application/jwt' }, body: `${h}.${p}.${flipped}` };
    };
    await assert.rejects(client.request(`${b.base}/payments`, { payload: { data: {} }, iss: 'org-bank' }), (e) => e.code === 'ofb.verify.bad_signature');
    // Signed for someone else: the aud check refuses it.
    b.reply = () => {
      const s = serverSigner.signResponse(200, { data: {} }, { aud: 'org-other' });
      return { status: 200, headers: Object.fromEntries(s.headers), body: Buffer.from(s.body) };
    };
    await assert.rejects(client.request(`${b.base}/payments`, { payload: { data: {} }, iss: 'org-bank' }), (e) => e.code === 'ofb.claims.aud');
  } finally {
    await b.close();
  }
});

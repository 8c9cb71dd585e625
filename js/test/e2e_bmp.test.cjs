'use strict';
// BMP payment end to end: BmpClient -> a fake BMP (node http + the core's
// BMP side through the binding) -> the partner's confirmation handler,
// hosted by this test -> 200 back to the client.
const { test } = require('node:test');
const http = require('node:http');
const { Readable } = require('node:stream');
const { selo, seed, assert } = require('./helpers.cjs');

const KEY = selo.bmpGenerateKey({ seed: seed(3) });
const conta = { agencia: '0001', agenciaDigito: '1', conta: '1234567', contaDigito: '8', tipoConta: 1, documentoFederal: '52998224725', nome: 'Titular Exemplo' };
const pix = { type: 'pix', dataTransacao: '2026-11-23T10:15:00', contaOrigem: conta, valor: '100.00', chavePix: 'fulano@example.com', tipoChave: 3 };

function listen(handler) {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, '127.0.0.1', () => resolve({ server: s, url: `http://127.0.0.1:${s.address().port}` }));
  });
}

function readAll(req) {
  return new Promise((res) => {
    const c = [];
    req.on('data', (d) => c.push(d));
    req.on('end', () => res(Buffer.concat(c)));
  });
}

/** A fake BMP: checks the request, calls the partner, answers. */
async function fakeBmp(partnerUrl, { failFirst = 0, dotnet = false } = {}) {
  const server = new selo.BmpServer({ key: KEY });
  const seen = [];
  let failures = failFirst;
  const h = await listen(async (req, res) => {
    const body = await readAll(req);
    seen.push({ path: req.url, idem: req.headers.idempotencykey, body: body.toString('utf8'), hmac: req.headers.hmac });
    if (failures-- > 0) {
      res.statusCode = 503;
      return res.end();
    }
    try {
      const tx = server.checkRequest(req.headers, body);
      const call = server.confirmationRequest(tx, partnerUrl, { dotnet });
      const r = await fetch(call.request.url, { method: 'POST', headers: call.request.headers, body: call.request.body, signal: AbortSignal.timeout(call.deadlineMs) });
      const reply = { status: r.status, headers: [...r.headers], body: new Uint8Array(await r.arrayBuffer()) };
      server.checkConfirmationReply(call, reply);
      res.statusCode = 200;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sucesso: true, idempotencyKey: tx.idempotencyKey }));
    } catch (e) {
      res.statusCode = e.httpStatus || 500;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ code: e.code, message: e.message }));
    }
  });
  return { ...h, seen };
}

test('pix payment: BMP checks, calls the confirmation handler hosted here, accepts', async () => {
  const client = new selo.BmpClient({ key: KEY });
  const partner = await listen(client.nodeConfirmationHandler());
  const bmp = await fakeBmp(`${partner.url}/confirmacao`);
  client._baseUrl = bmp.url;
  try {
    const r = await client.pay(pix);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.sucesso, true);
    assert.equal(bmp.seen[0].path, '/api/Recurso/Tranferir');
    assert.equal(bmp.seen[0].idem, r.idempotencyKey);
  } finally {
    bmp.server.close();
    partner.server.close();
  }
});

test('.NET-style decimals in the confirmation still confirm (100.0 = 100.00)', async () => {
  const client = new selo.BmpClient({ key: KEY });
  const partner = await listen(client.nodeConfirmationHandler());
  const bmp = await fakeBmp(`${partner.url}/c`, { dotnet: true });
  client._baseUrl = bmp.url;
  try {
    assert.equal((await client.pay(pix)).status, 200);
  } finally {
    bmp.server.close();
    partner.server.close();
  }
});

test('retries send the same bytes, hmac and IdempotencyKey', async () => {
  const client = new selo.BmpClient({ key: KEY, baseUrl: 'http://unused' });
  const partner = await listen(client.nodeConfirmationHandler());
  const bmp = await fakeBmp(`${partner.url}/c`, { failFirst: 2 });
  client._baseUrl = bmp.url;
  try {
    const r = await client.pay(pix, { retries: 3, retryDelayMs: 5 });
    assert.equal(r.status, 200);
    assert.equal(r.attempts, 3);
    assert.equal(bmp.seen.length, 3);
    assert.equal(new Set(bmp.seen.map((s) => s.idem)).size, 1);
    assert.equal(new Set(bmp.seen.map((s) => s.body)).size, 1);
    assert.equal(new Set(bmp.seen.map((s) => s.hmac)).size, 1);
  } finally {
    bmp.server.close();
    partner.server.close();
  }
});

test('a tampered body is refused by BMP with 406; a wrong key too', async () => {
  const client = new selo.BmpClient({ key: KEY });
  const partner = await listen(client.nodeConfirmationHandler());
  const bmp = await fakeBmp(`${partner.url}/c`);
  try {
    const signed = await client.prepare(pix);
    const tampered = { ...signed, body: new TextEncoder().encode(signed.bodyText.replace('100.00', '900.00')) };
    client._baseUrl = bmp.url;
    const r = await client.send(tampered, { endpoint: '/api/Recurso/Tranferir', retries: 0 });
    assert.equal(r.status, 406);
    assert.equal(r.json.code, 'bmp.server.bad_mac');
    const other = new selo.BmpClient({ key: selo.bmpGenerateKey(), baseUrl: bmp.url });
    const r2 = await other.pay(pix, { retries: 0 });
    assert.equal(r2.status, 406);
  } finally {
    bmp.server.close();
    partner.server.close();
  }
});

test('confirmation handlers: plain, Express-style, async store; unknown and changed transactions', async () => {
  const client = new selo.BmpClient({ key: KEY });
  const signed = await client.prepare(pix);
  const headers = { 'content-type': 'application/json', idempotencykey: signed.idempotencyKey };
  // plain (headers, rawBody)
  const ok = await client.confirm(headers, signed.body);
  assert.equal(ok.status, 200);
  assert.equal(new Map(ok.headers).get('hmac'), selo.bmpSign(KEY, signed.body));
  const changed = await client.confirm(headers, signed.bodyText.replace('fulano@', 'ciclano@'));
  assert.equal(changed.status, 409);
  assert.equal(changed.difference, 'detalhes.chavePix');
  const unknown = await client.confirm({ ...headers, idempotencykey: '00000000-0000-4000-8000-000000000000' }, signed.bodyText.replace(signed.idempotencyKey, '00000000-0000-4000-8000-000000000000'));
  assert.equal(unknown.status, 404);
  assert.equal(unknown.error.code, 'bmp.confirm.unknown_transaction');
  // async store (e.g. a database)
  const asyncStore = { m: new Map(), async set(k, v) { this.m.set(k, v); }, async get(k) { await new Promise((r) => setTimeout(r, 1)); return this.m.get(k) ?? null; } };
  const c2 = new selo.BmpClient({ key: KEY, store: asyncStore });
  const s2 = await c2.prepare(pix);
  assert.equal((await c2.confirm({ 'content-type': 'application/json', idempotencykey: s2.idempotencyKey }, s2.body)).status, 200);
  // Express-style (req, res) with express.raw()-like Buffer body, and with a stream
  const mkRes = () => {
    const res = { statusCode: 0, headers: {}, sent: null };
    res.status = (s) => ((res.statusCode = s), res);
    res.set = (n, v) => ((res.headers[n.toLowerCase()] = v), res);
    res.send = (b) => ((res.sent = b), res);
    return res;
  };
  const h = client.expressConfirmationHandler();
  const res1 = mkRes();
  await h({ headers, body: Buffer.from(signed.body) }, res1);
  assert.equal(res1.statusCode, 200);
  assert.equal(res1.headers.hmac, selo.bmpSign(KEY, signed.body));
  const req2 = Readable.from([Buffer.from(signed.body)]);
  req2.headers = headers;
  const res2 = mkRes();
  await h(req2, res2);
  assert.equal(res2.statusCode, 200);
  const res3 = mkRes();
  await h({ headers, body: { already: 'parsed' } }, res3);
  assert.equal(res3.statusCode, 500);
  // missing headers
  const miss = await client.confirm({}, signed.body);
  assert.equal(miss.status, 400);
  assert.equal(miss.error.code, 'bmp.confirm.missing_header');
});

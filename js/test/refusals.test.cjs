'use strict';
// Every check that guards money or access, broken one thing at a time: the
// unbroken message passes first (so a refusal is not a setup bug), then
// exactly one thing changes (one byte, one member, one header) and exactly
// that check's stable code comes back — with the HTTP status for server
// roles. Also the server-role refusals of the Safra bank (session_mismatch,
// unknown_session, unauthorized), OfbRequestVerifier.middleware over real
// HTTP, and OfbClient.request on a non-2xx reply.
const { test } = require('node:test');
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { selo, vector, vectorText, utf8, throwsCode, assert } = require('./helpers.cjs');

const gen = vector('safra/generated.json');
const NOW = 1_800_000_000;
const URL_BASE = 'https://bank.test/psd';

const flipB64 = (s, i) => {
  const raw = Buffer.from(s, 'base64');
  raw[i] ^= 0x01;
  return raw.toString('base64');
};
const flipB64url = (s, i, bit = 0x80) => {
  const raw = Buffer.from(s, 'base64url');
  raw[i] ^= bit;
  return raw.toString('base64url');
};
/** The last character of `s` changed to another one of the same alphabet. */
const lastCharChanged = (s, alt = ['A', 'B']) => s.slice(0, -1) + (s.at(-1) !== alt[0] ? alt[0] : alt[1]);

function withHeader(headers, name, value) {
  let changed = false;
  const out = headers.map(([n, v]) => {
    if (n.toLowerCase() !== name) return [n, v];
    changed = true;
    return [n, value];
  });
  assert.ok(changed, `no ${name} header to change`);
  return out;
}
const headerValue = (headers, name) => (headers.find(([n]) => n.toLowerCase() === name) || [])[1];

// ---- Safra bank role ---------------------------------------------------------------------------

const newBank = () => new selo.SafraBank({ bankKey: gen.bank_private_pkcs8_pem });
const newSession = () => new selo.SafraSession({ cliente: 'CLIENTE01', baseUrl: URL_BASE, clientKey: gen.client_private_pkcs8_pem });

function send(bank, request, { headers, body } = {}) {
  return bank.handle(new URL(request.url).pathname, headers ?? request.headers, body ?? request.body, NOW);
}

function refused(r, code, status) {
  assert.equal(r.status, status, utf8(r.body));
  assert.equal(JSON.parse(utf8(r.body)).codigo, code, utf8(r.body));
}

/** A session that did stage 1 with `bank`; its stage-2 request. */
function stage1(bank) {
  const s = newSession();
  const p1 = s.prepareNext('handshake', NOW);
  const r1 = send(bank, p1.request);
  assert.equal(r1.status, 200, utf8(r1.body));
  assert.equal(s.handleResponse(p1.id, r1, NOW).done, false);
  const p2 = s.prepareNext('handshake', NOW);
  assert.ok('parametros' in JSON.parse(utf8(p2.request.body)));
  return { s, p2 };
}

function authenticated(bank) {
  const s = newSession();
  for (;;) {
    const { id, request } = s.prepareNext('authenticate', NOW);
    if (s.handleResponse(id, send(bank, request), NOW).done) return s;
  }
}

const queryOp = { type: 'queryBoleto', query: { nossoNumero: '000000123456789', seuNumero: '0000004021' } };

test('Safra stage 1: one byte of the signature flipped -> safra.handshake.bad_signature, 400', () => {
  const bank = newBank();
  const { request } = newSession().prepareNext('handshake', NOW);
  const body = JSON.parse(utf8(request.body));
  const parts = body.jwk.split('.');
  const broken = JSON.stringify({ ...body, jwk: [flipB64(parts[0], 7), ...parts.slice(1)].join('.') });
  refused(send(bank, request, { body: broken }), 'safra.handshake.bad_signature', 400);
  assert.equal(send(bank, request).status, 200);
});

test('Safra stage 2: one byte of the parametros signature flipped -> safra.handshake.bad_signature, 400', () => {
  const bank = newBank();
  const { p2 } = stage1(bank);
  const body = JSON.parse(utf8(p2.request.body));
  const [enc, sig] = body.parametros.split('.');
  refused(send(bank, p2.request, { body: JSON.stringify({ ...body, parametros: `${enc}.${flipB64(sig, 11)}` }) }), 'safra.handshake.bad_signature', 400);
  assert.equal(send(bank, p2.request).status, 200);
});

// The bank checks the client's stage-2 signature (over the session GUID)
// before it decrypts anything (issue 11): B's parametros signed B's GUID, so
// under A's amc-session-id the signature is what fails first.
test("Safra stage 2 of session B under session A's amc-session-id -> safra.handshake.bad_signature, 400", () => {
  const bank = newBank();
  const a = stage1(bank);
  const b = stage1(bank);
  assert.notEqual(a.s.sessionId, b.s.sessionId);
  const headers = withHeader(b.p2.request.headers, 'amc-session-id', a.s.sessionId);
  refused(send(bank, b.p2.request, { headers }), 'safra.handshake.bad_signature', 400);
  assert.equal(send(bank, b.p2.request).status, 200);
});

test('Safra stage 2 at a bank that never saw its stage 1 -> safra.handshake.unknown_session, 400', () => {
  const { p2 } = stage1(newBank());
  refused(send(newBank(), p2.request), 'safra.handshake.unknown_session', 400);
});

test('Safra Bearer token with one character changed, or missing -> safra.bank.unauthorized, 401', () => {
  const bank = newBank();
  const s = authenticated(bank);
  const { request } = s.prepareNext(queryOp, NOW);
  const auth = headerValue(request.headers, 'authorization');
  assert.match(auth, /^Bearer \S+$/);
  refused(send(bank, request, { headers: withHeader(request.headers, 'authorization', lastCharChanged(auth)) }), 'safra.bank.unauthorized', 401);
  refused(send(bank, request, { headers: request.headers.filter(([n]) => n.toLowerCase() !== 'authorization') }), 'safra.bank.unauthorized', 401);
  assert.equal(send(bank, request).status, 550); // unbroken: reaches the business layer (unknown boleto)
});

test('Safra amc-work-id with one character changed -> safra.bank.unauthorized, 401', () => {
  const bank = newBank();
  const s = authenticated(bank);
  const { request } = s.prepareNext(queryOp, NOW);
  const workId = headerValue(request.headers, 'amc-work-id');
  assert.ok(workId);
  refused(send(bank, request, { headers: withHeader(request.headers, 'amc-work-id', lastCharChanged(workId, ['0', '1'])) }), 'safra.bank.unauthorized', 401);
  assert.equal(send(bank, request).status, 550);
});

test('Safra: the same envelope twice at the bank -> safra.envelope.reused_iv, 400', () => {
  const bank = newBank();
  const s = authenticated(bank);
  const { request } = s.prepareNext(queryOp, NOW);
  assert.equal(send(bank, request).status, 550);
  refused(send(bank, request), 'safra.envelope.reused_iv', 400);
});

test('Safra: the client refuses a reply repeating an earlier reply (reused IV)', () => {
  const bank = newBank();
  const s = authenticated(bank);
  // A registered boleto: the query replies are 200 envelopes.
  const reg = s.prepareNext({ type: 'registerBoleto', boleto: JSON.parse(vectorText('safra/boleto-sample.json')) }, NOW);
  assert.equal(s.handleResponse(reg.id, send(bank, reg.request), NOW).reply.type, 'boletoRegistered');
  const first = s.prepareNext(queryOp, NOW);
  const r = send(bank, first.request);
  assert.equal(r.status, 200);
  const out = s.handleResponse(first.id, r, NOW);
  assert.equal(out.reply.type, 'boletoQueried');
  assert.equal(out.reply.reply.ivReused, false);
  const second = s.prepareNext(queryOp, NOW);
  assert.equal(send(bank, second.request).status, 200);
  throwsCode(() => s.handleResponse(second.id, r, NOW), 'safra.envelope.reused_iv');
});

test('Safra: with rejectReusedIv off, a repeated reply is accepted and reported (ivReused: true)', () => {
  const bank = newBank();
  const s = new selo.SafraSession({ cliente: 'CLIENTE01', baseUrl: URL_BASE, clientKey: gen.client_private_pkcs8_pem, profile: { rejectReusedIv: false } });
  for (;;) {
    const { id, request } = s.prepareNext('authenticate', NOW);
    if (s.handleResponse(id, send(bank, request), NOW).done) break;
  }
  const reg = s.prepareNext({ type: 'registerBoleto', boleto: JSON.parse(vectorText('safra/boleto-sample.json')) }, NOW);
  const r = send(bank, reg.request);
  assert.equal(s.handleResponse(reg.id, r, NOW).reply.reply.ivReused, false);
  const again = s.prepareNext(queryOp, NOW);
  send(bank, again.request);
  // The psd050 reply once more, answering the query: accepted, not silently.
  const out = s.handleResponse(again.id, r, NOW);
  assert.equal(out.done, true);
  assert.equal(out.reply.reply.ivReused, true);
});

// ---- OFB -------------------------------------------------------------------------------------

const pem = fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'vectors', 'external', 'keys', 'rsa2048-ofb.pem'), 'utf8');
const ofbKey = selo.RsaPrivateKey.import(pem);
const AUD = 'https://rs.example/open-banking/payments/v4/consents';
const ISS = 'c0ffee00-0000-4000-8000-000000000001';
const jwks = { keys: [{ ...ofbKey.publicKey().toJwk('k1'), alg: 'PS256', use: 'sig' }] };
const signer = new selo.OfbSigner({ key: ofbKey, kid: 'k1', iss: ISS });
const expected = { aud: AUD, iss: ISS, clientId: 'c1' };
const decide = (v, token, cache) => v.verifyRequest({ method: 'POST', contentType: 'application/jwt', body: token, now: NOW }, expected, cache);

test('OFB: one bit of the signature flipped -> ofb.verify.bad_signature, 400', () => {
  const v = new selo.OfbVerifier({ jwks });
  const { token } = signer.sign({ data: { amount: '100.00' } }, { aud: AUD, now: NOW });
  const [h, p, sig] = token.split('.');
  const d = decide(v, `${h}.${p}.${flipB64url(sig, 100)}`, new selo.JtiCache());
  assert.equal(d.ok, false);
  assert.equal(d.error.code, 'ofb.verify.bad_signature');
  assert.equal(d.response.status, 400);
  assert.equal(decide(v, token, new selo.JtiCache()).ok, true);
});

test('OFB: one member of the payload changed -> ofb.verify.bad_signature, 400', () => {
  const v = new selo.OfbVerifier({ jwks });
  const { token } = signer.sign({ data: { amount: '100.00' } }, { aud: AUD, now: NOW });
  const [h, p, sig] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  assert.equal(claims.data.amount, '100.00');
  claims.data.amount = '900.00';
  const d = decide(v, `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`, new selo.JtiCache());
  assert.equal(d.error && d.error.code, 'ofb.verify.bad_signature');
  assert.equal(d.response.status, 400);
});

test('OFB: the same token twice -> ofb.replay.jti, 403; a fresh jti passes', () => {
  const v = new selo.OfbVerifier({ jwks });
  const cache = new selo.JtiCache();
  const { token } = signer.sign({ data: {} }, { aud: AUD, now: NOW });
  assert.equal(decide(v, token, cache).ok, true);
  const d = decide(v, token, cache);
  assert.equal(d.error && d.error.code, 'ofb.replay.jti');
  assert.equal(d.response.status, 403);
  assert.equal(decide(v, signer.sign({ data: {} }, { aud: AUD, now: NOW }).token, cache).ok, true);
});

/** An http server on 127.0.0.1:0 (the bound port read back). */
async function serve(handler) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

test('OfbRequestVerifier.middleware: refusals answer the code\'s status and OFB error body; next() only on success', async () => {
  const rs = new selo.OfbRequestVerifier({ jwks, now: () => NOW });
  let nextCalls = 0;
  const mw = rs.middleware(() => expected);
  const { server, url } = await serve((req, res) => {
    mw(req, res, () => {
      nextCalls++;
      res.statusCode = 201;
      res.end(JSON.stringify({ data: req.ofb.payload.data }));
    });
  });
  const post = (body, contentType = 'application/jwt') => fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  try {
    const { token } = signer.sign({ data: { v: 1 } }, { aud: AUD, now: NOW });
    const ok = await post(token);
    assert.equal(ok.status, 201);
    assert.deepEqual((await ok.json()).data, { v: 1 });
    assert.equal(nextCalls, 1);

    // [what, request, HTTP status, OFB error code in the body (the core's table)]
    const cases = [
      ['replay', () => post(token), 403, 'JTI_REUSED'],
      ['bad signature', () => { const [h, p, s] = signer.sign({ data: {} }, { aud: AUD, now: NOW }).token.split('.'); return post(`${h}.${p}.${flipB64url(s, 3)}`); }, 400, 'BAD_SIGNATURE'],
      ['content type', () => post(signer.sign({ data: {} }, { aud: AUD, now: NOW }).token, 'application/json'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['aud', () => post(signer.sign({ data: {} }, { aud: 'https://elsewhere.example/x', now: NOW }).token), 400, 'INVALID_AUD'],
    ];
    for (const [name, sendIt, status, ofbCode] of cases) {
      const r = await sendIt();
      assert.equal(r.status, status, name);
      const body = await r.json();
      assert.ok(Array.isArray(body.errors) && body.errors.length >= 1, name);
      assert.equal(body.errors[0].code, ofbCode, name);
    }
    assert.equal(nextCalls, 1, 'next() must not run for a refused request');
  } finally {
    server.close();
  }
});

test('OfbRequestVerifier.verify: the same refusals carry the exact selo code and status', async () => {
  const rs = new selo.OfbRequestVerifier({ jwks, now: () => NOW });
  const { token } = signer.sign({ data: {} }, { aud: AUD, now: NOW });
  const req = (body, contentType = 'application/jwt') => ({ method: 'POST', headers: { 'content-type': contentType }, body });
  assert.equal((await rs.verify(req(token), expected)).ok, true);
  const cases = [
    [req(token), 403, 'ofb.replay.jti'],
    [req(signer.sign({ data: {} }, { aud: AUD, now: NOW }).token, 'application/json'), 415, 'ofb.server.content_type'],
    [req(signer.sign({ data: {} }, { aud: 'https://elsewhere.example/x', now: NOW }).token), 400, 'ofb.claims.aud'],
  ];
  for (const [r, status, code] of cases) {
    const d = await rs.verify(r, expected);
    assert.equal(d.ok, false, code);
    assert.equal(d.error.code, code);
    assert.equal(d.response.status, status, code);
  }
});

test('OfbClient.request: a non-2xx reply that is not a JWS throws OfbHttpError with status and body, unverified', async () => {
  let verifiedBodies = 0;
  const serverSigner = new selo.OfbSigner({ key: ofbKey, kid: 'srv', iss: 'org-bank' });
  const serverJwks = { keys: [{ ...ofbKey.publicKey().toJwk('srv'), use: 'sig' }] };
  const replies = [
    { status: 500, headers: { 'content-type': 'text/html' }, body: '<html>upstream error</html>' },
    { status: 403, headers: { 'content-type': 'application/json' }, body: '{"errors":[{"code":"FORBIDDEN"}]}' },
  ];
  let next;
  const fetch = async () => {
    const r = next;
    if (r.signed) {
      verifiedBodies++;
      const s = serverSigner.signResponse(r.status, { errors: [{ code: 'SIGNED_ERROR' }] }, { aud: 'org-tpp', now: NOW });
      return new Response(s.body, { status: s.status, headers: s.headers });
    }
    return new Response(r.body, { status: r.status, headers: r.headers });
  };
  const client = new selo.OfbClient({ key: ofbKey, kid: 'cli', organisationId: 'org-tpp', jwks: serverJwks, fetch, now: () => NOW });
  for (const r of replies) {
    next = r;
    await assert.rejects(client.request('https://bank/payments', { payload: { data: {} }, iss: 'org-bank' }), (e) => {
      assert.ok(e instanceof selo.OfbHttpError, `${e && e.name}: ${e && e.message}`);
      assert.ok(e instanceof selo.SeloError);
      assert.equal(e.code, 'ofb.client.http_status');
      assert.equal(e.status, r.status);
      assert.equal(e.text, r.body);
      assert.match(e.message, new RegExp(`HTTP ${r.status}`));
      return true;
    });
  }
  // A signed (JWS) error reply is verified and returned with its status.
  next = { signed: true, status: 422 };
  const out = await client.request('https://bank/payments', { payload: { data: {} }, iss: 'org-bank' });
  assert.equal(out.status, 422);
  assert.deepEqual(out.verified.payload.errors, [{ code: 'SIGNED_ERROR' }]);
  assert.equal(verifiedBodies, 1);
});

// ---- BMP -------------------------------------------------------------------------------------

const conta = { agencia: '0001', agenciaDigito: '1', conta: '1234567', contaDigito: '8', tipoConta: 1, documentoFederal: '52998224725', nome: 'Titular Exemplo' };
const pix = { type: 'pix', dataTransacao: '2026-11-23T10:15:00', contaOrigem: conta, valor: '100.00', chavePix: 'fulano@example.com', tipoChave: 3 };

function bmpSigned() {
  const key = selo.bmpGenerateKey();
  return { key, s: new selo.BmpSigner({ key }).signTransaction(pix) };
}

test('BMP: one byte of the body changed -> bmp.server.bad_mac, 406', () => {
  const { key, s } = bmpSigned();
  const server = new selo.BmpServer({ key });
  const body = Buffer.from(s.bodyText.replace('fulano@example.com', 'fulano@example.con'));
  assert.equal(Buffer.compare(body, Buffer.from(s.body)) !== 0 && body.length, s.body.length);
  assert.equal([...body].filter((b, i) => b !== s.body[i]).length, 1);
  assert.throws(() => server.checkRequest(s.headers, body), (e) => e instanceof selo.SeloError && e.code === 'bmp.server.bad_mac' && e.httpStatus === 406);
  server.checkRequest(s.headers, s.body);
});

test('BMP: one hex digit of the hmac header changed -> bmp.server.bad_mac, 406; bmpVerify -> bmp.mac.mismatch', () => {
  const { key, s } = bmpSigned();
  const server = new selo.BmpServer({ key });
  const broken = lastCharChanged(s.hmac, ['0', '1']);
  assert.throws(() => server.checkRequest(withHeader(s.headers, 'hmac', broken), s.body), (e) => e instanceof selo.SeloError && e.code === 'bmp.server.bad_mac' && e.httpStatus === 406);
  throwsCode(() => selo.bmpVerify(key, s.body, broken), 'bmp.mac.mismatch');
  selo.bmpVerify(key, s.body, s.hmac);
});

test('BMP: the confirmation reply\'s hmac with one digit changed -> bmp.server.confirmation_bad_mac, 406', () => {
  const { key, s } = bmpSigned();
  const server = new selo.BmpServer({ key });
  const call = server.confirmationRequest(server.checkRequest(s.headers, s.body), 'https://partner.example/confirm');
  const good = selo.bmpSign(key, call.request.body);
  assert.throws(() => server.checkConfirmationReply(call, { status: 200, headers: [['hmac', lastCharChanged(good, ['0', '1'])]], body: '' }),
    (e) => e instanceof selo.SeloError && e.code === 'bmp.server.confirmation_bad_mac' && e.httpStatus === 406);
  server.checkConfirmationReply(call, { status: 200, headers: [['hmac', good]], body: '' });
});

test('BMP partner: a confirmation body with one member changed -> bmp.confirm.mismatch, 409, naming the member', () => {
  const { key, s } = bmpSigned();
  const lookup = (k) => (k === s.idempotencyKey ? s.body : null);
  const headers = [['Content-Type', 'application/json'], ['IdempotencyKey', s.idempotencyKey]];
  const ok = selo.bmpConfirm(key, headers, s.body, lookup);
  assert.equal(ok.confirmed, true);
  assert.equal(ok.status, 200);
  assert.equal(s.bodyText.split('100.00').length, 2);
  const r = selo.bmpConfirm(key, headers, s.bodyText.replace('100.00', '100.01'), lookup);
  assert.equal(r.confirmed, false);
  assert.equal(r.status, 409);
  assert.equal(r.error.code, 'bmp.confirm.mismatch');
  assert.equal(r.difference, 'detalhes.valor');
});

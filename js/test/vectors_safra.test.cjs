'use strict';
// Every shared Safra vector (external and our own) and a byte-for-byte
// replay of our whole-flow transcript.
const { test } = require('node:test');
const { selo, vector, vectorText, b64, fromB64, utf8, seed, throwsCode, assert } = require('./helpers.cjs');

const ext1 = vector('external/safra/stage1.json');
const ext2 = vector('external/safra/stage2.json');
const extEnv = vector('external/safra/envelope.json');
const extTok = vector('external/safra/token.json');
const gen = vector('safra/generated.json');

for (const provider of ['rustcrypto', 'node']) {
  test(`external stage1: jwk for every key format (${provider})`, () => {
    const key = selo.RsaPrivateKey.import(ext1.client_private_pkcs8_pem);
    for (const [fmt, jwk] of Object.entries(ext1.jwk_by_key_format)) {
      assert.equal(selo.safraStage1Jwk(key, ext1.session_id, { keyFormat: fmt, provider }), jwk, fmt);
    }
    const bank = selo.safraParseStage1Reply(JSON.stringify({ jwk: ext1.bank_reply_jwk }));
    assert.equal(b64(bank.toSpkiDer()), ext1.bank_public_spki_der_b64);
  });

  test(`external stage2: every padding, block count and member (${provider})`, () => {
    const client = selo.RsaPrivateKey.import(ext2.client_private_pkcs8_pem);
    const bank = selo.RsaPublicKey.import(fromB64(ext2.bank_public_spki_der_b64));
    assert.ok(ext2.cases.length >= 8);
    for (const c of ext2.cases) {
      // The bank's reply is `B64(enc_jwk) "." B64(bank_sig)`.
      const body = JSON.stringify({ jwk: `${c.enc_jwk_b64}.${ext2.bank_sig_over_key_b64}` });
      const r = selo.safraParseStage2Reply(body, client, bank, { provider, paddings: [c.padding], signatureMessages: ['raw-key'] });
      assert.equal(r.keyB64, ext2.aes_key_b64, `${c.padding}/${c.member}`);
      assert.equal(r.padding, c.padding);
      // The decrypted plaintext itself, block-chained, equals the vector's.
      const pt = client.decrypt(c.padding, fromB64(c.enc_jwk_b64), { provider });
      assert.equal(utf8(pt), c.plaintext);
      assert.equal(b64(selo.safraExtractKey(pt)), ext2.aes_key_b64);
    }
  });
}

test('external stage2: a wrong padding never yields a key', () => {
  const client = selo.RsaPrivateKey.import(ext2.client_private_pkcs8_pem);
  const bank = selo.RsaPublicKey.import(fromB64(ext2.bank_public_spki_der_b64));
  const c = ext2.cases.find((x) => x.padding === 'oaep-sha256');
  const body = JSON.stringify({ jwk: `${c.enc_jwk_b64}.${ext2.bank_sig_over_key_b64}` });
  assert.throws(() => selo.safraParseStage2Reply(body, client, bank, { paddings: ['pkcs1v15'], signatureMessages: ['raw-key'] }), selo.SeloError);
});

test('external envelopes: seal with the given IV, open, Node AES-256-CTR agrees', () => {
  const crypto = require('node:crypto');
  assert.equal(selo.safraEnvelopeHeader(), extEnv.header_b64);
  for (const c of extEnv.seal_and_open) {
    const env = selo.safraSeal(c.key_b64, c.plaintext, { iv: c.iv_text });
    assert.equal(env, c.envelope);
    const o = selo.safraOpen(fromB64(c.key_b64), c.envelope);
    assert.equal(o.text, c.plaintext);
    assert.deepEqual(o.json, JSON.parse(c.plaintext));
    // Independent: Node's own AES-256-CTR with the IV as the 128-bit counter.
    const d = crypto.createDecipheriv('aes-256-ctr', Buffer.from(c.key_b64, 'base64'), Buffer.from(c.iv_text));
    const ct = Buffer.from(c.envelope.split('.')[2], 'base64');
    assert.equal(Buffer.concat([d.update(ct), d.final()]).toString('utf8'), c.plaintext);
  }
  // Every other list in the file is open-only cases (the counter carries):
  // each must have the shape below and open to its plaintext. A case of
  // another shape fails here instead of being passed over.
  let cases = 0;
  for (const [k, v] of Object.entries(extEnv)) {
    if (!Array.isArray(v) || k === 'seal_and_open') continue;
    for (const c of v) {
      assert.ok(typeof c.envelope === 'string' && typeof c.iv_b64 === 'string' && typeof c.plaintext_b64 === 'string',
        `${k}: a case this test does not know how to check: ${JSON.stringify(Object.keys(c))}`);
      const o = selo.safraOpen(c.key_b64, c.envelope);
      assert.equal(b64(o.plaintext), c.plaintext_b64, c.note || k);
      assert.equal(b64(o.iv), c.iv_b64);
      // Independent: Node's AES-256-CTR with the 16 IV bytes as the counter.
      const d = crypto.createDecipheriv('aes-256-ctr', Buffer.from(c.key_b64, 'base64'), Buffer.from(c.iv_b64, 'base64'));
      const ct = Buffer.from(c.envelope.split('.')[2], 'base64');
      assert.equal(Buffer.concat([d.update(ct), d.final()]).toString('base64'), c.plaintext_b64, c.note || k);
      cases++;
    }
  }
  assert.equal(cases, extEnv.open_only_counter_carry.length);
  assert.ok(cases >= 3, 'counter-carry cases ran');
  // The refusals, made from the file's first envelope by breaking one part.
  const [hdr, iv, ct] = extEnv.seal_and_open[0].envelope.split('.');
  const key = extEnv.seal_and_open[0].key_b64;
  throwsCode(() => selo.safraOpen(key, `${hdr}.${iv}`), 'safra.envelope.malformed');
  throwsCode(() => selo.safraOpen(key, `${b64(Buffer.from('{"alg":"RSA-AEP","enc":"A128CTR"}'))}.${iv}.${ct}`), 'safra.envelope.bad_header');
  throwsCode(() => selo.safraOpen(key, `${hdr}.${b64(Buffer.from('only15bytes....'))}.${ct}`), 'safra.envelope.bad_iv');
  throwsCode(() => selo.safraOpen(key, `${hdr}.${iv}.${ct}!`), 'safra.envelope.bad_base64');
});

test('external token: claims and schedule from the local receive time', () => {
  assert.deepEqual(selo.safraDecodeToken(extTok.token), extTok.claims);
  const s = selo.safraTokenSchedule(extTok.token, extTok.t0);
  assert.equal(s.lifetime, extTok.lifetime);
  assert.equal(s.renewAt, extTok.renew_at);
  assert.equal(s.expiresAt, extTok.expires_at);
  assert.equal(s.receivedAt, extTok.t0);
});

test('own vectors: stage1, stage2 (auto candidates) and envelopes', () => {
  const client = selo.RsaPrivateKey.import(gen.client_private_pkcs8_pem);
  const bank = selo.RsaPrivateKey.import(gen.bank_private_pkcs8_pem);
  for (const c of gen.stage1) {
    assert.equal(selo.safraStage1Jwk(client, c.session_id, { keyFormat: c.key_format }), c.jwk);
  }
  for (const c of gen.stage2) {
    const r = selo.safraParseStage2Reply(c.reply_body, client, bank.publicKey(), {});
    assert.equal(r.padding, c.padding);
    assert.equal(r.signatureMessage, c.signature_message);
    assert.equal(r.keyB64, c.aes_key_b64);
  }
  for (const c of gen.envelopes) {
    assert.equal(selo.safraSeal(c.key_b64, c.plaintext, { iv: c.iv_text }), c.envelope);
    assert.equal(selo.safraOpen(c.key_b64, c.envelope).text, c.plaintext);
  }
});

test('own transcript: the client replays every request byte for byte', () => {
  const t = gen.transcript;
  const s = new selo.SafraSession({
    cliente: t.cliente,
    baseUrl: t.base_url,
    profile: t.profile,
    clientKey: gen.client_private_pkcs8_pem,
    provider: 'rustcrypto',
    seed: seed(t.client_rng_seed_byte),
  });
  const boleto = JSON.parse(vectorText('safra/boleto-sample.json'));
  const ops = ['authenticate', 'renew', { type: 'registerBoleto', boleto }, { type: 'queryBoleto', query: { nossoNumero: '000000123456789', seuNumero: '0000004021' } }];
  const steps = [...t.steps];
  const replies = [];
  for (const op of ops) {
    for (;;) {
      const step = steps.shift();
      assert.ok(step, 'transcript ended early');
      const { id, request } = s.prepareNext(op, t.now);
      assert.equal(request.url, step.request.url);
      assert.deepEqual(request.headers, step.request.headers);
      assert.equal(utf8(request.body), step.request.body);
      const out = s.handleResponse(id, { status: step.response.status, headers: step.response.headers, body: step.response.body }, t.now);
      if (out.done) {
        replies.push(out.reply);
        break;
      }
    }
  }
  assert.equal(steps.length, 0);
  assert.equal(s.sessionKeyB64(), t.final_session_key_b64);
  assert.deepEqual(replies.map((r) => r.type), ['authenticated', 'renewed', 'boletoRegistered', 'boletoQueried']);
  assert.equal(replies[2].reply.documento.codigoBarras.length, 44);
  assert.equal(replies[3].reply.documento.registradoCip, 'S');
});

test('malformed Safra inputs throw SeloError with the right code', () => {
  const key = new Uint8Array(32).fill(7);
  throwsCode(() => selo.safraOpen(key, 'a.b'), 'safra.envelope.malformed');
  throwsCode(() => selo.safraOpen(key, 'a.b.c!'), 'safra.envelope.bad_base64');
  throwsCode(() => selo.safraOpen(key, `${b64(Buffer.from('{"enc":"A128GCM"}'))}.${b64(Buffer.from('0123456789abcdef'))}.AAAA`), 'safra.envelope.bad_header');
  throwsCode(() => selo.safraOpen(key, `${selo.safraEnvelopeHeader()}.${b64(Buffer.from('short'))}.AAAA`), 'safra.envelope.bad_iv');
  throwsCode(() => selo.safraOpenJson(key, selo.safraSeal(key, new Uint8Array([0xff, 0xfe]), { iv: '0123456789abcdef' })), 'safra.envelope.not_json');
  throwsCode(() => selo.safraUnwrapBody('{"nodata":1}'), 'safra.envelope.bad_body');
  throwsCode(() => selo.safraSeal(new Uint8Array(31), 'x'), 'safra.envelope.bad_key');
  throwsCode(() => selo.safraDecodeToken('abc'), 'safra.token.malformed');
  throwsCode(() => selo.safraParseStage1Reply('{"jwk":"UlNB.ZW5j.AAAA"}'), 'safra.handshake.bad_bank_key');
  throwsCode(() => selo.safraParseStage1Reply('not json'), 'safra.handshake.bad_reply');
  throwsCode(() => new selo.SafraSession({ cliente: 'X', profile: { keyBits: 512 } }), 'safra.profile.invalid');
  throwsCode(() => new selo.SafraSession({ cliente: 'X', profile: { nope: 1 } }), 'safra.profile.invalid');
  const boleto = JSON.parse(vectorText('safra/boleto-sample.json'));
  throwsCode(() => selo.safraBoleto({ ...boleto, documento: { ...boleto.documento, seuNumero: '12345678901' } }), 'safra.boleto.too_long');
  throwsCode(() => selo.safraBoleto({ ...boleto, documento: { ...boleto.documento, dataVencimento: '2026-02-30' } }), 'safra.boleto.invalid_date');
  const { pagador } = boleto.documento;
  throwsCode(() => selo.safraBoleto({ ...boleto, documento: { ...boleto.documento, pagador: { ...pagador, numeroDocumento: 12345678900 } } }), 'safra.boleto.invalid_document');
  const noValor = { ...boleto.documento };
  delete noValor.valor;
  throwsCode(() => selo.safraBoleto({ ...boleto, documento: noValor }), 'safra.boleto.missing_field');
  const s = new selo.SafraSession({ cliente: 'X' });
  throwsCode(() => s.handleResponse(99, { status: 200, headers: [], body: '' }), 'safra.session.unknown_request');
  throwsCode(() => selo.SafraSession.import('{"version":2}', {}), 'safra.session.bad_snapshot');
});

test('profiles: camelCase in and out, snake_case JSON accepted', () => {
  const d = selo.safraDefaultProfile();
  assert.equal(d.keyBits, 1024);
  assert.equal(d.padding, 'pkcs1v15');
  assert.equal(d.on480, 'reinit');
  assert.equal(selo.safraProfile({ on480: 'reauth' }).on480, 'reauth');
  assert.equal(selo.safraProfile('{"key_bits":2048}').keyBits, 2048);
});

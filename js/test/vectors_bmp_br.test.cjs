'use strict';
// Every shared BMP and br vector; BMP MACs against Node's crypto.createHmac.
const { test } = require('node:test');
const crypto = require('node:crypto');
const { selo, vector, utf8, throwsCode, assert } = require('./helpers.cjs');

const hmacV = vector('external/bmp/hmac.json');
const moneyV = vector('external/bmp/money.json');
const confirmV = vector('external/bmp/confirm.json');
const canonV = vector('bmp/canonical.json');
const ownConfirm = vector('bmp/confirm.json');
const sigs = vector('bmp/signatures.json');
const ids = vector('external/br/identifiers.json');

const nodeHmac = (key, body) => crypto.createHmac('sha512', Buffer.from(key, 'utf8')).update(body).digest();

test('external hmac: hex and base64, and Node crypto.createHmac agrees', () => {
  for (const c of hmacV.cases) {
    const key = c.key ?? hmacV.key;
    const body = c.body !== undefined ? c.body : Buffer.from(c.body_hex ?? '', 'hex');
    if (c.hmac_hex) {
      assert.equal(Buffer.from(selo.hmacSha512(key, body)).toString('hex'), c.hmac_hex);
      assert.equal(nodeHmac(key, body).toString('hex'), c.hmac_hex);
    }
    if (typeof key === 'string' && key.length === 128 && /^[A-Za-z0-9]+$/.test(key)) {
      assert.equal(selo.bmpSign(key, body), c.hmac_hex);
      if (c.hmac_base64) assert.equal(selo.bmpSign(key, body, { macEncoding: 'base64' }), c.hmac_base64);
      selo.bmpVerify(key, body, c.hmac_hex.toUpperCase());
      throwsCode(() => selo.bmpVerify(key, `${body} `, c.hmac_hex), 'bmp.mac.mismatch');
    }
  }
  assert.ok(hmacV.rfc4231_hmac_sha512.length >= 2);
  for (const c of hmacV.rfc4231_hmac_sha512) {
    const key = Buffer.from(c.key_hex, 'hex');
    const data = Buffer.from(c.data_hex, 'hex');
    assert.equal(Buffer.from(selo.hmacSha512(key, data)).toString('hex'), c.hmac_sha512_hex);
  }
});

test('MACs equal crypto.createHmac for random keys and bodies', () => {
  for (let i = 0; i < 50; i++) {
    const key = selo.bmpGenerateKey();
    const body = crypto.randomBytes(i * 37);
    assert.equal(selo.bmpSign(key, body), nodeHmac(key, body).toString('hex'));
  }
});

test('external money: cents and decimals to JSON text, refusals by code', () => {
  for (const c of moneyV.cases) {
    if (c.error) {
      throwsCode(() => selo.bmpMoney(c.decimal), c.error, c.decimal);
    } else if (c.cents !== undefined) {
      assert.equal(selo.bmpMoneyFromCents(c.cents).json, c.json);
    } else {
      assert.equal(selo.bmpMoney(c.decimal).json, c.json);
    }
  }
  throwsCode(() => selo.bmpMoney(1345.8), 'bmp.money.float');
  throwsCode(() => selo.bmpMoneyFromCents(-5), 'bmp.money.negative');
});

test('external confirm: decisions, first difference, hmac over received bytes', () => {
  for (const c of confirmV.cases) {
    const headers = { 'Content-Type': 'application/json', IdempotencyKey: JSON.parse(c.received).idempotencyKey };
    const r = selo.bmpConfirm(confirmV.key, headers, c.received, () => c.original, undefined);
    if (c.status === 'reject') {
      assert.notEqual(r.status, 200);
      assert.equal(r.difference, c.first_difference);
      assert.equal(r.error.code, 'bmp.confirm.mismatch');
    } else {
      assert.equal(r.status, c.status);
    }
    if (c.status === 200) {
      assert.equal(new Map(r.headers).get('hmac'), c.hmac_hex);
      assert.equal(r.confirmed, true);
    }
    if (c.status === 404) assert.equal(r.error.code, 'bmp.confirm.unknown_transaction');
  }
});

test('own canonical bodies, .NET rewrite, MACs and refusals', () => {
  const profile = { moneyFields: canonV.money_fields };
  for (const c of canonV.cases) {
    if (c.error) {
      throwsCode(() => selo.bmpCanonical(c.input, profile), c.error, c.input);
      continue;
    }
    assert.equal(utf8(selo.bmpCanonical(c.input, profile)), c.body);
    assert.equal(selo.bmpSign(canonV.key, c.body), c.hmac_hex);
    const signer = new selo.BmpSigner({ key: canonV.key, profile, seed: new Uint8Array(32) });
    const s = signer.sign(c.input);
    assert.equal(s.bodyText, c.body);
    assert.equal(s.hmac, c.hmac_hex);
    assert.equal(s.hmac, nodeHmac(canonV.key, c.body).toString('hex'));
  }
});

test('own confirm vectors (as sent, .NET decimals, reordered, changed)', () => {
  for (const c of ownConfirm.cases) {
    const headers = [['content-type', 'application/json'], ['idempotencykey', ownConfirm.idempotency_key]];
    const r = selo.bmpConfirm(ownConfirm.key, headers, c.received, (id) => (id === ownConfirm.idempotency_key ? ownConfirm.original : null));
    assert.equal(r.status, c.status, c.what);
    assert.equal(r.error ? r.error.code : null, c.code, c.what);
    assert.equal(r.difference, c.first_difference, c.what);
    if (c.hmac) assert.equal(new Map(r.headers).get('hmac'), c.hmac);
  }
  const signer = new selo.BmpSigner({ key: ownConfirm.key });
  assert.equal(signer.signBytes(ownConfirm.original, ownConfirm.idempotency_key).hmac, ownConfirm.request_hmac);
});

const TYPES = { boleto_payment: 'boletoPayment', ted: 'ted', internal_transfer: 'internalTransfer', pix: 'pix', pix_refund: 'pixRefund' };

test('own signatures: typed transactions rebuild the exact bodies and MACs', () => {
  const signer = new selo.BmpSigner({ key: sigs.key });
  const upper = new selo.BmpSigner({ key: sigs.key, profile: { macEncoding: 'uppercase-hex' } });
  const base64 = new selo.BmpSigner({ key: sigs.key, profile: { macEncoding: 'base64' } });
  for (const c of sigs.cases) {
    const d = JSON.parse(c.body).detalhes;
    const valorText = /"valor":([0-9.]+)/.exec(c.body)[1];
    const tx = { type: TYPES[c.kind], ...d, valor: valorText };
    delete tx.tipoTransacao;
    assert.ok(tx.type, c.kind);
    const s = signer.signTransaction(tx, c.idempotency_key);
    assert.equal(s.bodyText, c.body, c.kind);
    assert.equal(s.hmac, c.hmac_hex);
    assert.equal(s.endpoint, c.endpoint);
    assert.equal(selo.bmpEndpoint(tx), c.endpoint);
    assert.equal(upper.signBytes(c.body, c.idempotency_key).hmac, c.hmac_upper_hex);
    assert.equal(base64.signBytes(c.body, c.idempotency_key).hmac, c.hmac_base64);
    assert.deepEqual(s.headers.map(([n]) => n), ['Content-Type', 'IdempotencyKey', 'hmac']);
  }
});

test('typed transactions refuse bad fields with codes', () => {
  const signer = new selo.BmpSigner({ key: sigs.key });
  const conta = { agencia: '0001', conta: '1234567', tipoConta: 1 };
  throwsCode(() => signer.signTransaction({ type: 'ted', dataTransacao: '2026-11-23', contaOrigem: conta, valor: '10.00' }), 'bmp.transaction.missing_field');
  throwsCode(() => signer.signTransaction({ type: 'ted', dataTransacao: '2026-11-23', contaOrigem: { ...conta, tipoConta: 9 }, contaDestino: conta, valor: '10.00' }), 'bmp.transaction.invalid_field');
  throwsCode(() => signer.signTransaction({ type: 'ted', dataTransacao: '2026-11-23', contaOrigem: conta, contaDestino: conta, valor: 10.5 }), 'bmp.money.float');
  throwsCode(() => signer.signTransaction({ type: 'ted', dataTransacao: '2026-11-23', contaOrigem: conta, contaDestino: conta, valor: '10.005' }), 'bmp.money.precision');
  throwsCode(() => signer.signTransaction({ type: 'nope', dataTransacao: '2026-11-23', contaOrigem: conta, valor: '1' }), 'bmp.transaction.invalid_field');
  throwsCode(() => new selo.BmpSigner({ key: 'short' }), 'bmp.key.invalid');
  throwsCode(() => signer.sign('{"valor": 1.234}'), 'bmp.money.precision');
  throwsCode(() => signer.sign('{"a":1,"a":2}'), 'bmp.body.malformed');
  throwsCode(() => signer.signBytes('{}', 'not-a-uuid'), 'bmp.idempotency_key.invalid');
  throwsCode(() => selo.bmpVerify(sigs.key, '{}', 'zz'), 'bmp.mac.encoding');
  throwsCode(() => selo.bmpProfile({ macEncoding: 'rot13' }), 'bmp.profile.invalid');
});

test('external br identifiers: CPF, CNPJ (numeric, alphanumeric), boletos, Pix keys', () => {
  for (const c of ids.cpf) assert.equal(selo.isValidCpf(c.value), c.valid, c.value);
  for (const c of ids.cnpj) assert.equal(selo.isValidCnpj(c.value), c.valid, c.value);
  for (const c of ids.cnpj_alphanumeric) {
    assert.equal(selo.isValidCnpj(c.value), c.valid, c.value);
    if (c.valid && c.formatted) assert.equal(selo.formatCnpj(c.value), c.formatted);
    if (!c.valid) throwsCode(() => selo.normalizeCnpj(c.value), 'br.cnpj.invalid');
  }
  for (const c of ids.boleto_bancario) {
    assert.equal(selo.isValidLinhaDigitavel(c.linha_digitavel), c.valid, c.linha_digitavel);
    if (c.valid) {
      const b = selo.parseBoleto(c.linha_digitavel);
      assert.equal(b.barcode, c.codigo_barras);
      assert.equal(selo.linhaToBarcode(c.linha_digitavel), c.codigo_barras);
      assert.equal(selo.barcodeToLinha(c.codigo_barras), c.linha_digitavel);
      if (c.amount_cents !== undefined) assert.equal(b.amountCents, c.amount_cents);
      if (c.bank) assert.equal(b.bank, c.bank);
    } else {
      assert.throws(() => selo.parseBoleto(c.linha_digitavel), (e) => e instanceof selo.SeloError && e.code.startsWith('br.boleto.'));
    }
  }
  for (const c of ids.pix_keys) {
    const d = selo.detectPixKey(c.key);
    if (c.valid) assert.deepEqual(d, c.info, c.key);
    else assert.equal(d, null, c.key);
  }
  throwsCode(() => selo.normalizeCpf('123'), 'br.cpf.invalid');
  throwsCode(() => selo.validateIspb('1234'), 'br.ispb.invalid');
  throwsCode(() => selo.validatePixKey(9, 'x'), 'br.pix_key.type');
  throwsCode(() => selo.validatePixKey('email', 'not an email'), 'br.pix_key.invalid');
});

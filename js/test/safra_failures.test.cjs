'use strict';
// SafraClient failure paths (issue 11) against the core's bank role plugged
// in as a fake `fetch`: the fake decides, per request, whether the bank
// processes it and what reaches the client (the bank's reply, a gateway's
// 502, a lost reply, a timeout, a refused connection). The driver only
// reports transport failures to the session (`handleTransportError`); every
// decision — retry, reconcile psd050 with a psd052 query, give up typed — is
// the core's, and these tests check the bytes that went out.
const { test } = require('node:test');
const { selo, vector, vectorText, seed, assert } = require('./helpers.cjs');

const gen = vector('safra/generated.json');
const boleto = JSON.parse(vectorText('safra/boleto-sample.json'));
const NOSSO = '000000123456789';
const query = { nossoNumero: NOSSO, seuNumero: '0000004021' };

/** A lost reply as undici's fetch reports it: "fetch failed" caused by the closed socket. */
function socketClosed() {
  const cause = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
  return new TypeError('fetch failed', { cause });
}
function refused() {
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect' });
  return new TypeError('fetch failed', { cause });
}
function timedOut() {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError');
}

/**
 * `plan(service, n)` (n: 1-based count of that service so far) returns
 * undefined (normal), or `{ process: bool, then: 'reply' | 502 | 'reset' |
 * 'timeout' | 'refused' | 'hang' }`.
 */
function setup(plan = () => undefined, { timeoutMs, maxRecoveries } = {}) {
  const clock = { now: 1_800_000_000 };
  const log = [];
  const counts = {};
  const profile = maxRecoveries === undefined ? undefined : { maxRecoveries };
  const bank = new selo.SafraBank({ bankKey: gen.bank_private_pkcs8_pem, profile, tokenLifetime: 600, seed: seed(9) });
  const fetch = async (url, init) => {
    const path = new URL(url).pathname;
    const service = path.split('/').pop();
    counts[service] = (counts[service] || 0) + 1;
    const p = plan(service, counts[service]) || { process: true, then: 'reply' };
    let r = null;
    if (p.process) r = bank.handle(path, init.headers, init.body, clock.now);
    log.push(`${service}:${p.then === 'reply' ? r.status : p.then}`);
    switch (p.then) {
      case 'reply':
        return new Response(r.body.length ? r.body : null, { status: r.status, headers: r.headers });
      case 502:
        return new Response('{"codigo":"bad_gateway"}', { status: 502, headers: { 'content-type': 'application/json' } });
      case 'reset':
        throw socketClosed();
      case 'timeout':
        throw timedOut();
      case 'refused':
        throw refused();
      case 'hang':
        // Never answers: only the client's own timeout (AbortSignal) ends it.
        // (AbortSignal.timeout's timer does not keep node alive; a real
        // socket would: this timer stands for it.)
        return new Promise((_, reject) => {
          assert.ok(init.signal, 'the client passes an AbortSignal (timeoutMs)');
          const socket = setTimeout(() => reject(new Error('the client timeout never fired')), 10_000);
          init.signal.addEventListener('abort', () => {
            clearTimeout(socket);
            reject(init.signal.reason);
          });
        });
      default:
        throw new Error(`bad plan ${JSON.stringify(p)}`);
    }
  };
  const events = [];
  const client = new selo.SafraClient({
    cliente: 'CLIENTE01',
    baseUrl: 'http://bank.test/psd',
    profile,
    clientKey: gen.client_private_pkcs8_pem,
    fetch,
    timeoutMs,
    now: () => clock.now,
    onEvent: (e) => e.type === 'transport-error' && events.push(`${e.url.split('/').pop()}:${e.failure}:${e.action}`),
  });
  return { bank, client, log, events };
}

const only = (svc, n, p) => (s, k) => (s === svc && k === n ? p : undefined);

test('psd050 stored, reply lost (reset) → reconcile → psd052 finds it → reconciled: true, psd050 sent once', async () => {
  const { bank, client, log, events } = setup(only('psd050', 1, { process: true, then: 'reset' }));
  const reg = await client.registerBoleto(boleto);
  assert.equal(reg.ok, true, JSON.stringify(reg));
  assert.equal(reg.reconciled, true);
  assert.equal(reg.nossoNumero, NOSSO);
  assert.deepEqual(log, ['psd001:200', 'psd001:200', 'psd005:200', 'psd050:reset', 'psd052:200']);
  assert.deepEqual(events, ['psd050:reset:reconcile']);
  assert.equal(bank.boletos().length, 1);
  // The operation ended: the next one is an ordinary, non-reconciled one.
  const q = await client.queryBoleto(query);
  assert.equal(q.ok, true);
  assert.equal(q.reconciled, false);
});

test('psd050 stored, gateway answers 502 → reconcile → reconciled: true (no second psd050)', async () => {
  const { bank, client, log } = setup(only('psd050', 1, { process: true, then: 502 }));
  const reg = await client.registerBoleto(boleto);
  assert.equal(reg.ok, true);
  assert.equal(reg.reconciled, true);
  assert.equal(log.filter((l) => l.startsWith('psd050')).length, 1);
  assert.equal(bank.boletos().length, 1);
});

test('psd050 not processed, timed out → reconcile → not found → psd050 resent exactly once', async () => {
  const { bank, client, log, events } = setup(only('psd050', 1, { process: false, then: 'timeout' }));
  const reg = await client.registerBoleto(boleto);
  assert.equal(reg.ok, true, JSON.stringify(reg));
  assert.equal(reg.reconciled, false);
  assert.equal(reg.codigoBarras.length, 44);
  assert.deepEqual(log, ['psd001:200', 'psd001:200', 'psd005:200', 'psd050:timeout', 'psd052:550', 'psd050:200']);
  assert.deepEqual(events, ['psd050:timeout:reconcile']);
  assert.equal(bank.boletos().length, 1);
});

test('psd050 ambiguous and the reconcile query ambiguous too → safra.boleto.outcome_unknown naming the nossoNumero; the session is not wedged', async () => {
  const plan = (s, k) => (s === 'psd050' && k === 1 ? { process: true, then: 502 } : s === 'psd052' && k === 1 ? { process: true, then: 'reset' } : undefined);
  const { bank, client, log } = setup(plan);
  await assert.rejects(client.registerBoleto(boleto), (e) => {
    assert.ok(e instanceof selo.SeloError, `expected SeloError, got ${e && e.name}: ${e && e.message}`);
    assert.equal(e.code, 'safra.boleto.outcome_unknown');
    assert.match(e.message, /123456789/);
    return true;
  });
  assert.deepEqual(log.slice(-2), ['psd050:502', 'psd052:reset']);
  assert.equal(log.filter((l) => l.startsWith('psd050')).length, 1, 'never resent blindly');
  // The host decides; the session runs the next operation at once.
  const q = await client.queryBoleto(query);
  assert.equal(q.ok, true);
  assert.equal(bank.boletos().length, 1);
});

test('timeout on psd005 (the client\'s own timeoutMs) → retry → authenticated', async () => {
  const { client, log, events } = setup(only('psd005', 1, { process: false, then: 'hang' }), { timeoutMs: 50 });
  const a = await client.authenticate();
  assert.equal(a.type, 'authenticated');
  assert.deepEqual(log, ['psd001:200', 'psd001:200', 'psd005:hang', 'psd005:200']);
  assert.deepEqual(events, ['psd005:timeout:retry']);
});

test('a refused connection on psd050 is "connect" (never sent): sent again, no reconcile query', async () => {
  const { bank, client, log, events } = setup(only('psd050', 1, { process: false, then: 'refused' }));
  const reg = await client.registerBoleto(boleto);
  assert.equal(reg.ok, true);
  assert.equal(reg.reconciled, false);
  assert.deepEqual(log.slice(3), ['psd050:refused', 'psd050:200']);
  assert.deepEqual(events, ['psd050:connect:retry']);
  assert.equal(bank.boletos().length, 1);
});

test('a dropped psd052 reply (reset) is retried: psd052 may be resent', async () => {
  const { client, log, events } = setup(only('psd052', 1, { process: true, then: 'reset' }));
  const q = await client.queryBoleto(query);
  assert.equal(q.ok, false); // not registered: the bank's typed 550
  assert.deepEqual(log.slice(3), ['psd052:reset', 'psd052:550']);
  assert.deepEqual(events, ['psd052:reset:retry']);
});

test('a bank that never answers ends in too_many_recoveries carrying the transport error; the next operation starts clean', async () => {
  let down = true;
  const { client } = setup((s) => (down && s === 'psd005' ? { process: false, then: 'refused' } : undefined), { maxRecoveries: 2 });
  await assert.rejects(client.authenticate(), (e) => {
    assert.ok(e instanceof selo.SeloError, `expected SeloError, got ${e && e.name}: ${e && e.message}`);
    assert.equal(e.code, 'safra.session.too_many_recoveries');
    assert.equal(e.cause && e.cause.message, 'fetch failed');
    return true;
  });
  down = false;
  assert.equal((await client.authenticate()).type, 'authenticated');
});

test('the session says which request may be resent: psd050 not, the others yes', async () => {
  const seen = [];
  const { client } = setup();
  const send0 = client._send;
  client._send = (req) => {
    seen.push(`${req.url.split('/').pop()}:${req.resendable}`);
    return send0(req);
  };
  await client.registerBoleto(boleto);
  await client.queryBoleto(query);
  assert.deepEqual(seen, ['psd001:true', 'psd001:true', 'psd005:true', 'psd050:false', 'psd052:true']);
});

test('timeoutMs: default 30 s, validated', () => {
  assert.throws(() => new selo.SafraClient({ cliente: 'C', fetch: async () => null, timeoutMs: -1 }), TypeError);
  assert.throws(() => new selo.SafraClient({ cliente: 'C', fetch: async () => null, timeoutMs: '5' }), TypeError);
});

test('SafraSession.handleTransportError refuses an unknown failure kind', () => {
  const s = new selo.SafraSession({ cliente: 'C', baseUrl: 'http://bank.test/psd', clientKey: gen.client_private_pkcs8_pem });
  const { id } = s.prepareNext('handshake', 1_800_000_000);
  assert.throws(() => s.handleTransportError(id, 'lost', 1_800_000_000), TypeError);
  const out = s.handleTransportError(id, 'timeout', 1_800_000_000);
  assert.deepEqual(out, { done: false, action: 'retry' });
});

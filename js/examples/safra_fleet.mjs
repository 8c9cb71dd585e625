// Many calls, many instances (SPEC §5): three SafraClients — as three
// processes of a service would be — share one Safra session through Redis
// (REDIS_URL, default redis://127.0.0.1:6379). The bank is the core's bank
// role plugged in as `fetch` (20 ms per call). 3 × 20 registrations, 4 in
// flight per instance: one handshake and one psd005 for the whole fleet.
import { SafraClient, SafraBank, RsaPrivateKey } from 'selo';
import { RedisSafraShare } from 'selo/redis';
import { createClient } from 'redis';
import crypto from 'node:crypto';

const bank = new SafraBank({ bankKey: RsaPrivateKey.generate(1024), tokenLifetime: 600 });
const calls = {};
const fetch = async (url, init) => {
  const service = new URL(url).pathname.split('/').pop();
  calls[service] = (calls[service] || 0) + 1;
  await new Promise((r) => setTimeout(r, 20)); // the network
  const r = bank.handle(new URL(url).pathname, init.headers, init.body);
  return new Response(r.body.length ? r.body : null, { status: r.status, headers: r.headers });
};

// The same 32-byte seal key on every instance, from your secret store (never
// sent to Redis); the same fleet name for one client code at one bank.
const sealKey = crypto.randomBytes(32);
const name = `example-${crypto.randomUUID()}`;

const boleto = (nossoNumero) => ({
  agencia: 200, conta: 1234567,
  documento: {
    nossoNumero, seuNumero: `S${nossoNumero % 1_000_000}`, especie: '01', dataVencimento: '2026-12-31',
    valor: 1500000, codigoMoeda: 0, qtdDiasProtesto: 5, identificacaoAceite: 'N',
    desconto: { data: '2026-12-20', valor: 12345 }, multa: { juros: 1.5, data: '2027-01-01', taxa: 2.0 },
    pagador: { nome: 'Fulano de Tal', tipoPessoa: 1, numeroDocumento: 52998224725,
      endereco: { nome: 'Av Paulista 1000', bairro: 'Bela Vista', cidade: 'Sao Paulo', uf: 'SP', cep: 1310100 } },
  },
});

async function instance(i) {
  // disableOfflineQueue: a call while Redis is away fails at once
  // (shared.store_unavailable) instead of waiting in node-redis' queue.
  const redis = await createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379', disableOfflineQueue: true })
    .on('error', () => {})
    .connect();
  const shared = new RedisSafraShare(redis, { name, sealKey, leaseTtlMs: 10_000 });
  const client = new SafraClient({ cliente: 'CLIENTE01', baseUrl: 'http://bank.local/psd', fetch, shared });
  const todo = Array.from({ length: 20 }, (_, k) => 300_000_000 + i * 1000 + k);
  let ok = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let n = todo.shift(); n !== undefined; n = todo.shift()) {
      if ((await client.registerBoleto(boleto(n))).ok) ok++;
    }
  }));
  await client.close(); // gives the fleet's lease back if this instance holds it
  return { ok, stats: shared.stats(), redis };
}

const out = await Promise.all([0, 1, 2].map(instance));
// (The example cleans up after itself; a real fleet keeps its record.)
await out[0].redis.del([`selo:{safra:${name}}:record`, `selo:{safra:${name}}:fence`]);
for (const o of out) await o.redis.quit();
console.log('registered', out.map((o) => o.ok).join(' '));
console.log('psd001', calls.psd001, 'psd005', calls.psd005, 'psd050', calls.psd050);
console.log('handshakes', out.map((o) => o.stats.handshakes).join(' '), 'adopted', out.map((o) => o.stats.adopted).join(' '));

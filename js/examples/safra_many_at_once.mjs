// Many calls at once through one SafraClient (SPEC §5), against the core's
// bank role plugged in as `fetch` with 50 ms per call. The 32 registrations
// share one handshake and one psd005; at most 8 are in flight.
import { SafraClient, SafraBank, RsaPrivateKey } from 'selo';

const bank = new SafraBank({ bankKey: RsaPrivateKey.generate(1024), tokenLifetime: 600 });
const calls = {};
const fetch = async (url, init) => {
  const service = new URL(url).pathname.split('/').pop();
  calls[service] = (calls[service] || 0) + 1;
  await new Promise((r) => setTimeout(r, 50)); // the network
  const r = bank.handle(new URL(url).pathname, init.headers, init.body);
  return new Response(r.body.length ? r.body : null, { status: r.status, headers: r.headers });
};
const client = new SafraClient({ cliente: 'CLIENTE01', baseUrl: 'http://bank.local/psd', fetch });

const boleto = (nossoNumero) => ({
  agencia: 200, conta: 1234567,
  documento: {
    nossoNumero, seuNumero: String(nossoNumero).slice(-10), especie: '01', dataVencimento: '2026-12-31',
    valor: 1500000, codigoMoeda: 0, qtdDiasProtesto: 5, identificacaoAceite: 'N',
    desconto: { data: '2026-12-20', valor: 12345 }, multa: { juros: 1.5, data: '2027-01-01', taxa: 2.0 },
    pagador: { nome: 'Fulano de Tal', tipoPessoa: 1, numeroDocumento: 52998224725,
      endereco: { nome: 'Av Paulista 1000', bairro: 'Bela Vista', cidade: 'Sao Paulo', uf: 'SP', cep: 1310100 } },
  },
});

// 8 workers over 32 boletos: each call begins its own operation.
const todo = Array.from({ length: 32 }, (_, i) => 100_000_000 + i);
const results = [];
const t0 = Date.now();
await Promise.all(Array.from({ length: 8 }, async () => {
  for (let n = todo.shift(); n !== undefined; n = todo.shift()) {
    results.push(await client.registerBoleto(boleto(n), { signal: AbortSignal.timeout(10_000) }));
  }
}));
console.log('registered', results.filter((r) => r.ok).length, 'in', Date.now() - t0, 'ms');
console.log('psd001', calls.psd001, 'psd005', calls.psd005, 'psd050', calls.psd050);

// The same boleto twice at once: the second call is refused, typed.
const [a, b] = await Promise.allSettled([client.registerBoleto(boleto(200_000_000)), client.registerBoleto(boleto(200_000_000))]);
console.log(a.status, b.status, b.reason.code);

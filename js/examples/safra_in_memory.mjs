// The whole Safra PSD flow against the core's bank role, in memory: the bank
// is plugged in as the client's `fetch`. Swap `fetch` for the real one (and
// add `tls`) to talk to Safra.
import { SafraClient, SafraBank, RsaPrivateKey } from 'selo';

const bank = new SafraBank({ bankKey: RsaPrivateKey.generate(1024), tokenLifetime: 600 });
const fetch = async (url, init) => {
  const r = bank.handle(new URL(url).pathname, init.headers, init.body);
  return new Response(r.body.length ? r.body : null, { status: r.status, headers: r.headers });
};

const client = new SafraClient({ cliente: 'CLIENTE01', baseUrl: 'http://bank.local/psd', fetch });
const boleto = {
  agencia: 200, conta: 1234567,
  documento: {
    nossoNumero: 123456789, seuNumero: '0000004021', especie: '01', dataVencimento: '2026-12-31',
    valor: 1500000, codigoMoeda: 0, qtdDiasProtesto: 5, identificacaoAceite: 'N',
    desconto: { data: '2026-12-20', valor: 12345 }, multa: { juros: 1.5, data: '2027-01-01', taxa: 2.0 },
    pagador: { nome: 'Fulano de Tal', tipoPessoa: 1, numeroDocumento: 52998224725,
      endereco: { nome: 'Av Paulista 1000', bairro: 'Bela Vista', cidade: 'Sao Paulo', uf: 'SP', cep: 1310100 } },
  },
};
bank.inject('expire-key'); // the next call finds the key expired: the client re-handshakes by itself
const reg = await client.registerBoleto(boleto);
console.log('registered', reg.ok, reg.nossoNumero, reg.codigoBarras);
const q = await client.queryBoleto({ nossoNumero: reg.nossoNumero, seuNumero: '0000004021' });
console.log('queried', q.ok, q.registradoCip);

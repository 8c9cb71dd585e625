// A BMP Pix payment: sign, host the confirmation endpoint, send. A fake BMP
// (the core's BMP side) stands in for the real one.
import http from 'node:http';
import { BmpClient, BmpServer, MemoryTransactionStore, bmpGenerateKey } from 'selo';

const key = bmpGenerateKey(); // in production: the 128-character key agreed with BMP
// The bodies we send are kept in a store the confirmation handler reads.
const store = new MemoryTransactionStore();
const confirmer = new BmpClient({ key, store });

// 1. The partner's confirmation endpoint (BMP calls it back before executing).
const partner = http.createServer(confirmer.nodeConfirmationHandler()).listen(0, '127.0.0.1');
await new Promise((r) => partner.once('listening', r));

// 2. A stand-in for BMP.
const bmpSide = new BmpServer({ key });
const bmp = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  try {
    const tx = bmpSide.checkRequest(req.headers, Buffer.concat(chunks));
    const call = bmpSide.confirmationRequest(tx, `http://127.0.0.1:${partner.address().port}/confirmacao`);
    const r = await fetch(call.request.url, { method: 'POST', headers: call.request.headers, body: call.request.body });
    bmpSide.checkConfirmationReply(call, { status: r.status, headers: [...r.headers], body: new Uint8Array(await r.arrayBuffer()) });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"sucesso":true}');
  } catch (e) {
    res.writeHead(e.httpStatus || 500, { 'content-type': 'application/json' }).end(JSON.stringify({ code: e.code }));
  }
}).listen(0, '127.0.0.1');
await new Promise((r) => bmp.once('listening', r));

// 3. Pay: typed transaction, amounts as decimal strings; retries reuse the IdempotencyKey.
const client = new BmpClient({ key, store, baseUrl: `http://127.0.0.1:${bmp.address().port}` });
const r = await client.pay({
  type: 'pix', dataTransacao: '2026-11-23T10:15:00', valor: '100.00',
  contaOrigem: { agencia: '0001', conta: '1234567', contaDigito: '8', tipoConta: 1 },
  chavePix: 'fulano@example.com', tipoChave: 3,
});
console.log(r.status, r.json, r.idempotencyKey);
partner.close();
bmp.close();

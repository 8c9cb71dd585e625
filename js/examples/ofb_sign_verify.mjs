// Open Finance Brasil: sign a request body (PS256), verify it as the
// resource server would, and get the exact OFB error response for a replay.
import { RsaPrivateKey, OfbSigner, OfbVerifier, JtiCache } from 'selo';

const key = RsaPrivateKey.generate(2048);
const kid = key.publicKey().thumbprint();
const jwks = { keys: [{ ...key.publicKey().toJwk(kid), use: 'sig' }] };
const url = 'https://api.banco.example/open-banking/payments/v4/consents';

const signer = new OfbSigner({ key, kid, iss: 'org-tpp' });
const { token } = signer.sign({ data: { payment: { amount: '100.00', currency: 'BRL' } } }, { aud: url });

const verifier = new OfbVerifier({ jwks });
const cache = new JtiCache();
const req = { method: 'POST', contentType: 'application/jwt', body: token };
const expected = { aud: url, iss: 'org-tpp', clientId: 'client-1' };
const first = verifier.verifyRequest(req, expected, cache);
console.log('first', first.ok, first.verified.payload.data);
const again = verifier.verifyRequest(req, expected, cache);
console.log('replay', again.ok, again.error.code, again.response.status, Buffer.from(again.response.body).toString());

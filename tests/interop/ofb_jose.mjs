// OFB JWS interop with the npm `jose` package and Node's `crypto`.
// Reads one JSON request on stdin, writes one JSON answer.
//
// ops:
//   verify       {token, jwk, aud, iss, now}   -> {ok, header, claims} | {ok:false, error: "<jose code>: msg"}
//                (only a jose.errors.JOSEError is a refusal; any other exception exits non-zero)
//   sign         {private_pem, kid, claims}    -> {token}
//   sign_input   {private_pem, input}          -> {signature_b64url}   (node:crypto PSS)
//   thumbprint   {jwk}                         -> {thumbprint}
//   jwk_from_pem {pem}                         -> {jwk}   (PKCS#8 private key)
import * as jose from 'jose';
import { createPrivateKey, sign as nodeSign, constants } from 'node:crypto';

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const ops = {
  async verify(req) {
    try {
      const key = await jose.importJWK(req.jwk, 'PS256');
      const { payload, protectedHeader } = await jose.jwtVerify(req.token, key, {
        algorithms: ['PS256'],
        audience: req.aud,
        issuer: req.iss,
        typ: 'JWT',
        requiredClaims: ['iat', 'jti'],
        currentDate: new Date(req.now * 1000),
        maxTokenAge: 60,
        clockTolerance: 60,
      });
      return { ok: true, header: protectedHeader, claims: payload };
    } catch (e) {
      // Only jose's own refusals count as "refused"; anything else (a bug in
      // this script, a bad request) propagates and exits non-zero.
      if (!(e instanceof jose.errors.JOSEError)) throw e;
      return { ok: false, error: `${e.code}: ${e.message}` };
    }
  },
  async sign(req) {
    const key = await jose.importPKCS8(req.private_pem, 'PS256');
    const token = await new jose.SignJWT(req.claims)
      .setProtectedHeader({ alg: 'PS256', kid: req.kid, typ: 'JWT' })
      .sign(key);
    return { token };
  },
  async sign_input(req) {
    const key = createPrivateKey(req.private_pem);
    const sig = nodeSign('sha256', Buffer.from(req.input, 'utf8'), {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    return { signature_b64url: sig.toString('base64url') };
  },
  async thumbprint(req) {
    return { thumbprint: await jose.calculateJwkThumbprint(req.jwk, 'sha256') };
  },
  async jwk_from_pem(req) {
    const key = await jose.importPKCS8(req.pem, 'PS256', { extractable: true });
    return { jwk: await jose.exportJWK(key) };
  },
};

const req = await readStdin();
process.stdout.write(JSON.stringify(await ops[req.op](req)));

"""Every check that guards money or access, broken one thing at a time.

Each test first shows the unbroken message passes the check (so the test can
tell a refusal from a setup bug), then breaks exactly one thing (one byte,
one member, one header) and expects exactly that check's stable code, and
for server roles the HTTP status the code maps to.

- Safra bank role: the stage-1 and stage-2 signatures, the session the
  stage-2 parametros belong to (``safra.handshake.session_mismatch``), a
  stage 2 without stage 1 (``safra.handshake.unknown_session``), the Bearer
  token and amc-work-id (``safra.bank.unauthorized``), and IV reuse.
- OFB: the PS256 signature (one bit of the signature, one member of the
  payload) and jti replay.
- BMP: the body HMAC at the BMP side (one byte of the body, one hex digit of
  the hmac header), the confirmation reply's HMAC, and the partner's
  confirmation match (one member of the body)."""

import base64
import json
import time
from decimal import Decimal

import pytest

import selo
from selo import bmp, ofb, safra
from conftest import VECTORS, vec, vec_text

GEN = vec("safra/generated.json")
BANK_KEY = selo.PrivateKey.load(GEN["bank_private_pkcs8_pem"])
CLIENT_KEY = selo.PrivateKey.load(GEN["client_private_pkcs8_pem"])
URL = "https://bank.test/psd"
NOW = 1_800_000_000


def b64_flip(s: str, index: int = 0) -> str:
    """The standard-base64 text ``s`` with one bit of decoded byte ``index`` flipped."""
    raw = bytearray(base64.b64decode(s))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def send(bank, p, headers=None, body=None):
    """Hands a prepared request (optionally with other headers/body) to the bank."""
    path = p.url.split("://", 1)[1].split("/", 1)[1]
    return bank.handle("/" + path, p.headers if headers is None else headers, p.body if body is None else body, now=NOW)


def refused(r, code, status):
    assert r.status == status, (r.status, r.body)
    assert json.loads(r.body)["codigo"] == code, r.body


def with_header(headers, name, value):
    out = [(n, value if n.lower() == name else v) for n, v in headers]
    assert out != list(headers), f"no {name} header to change"
    return out


def stage1(bank, sid_session=None):
    """A session that has done stage 1 with ``bank``; returns (session, stage-2 request)."""
    s = sid_session or safra.Session(URL, "CLIENTE01", client_key=CLIENT_KEY)
    p1 = s.prepare(safra.Operation.handshake(), now=NOW)
    r1 = send(bank, p1)
    assert r1.status == 200, r1.body
    out = s.handle(p1.id, r1.status, r1.headers, r1.body, now=NOW)
    assert not out.done
    p2 = s.prepare(safra.Operation.handshake(), now=NOW)
    assert "parametros" in json.loads(p2.body)
    return s, p2


def authenticated(bank):
    s = safra.Session(URL, "CLIENTE01", client_key=CLIENT_KEY)
    op = safra.Operation.authenticate()
    while True:
        p = s.prepare(op, now=NOW)
        r = send(bank, p)
        if s.handle(p.id, r.status, r.headers, r.body, now=NOW).done:
            return s


def query_request(s):
    p = s.prepare(safra.Operation.query_boleto("000000123456789", "0000004021"), now=NOW)
    assert p.url.endswith("/psd052")
    return p


# ---- Safra bank role: handshake --------------------------------------------------------------


def test_stage1_signature_one_byte_flipped_is_bad_signature():
    bank = safra.Bank(BANK_KEY)
    s = safra.Session(URL, "CLIENTE01", client_key=CLIENT_KEY)
    p = s.prepare(safra.Operation.handshake(), now=NOW)
    body = json.loads(p.body)
    parts = body["jwk"].split(".")
    broken = json.dumps({**body, "jwk": ".".join([b64_flip(parts[0], 7)] + parts[1:])}).encode()
    refused(send(bank, p, body=broken), "safra.handshake.bad_signature", 400)
    assert send(bank, p).status == 200  # the unbroken request passes


def test_stage2_signature_one_byte_flipped_is_bad_signature():
    bank = safra.Bank(BANK_KEY)
    _, p2 = stage1(bank)
    body = json.loads(p2.body)
    enc, sig = body["parametros"].split(".")
    broken = json.dumps({**body, "parametros": f"{enc}.{b64_flip(sig, 11)}"}).encode()
    refused(send(bank, p2, body=broken), "safra.handshake.bad_signature", 400)
    assert send(bank, p2).status == 200


def test_stage2_for_another_session_is_session_mismatch():
    """Session A did stage 1; A's stage-2 request carries B's encrypted
    session id instead of its own: the signature (over A's id, checked
    first) verifies, the decrypted id does not match the header."""
    bank = safra.Bank(BANK_KEY)
    a, p2a = stage1(bank)
    b, p2b = stage1(bank)
    assert a.session_id != b.session_id
    body_a = json.loads(p2a.body)
    enc_a, sig_a = body_a["parametros"].split(".")
    enc_b, _ = json.loads(p2b.body)["parametros"].split(".")
    assert enc_a != enc_b
    swapped = json.dumps({**body_a, "parametros": f"{enc_b}.{sig_a}"}).encode()
    refused(send(bank, p2a, body=swapped), "safra.handshake.session_mismatch", 400)
    # B's whole request under A's amc-session-id: its signature is over B's id
    headers = with_header(p2b.headers, "amc-session-id", a.session_id)
    refused(send(bank, p2b, headers=headers), "safra.handshake.bad_signature", 400)
    assert send(bank, p2a).status == 200  # each unbroken request is accepted
    assert send(bank, p2b).status == 200


def test_stage2_without_stage1_is_unknown_session():
    """The same stage-2 request, to a bank (same key) that never saw its stage 1."""
    _, p2 = stage1(safra.Bank(BANK_KEY))
    other = safra.Bank(BANK_KEY)
    refused(send(other, p2), "safra.handshake.unknown_session", 400)


# ---- Safra bank role: authorised calls ----------------------------------------------------


def test_bearer_token_one_character_changed_is_unauthorized():
    bank = safra.Bank(BANK_KEY)
    s = authenticated(bank)
    p = query_request(s)
    auth = dict((n.lower(), v) for n, v in p.headers)["authorization"]
    assert auth.startswith("Bearer ")
    last = auth[-1]
    broken = auth[:-1] + ("A" if last != "A" else "B")
    refused(send(bank, p, headers=with_header(p.headers, "authorization", broken)), "safra.bank.unauthorized", 401)
    # Without the header at all: the same code.
    no_auth = [(n, v) for n, v in p.headers if n.lower() != "authorization"]
    refused(send(bank, p, headers=no_auth), "safra.bank.unauthorized", 401)
    # The unbroken request reaches the business layer (550: the boleto is unknown).
    assert send(bank, p).status == 550


def test_work_id_of_another_session_is_unauthorized():
    bank = safra.Bank(BANK_KEY)
    s = authenticated(bank)
    p = query_request(s)
    work_id = dict((n.lower(), v) for n, v in p.headers)["amc-work-id"]
    other = work_id[:-1] + ("0" if work_id[-1] != "0" else "1")
    refused(send(bank, p, headers=with_header(p.headers, "amc-work-id", other)), "safra.bank.unauthorized", 401)
    assert send(bank, p).status == 550


def test_the_same_envelope_twice_is_reused_iv():
    """A byte-for-byte replay of an authorised call: the bank has seen its IV."""
    bank = safra.Bank(BANK_KEY)
    s = authenticated(bank)
    p = query_request(s)
    assert send(bank, p).status == 550  # first time: reaches the business layer
    refused(send(bank, p), "safra.envelope.reused_iv", 400)


def test_the_client_refuses_a_reply_with_a_reused_iv():
    """The bank's replies carry fresh IVs; a reply repeating an earlier
    reply's envelope (an attacker's replay) is refused by the client."""
    bank = safra.Bank(BANK_KEY)
    s = authenticated(bank)
    reg = s.prepare(safra.Operation.register_boleto(vec_text("safra/boleto-sample.json")), now=NOW)
    assert reg.url.endswith("/psd050")
    r = send(bank, reg)
    assert r.status == 200, r.body  # an encrypted reply (a 550's body is read as data, not trusted)
    out = s.handle(reg.id, r.status, r.headers, r.body, now=NOW)
    assert out.done and isinstance(out.reply, safra.BoletoReply) and out.reply.iv_reused is False
    p = query_request(s)
    fresh = send(bank, p)
    assert fresh.status == 200 and fresh.body != r.body
    with pytest.raises(selo.SafraError) as ei:
        s.handle(p.id, r.status, r.headers, r.body, now=NOW)  # the first reply again
    assert ei.value.code == "safra.envelope.reused_iv"


# ---- OFB --------------------------------------------------------------------------------------

OFB_KEY = selo.PrivateKey.load((VECTORS / "external/keys/rsa2048-ofb.pem").read_text())
KID = "k1"
AUD = "https://rs.example/open-banking/payments/v4/consents"
ISS = "c0ffee00-0000-4000-8000-000000000001"
JWKS = selo.JwkSet.of([OFB_KEY.public_key().to_jwk().with_(kid=KID, alg="PS256", use="sig")])


def _b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64url(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _ofb_token(now):
    return ofb.sign(OFB_KEY, {"data": {"amount": "100.00"}}, kid=KID, aud=AUD, iss=ISS, now=now).token


def _decide(server, token, now, client_id="c1"):
    return server.decide(method="POST", content_type="application/jwt", body=token.encode(), aud=AUD, iss=ISS,
                         client_id=client_id, now=now)


def test_ofb_signature_one_bit_flipped_is_bad_signature():
    now = int(time.time())
    tok = _ofb_token(now)
    h, p, sig = tok.split(".")
    raw = bytearray(_unb64url(sig))
    raw[100] ^= 0x80
    d = _decide(ofb.Server(JWKS), f"{h}.{p}.{_b64url(bytes(raw))}", now)
    assert not d.ok and d.error.code == "ofb.verify.bad_signature" and d.response.status == 400
    assert _decide(ofb.Server(JWKS), tok, now).ok


def test_ofb_payload_one_member_changed_is_bad_signature():
    now = int(time.time())
    tok = _ofb_token(now)
    h, p, sig = tok.split(".")
    claims = json.loads(_unb64url(p))
    assert claims["data"]["amount"] == "100.00"
    claims["data"]["amount"] = "900.00"
    d = _decide(ofb.Server(JWKS), f"{h}.{_b64url(json.dumps(claims, separators=(',', ':')).encode())}.{sig}", now)
    assert not d.ok and d.error.code == "ofb.verify.bad_signature" and d.response.status == 400


def test_ofb_same_token_twice_is_replay():
    now = int(time.time())
    server = ofb.Server(JWKS)
    tok = _ofb_token(now)
    assert _decide(server, tok, now).ok
    d = _decide(server, tok, now)
    assert not d.ok and d.error.code == "ofb.replay.jti" and d.response.status == 403
    assert _decide(server, _ofb_token(now), now).ok  # a fresh jti passes


# ---- BMP --------------------------------------------------------------------------------------


def _signed(key):
    acc = bmp.Account("0001", "1234567", 1, agencia_digito="1", conta_digito="8", documento_federal="52998224725",
                      nome="Titular", numero_banco=274, ispb="13370835")
    tx = bmp.Pix("2026-11-23T10:15:00", acc, Decimal("100.00"), "fulano@example.com", 3, conta_destino=acc)
    return bmp.Signer(key).sign_transaction(tx)


def test_bmp_body_one_byte_changed_is_bad_mac():
    key = bmp.generate_key()
    server = bmp.Server(key)
    s = _signed(key)
    assert b"fulano@example.com" in s.body
    body = s.body.replace(b"fulano@example.com", b"fulano@example.con", 1)
    assert len(body) == len(s.body) and sum(a != b for a, b in zip(body, s.body)) == 1
    with pytest.raises(selo.BmpError) as ei:
        server.check_request(s.headers, body)
    assert ei.value.code == "bmp.server.bad_mac" and ei.value.http_status == 406
    server.check_request(s.headers, s.body)


def test_bmp_hmac_header_one_digit_changed_is_bad_mac():
    key = bmp.generate_key()
    server = bmp.Server(key)
    s = _signed(key)
    mac = s.hmac
    broken = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    with pytest.raises(selo.BmpError) as ei:
        server.check_request(with_header(s.headers, "hmac", broken), s.body)
    assert ei.value.code == "bmp.server.bad_mac" and ei.value.http_status == 406
    with pytest.raises(selo.BmpError) as ei:
        bmp.verify(key, s.body, broken)
    assert ei.value.code == "bmp.mac.mismatch"
    bmp.verify(key, s.body, mac)


def test_bmp_confirmation_reply_mac_one_digit_changed_is_confirmation_bad_mac():
    key = bmp.generate_key()
    server = bmp.Server(key)
    s = _signed(key)
    call = server.confirmation_request(server.check_request(s.headers, s.body), "https://p/confirm")
    good = bmp.hmac(key, call.body)
    broken = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(selo.BmpError) as ei:
        server.check_confirmation_reply(call, 200, [("hmac", broken)], b"")
    assert ei.value.code == "bmp.server.confirmation_bad_mac" and ei.value.http_status == 406
    server.check_confirmation_reply(call, 200, [("hmac", good)], b"")


def test_partner_confirmation_one_member_changed_is_mismatch():
    key = bmp.generate_key()
    s = _signed(key)
    pending = {s.idempotency_key: s.body}
    headers = [("Content-Type", "application/json"), ("IdempotencyKey", s.idempotency_key)]
    ok = bmp.confirm(key, headers, s.body, pending)
    assert ok.confirmed and ok.status == 200
    assert s.body.count(b"100.00") == 1
    received = s.body.replace(b"100.00", b"100.01")
    r = bmp.confirm(key, headers, received, pending)
    assert not r.confirmed
    assert r.status == 409 and r.error.code == "bmp.confirm.mismatch", (r.status, r.body)
    assert r.difference == "detalhes.valor", r.difference

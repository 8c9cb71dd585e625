"""selo's Safra PSD wire format against an independent witness.

The witness (tests/witness/safra_witness.py) is a second client written
from SPEC §2 and the Safra manual with Python ``cryptography``; it does not
import selo. Here:

* selo's client requests (psd001 stage 1 and 2, psd005, psd007, psd050,
  psd052) are compared field by field with what the witness builds for the
  same inputs — headers, URLs, body shapes, the psd001 ``jwk`` and
  ``parametros`` layouts, and the envelope plaintexts, which the witness
  decrypts with its own AES-CTR and a key it derived itself from the bank's
  stage-2 reply;
* selo's session is fed the statuses of SPEC §2.8 and must take the action
  the witness's status table names;
* the witness runs as a client against selo's bank (``selo sim safra`` over
  HTTP), parses every reply with its own code and recovers from the
  simulator's faults by its own table;
* selo's psd005/psd007 plaintexts are compared with the independently made
  ``tests/vectors/external/safra/envelope.json``.

Randomness (GUIDs, IVs, selo's rng seed) comes from one seed, printed with
every test; set SELO_WITNESS_SEED to replay one.
"""

import base64
import json
import os
import pathlib
import random
import re
import sys
import time
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import selo
from selo import safra
from conftest import Sim

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "witness"))
import safra_witness as w  # noqa: E402

EXTERNAL = ROOT / "tests" / "vectors" / "external" / "safra"
URL = "https://bank.test/psd"
T0 = 1_800_000_000
SEED = int(os.environ.get("SELO_WITNESS_SEED") or random.SystemRandom().randrange(2**63))


@pytest.fixture(autouse=True)
def _print_seed():
    print(f"safra witness seed: SELO_WITNESS_SEED={SEED}")


def ext(name):
    return json.loads((EXTERNAL / name).read_text(encoding="utf-8"))


def pem(priv):
    return priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()


def lower(headers):
    out = {}
    for k, v in headers:
        assert k.lower() not in out, f"header {k} sent twice"
        out[k.lower()] = v
    return out


#: A boleto written from SPEC §2.7's example (CPF 529.982.247-25 and CNPJ
#: 11.222.333/0001-81 are valid by check digits).
BOLETO = {
    "agencia": 200, "conta": 1234567,
    "documento": {
        "nossoNumero": 123456789, "seuNumero": "0000004021", "especie": "01",
        "dataVencimento": "2026-12-31", "valor": 1500000, "codigoMoeda": 0,
        "qtdDiasProtesto": 5, "identificacaoAceite": "N",
        "desconto": {"data": "2026-12-20", "valor": 12345},
        "multa": {"juros": 1.5, "data": "2027-01-01", "taxa": 2.0},
        "campoLivre": "pedido 42", "taxaFidc": 1.25,
        "pagador": {"nome": "José da Silva", "tipoPessoa": 1, "numeroDocumento": 52998224725,
                    "email": "jose@example.com",
                    "endereco": {"nome": "Av. Paulista, 2000", "bairro": "Bela Vista", "cidade": "São Paulo",
                                 "uf": "SP", "cep": 1310100}},
        "beneficiario": {"nome": "Contoso SA", "tipoPessoa": 2, "numeroDocumento": 11222333000181},
        "mensagens": [{"posicao": 1, "descricao": "Não receber após o vencimento"}],
    },
}


# ---- the witness itself is checked against the external vectors first -------------------


def test_the_witness_reproduces_the_external_vectors():
    s1 = ext("stage1.json")
    k = serialization.load_pem_private_key(s1["client_private_pkcs8_pem"].encode(), None)
    assert w.stage1_jwk(k, s1["session_id"]) == s1["jwk_by_key_format"]["der-spki"]
    bank = w.parse_stage1_reply(json.dumps({"jwk": s1["bank_reply_jwk"]}).encode())
    assert w.spki_der(bank) == base64.b64decode(s1["bank_public_spki_der_b64"])

    s2 = ext("stage2.json")
    k2 = serialization.load_pem_private_key(s2["client_private_pkcs8_pem"].encode(), None)
    bank2 = w.load_public_key(base64.b64decode(s2["bank_public_spki_der_b64"]))
    cases = [c for c in s2["cases"] if c["padding"] == "pkcs1v15"]
    assert {c["member"] for c in cases} >= {"KID", "kid", "k"} and any(c["blocks"] > 1 for c in cases)
    for c in cases:
        body = json.dumps({"jwk": c["enc_jwk_b64"] + "." + s2["bank_sig_over_key_b64"]}).encode()
        assert w.parse_stage2_reply(body, k2, bank2) == base64.b64decode(s2["aes_key_b64"]), c

    env = ext("envelope.json")
    assert w.b64(w.ENVELOPE_HEADER) == env["header_b64"]
    for c in env["seal_and_open"]:
        assert w.seal(base64.b64decode(c["key_b64"]), c["iv_text"], c["plaintext"].encode()) == c["envelope"]
    for c in env["open_only_counter_carry"]:
        got = w.open_envelope(base64.b64decode(c["key_b64"]), c["envelope"]).plaintext
        assert got == base64.b64decode(c["plaintext_b64"])

    t = ext("token.json")
    ti = w.token_info(t["token"], t["t0"])
    assert (ti.lifetime, ti.renew_at, ti.expires_at) == (t["lifetime"], t["renew_at"], t["expires_at"])


# ---- selo's client, driven against selo's bank role in process, every request captured ----


class SeloRun:
    """selo's client Session talking to selo's Bank (pure data, fixed clock);
    every prepared request and bank response is kept for the witness."""

    def __init__(self, cliente="CLIENTE", base=URL):
        rng = random.Random(SEED)
        self.client_key = w.generate_client_key(1024)
        self.bank_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        self.bank = safra.Bank(selo.PrivateKey.load(pem(self.bank_key)), token_lifetime=600,
                               rng_seed=rng.randbytes(32))
        self.session = safra.Session(base, cliente, client_key=selo.PrivateKey.load(pem(self.client_key)),
                                     rng_seed=rng.randbytes(32))
        self.t = T0
        self.captured = []
        self.times = []  # the clock at each captured request

    def run(self, op):
        while True:
            p = self.session.prepare(op, self.t)
            r = self.bank.handle(urlsplit(p.url).path, p.headers, p.body, self.t)
            self.captured.append((p, r))
            self.times.append(self.t)
            out = self.session.handle(p.id, r.status, r.headers, r.body, self.t)
            if out.done:
                return out.reply


def service_of(p):
    return p.url.rsplit("/", 1)[-1]


def check_common_headers(h, service, sid, state):
    """Names, values and formats of SPEC §2.1 against the witness's header list."""
    mid = h.get("amc-message-id")
    assert mid is not None and w.GUID_V4.match(mid), f"{service}: amc-message-id {mid!r} is not a lowercase GUID v4"
    assert mid not in state["message_ids"], f"{service}: amc-message-id {mid} reused"
    state["message_ids"].add(mid)
    assert w.GUID_V4.match(h.get("amc-session-id", "")), f"{service}: amc-session-id {h.get('amc-session-id')!r}"
    assert h["amc-session-id"] == sid
    expected = dict(w.headers(service, sid, mid, work_id=state.get("work_id"),
                              token=state["token"] if service in w.AUTHORIZED else None))
    assert h == expected, f"{service}: headers differ from the witness's"


def test_selo_requests_match_the_witness_field_by_field():
    run = SeloRun()
    tok = run.run(safra.Operation.authenticate())
    run.t += 10
    run.run(safra.Operation.renew())
    reg = run.run(safra.Operation.register_boleto(BOLETO))
    run.run(safra.Operation.query_boleto(reg.documento.nosso_numero, BOLETO["documento"]["seuNumero"]))

    services = [service_of(p) for p, _ in run.captured]
    assert services == ["psd001", "psd001", "psd005", "psd007", "psd050", "psd052"]
    sid = run.session.session_id
    state = {"message_ids": set()}
    ivs = set()
    key = None
    for i, (p, resp) in enumerate(run.captured):
        service = service_of(p)
        assert p.method == "POST"
        assert p.url == w.url(URL, service)
        h = lower(p.headers)
        check_common_headers(h, service, sid, state)
        body = json.loads(p.body)
        assert resp.status == 200, (service, resp.status, resp.body[:200])

        if i == 0:  # psd001 stage 1
            assert list(body) == ["jwk"] and isinstance(body["jwk"], str)
            parts = body["jwk"].split(".")
            assert len(parts) == 5
            assert [base64.b64decode(x, validate=True).decode() for x in parts[1:4]] == list(w.JWK_LABELS)
            assert base64.b64decode(parts[4], validate=True) == w.spki_der(run.client_key.public_key())
            # the signature verifies with cryptography over the session GUID …
            run.client_key.public_key().verify(base64.b64decode(parts[0], validate=True), sid.encode(),
                                               padding.PKCS1v15(), hashes.SHA256())
            # … and, PKCS#1 v1.5 being deterministic, the whole body is the witness's
            assert body == w.stage1_body(run.client_key, sid)
            bank_pub = w.parse_stage1_reply(resp.body)
            assert bank_pub.public_numbers() == run.bank_key.public_key().public_numbers()
        elif i == 1:  # psd001 stage 2
            assert list(body) == ["parametros"] and isinstance(body["parametros"], str)
            enc, sig = body["parametros"].split(".")
            assert run.bank_key.decrypt(base64.b64decode(enc, validate=True), padding.PKCS1v15()) == sid.encode()
            assert sig == w.stage2_parametros(bank_pub, run.client_key, sid).split(".")[1]
            assert len(base64.b64decode(enc)) == 128
            key = w.parse_stage2_reply(resp.body, run.client_key, bank_pub)  # the witness's own key agreement
            assert key == run.session.session_key()
        else:
            assert list(body) == ["data"] and isinstance(body["data"], str)
            env = body["data"]
            hdr, iv_b64, _ = env.split(".")
            assert hdr == w.b64(w.ENVELOPE_HEADER)
            iv = base64.b64decode(iv_b64, validate=True)
            assert re.fullmatch(rb"[A-Za-z0-9]{16}", iv), iv
            assert iv not in ivs
            ivs.add(iv)
            opened = w.open_envelope(key, env)
            assert w.seal(key, iv.decode(), opened.plaintext) == env  # the witness's AES-CTR, same IV, same bytes
            expected = {
                "psd005": lambda: w.psd005_message("CLIENTE"),
                "psd007": lambda: w.psd007_message(state["token"]),
                "psd050": lambda: w.psd050_message(BOLETO),
                "psd052": lambda: w.psd052_message(reg.documento.nosso_numero, BOLETO["documento"]["seuNumero"]),
            }[service]()
            assert opened.plaintext == expected, f"{service}: plaintext differs from the witness's"
            reply = w.open_envelope(key, json.loads(resp.body)["data"]).json()
            if service in ("psd005", "psd007"):
                info = w.token_info(w.member(reply, "token"), run.times[i])
                state["token"] = info.token
                if service == "psd005":
                    state["work_id"] = w.member(reply, "workId")
                    assert isinstance(state["work_id"], str) and state["work_id"]
                    assert (info.lifetime, info.renew_at, info.expires_at) == (tok.lifetime, tok.renew_at,
                                                                               tok.expires_at)


def test_selo_generates_a_1024_bit_der_spki_client_key_and_uses_the_manuals_base_urls():
    for base, root in ((safra.HOMOLOGATION, w.HOMOLOGATION), (safra.PRODUCTION, w.PRODUCTION)):
        s = safra.Session(base, "CLIENTE", rng_seed=random.Random(SEED).randbytes(32))
        p = s.prepare(safra.Operation.handshake(), T0)
        assert p.url == w.url(root, "psd001")
        h = lower(p.headers)
        assert h == dict(w.headers("psd001", s.session_id, h["amc-message-id"]))
        parts = json.loads(p.body)["jwk"].split(".")
        assert parts[4].startswith(w.SPKI_1024_PREFIX)
        pub = w.load_public_key(base64.b64decode(parts[4]))
        assert pub.key_size == 1024 and pub.public_numbers().e == 65537
        pub.verify(base64.b64decode(parts[0]), s.session_id.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_a_new_handshake_uses_a_new_session_guid():
    run = SeloRun()
    run.run(safra.Operation.authenticate())
    first = run.session.session_id
    run.bank.inject(safra.Fault.EXPIRE_KEY)
    run.run(safra.Operation.query_boleto("1", "0000004021"))
    sids = [lower(p.headers)["amc-session-id"] for p, _ in run.captured]
    assert sids[:3] == [first] * 3 and sids[3] == first
    assert all(s == sids[4] for s in sids[4:]) and sids[4] != first and w.GUID_V4.match(sids[4])


# ---- the external envelope vectors --------------------------------------------------------


def test_selo_psd005_and_psd007_plaintexts_equal_the_external_vectors():
    cases = ext("envelope.json")["seal_and_open"]
    v005 = next(c for c in cases if '"idEstrategia"' in c["plaintext"])
    v007 = next(c for c in cases if c["plaintext"].startswith('{"token"'))
    cliente = json.loads(v005["plaintext"])["cliente"]
    run = SeloRun(cliente=cliente)
    run.run(safra.Operation.authenticate())
    run.run(safra.Operation.renew())
    key = run.session.session_key()
    p005, p007 = run.captured[2][0], run.captured[3][0]
    assert service_of(p005) == "psd005" and service_of(p007) == "psd007"
    got005 = w.open_envelope(key, json.loads(p005.body)["data"]).plaintext
    assert got005 == v005["plaintext"].encode()
    # The psd007 vector carries its own token: the bytes around it must be the same.
    vtoken = json.loads(v007["plaintext"])["token"]
    token = lower(p007.headers)["authorization"].removeprefix("Bearer ")
    got007 = w.open_envelope(key, json.loads(p007.body)["data"]).plaintext
    assert got007 == v007["plaintext"].replace(vtoken, token).encode()
    # and selo seals the vectors' (key, IV, plaintext) to the vectors' envelopes
    for c in (v005, v007):
        assert safra.seal_with_iv(base64.b64decode(c["key_b64"]), c["iv_text"].encode(),
                                  c["plaintext"].encode()) == c["envelope"]


# ---- the status table (SPEC §2.8) against selo's session ------------------------------------


def authenticated():
    run = SeloRun()
    run.run(safra.Operation.authenticate())
    return run, run.session.session_key()


def sealed_body(key, obj, rng):
    return w.compact(w.data_body(w.seal(key, w.new_iv_text(rng), w.compact(obj))))


STATUS_CASES = [
    (200, []),
    (201, []),
    (480, []),
    (500, [("amc-criptografia", "erro")]),
    (500, [("AMC-Criptografia", " ERRO ")]),
    (500, [("amc-criptografia", "ok")]),
    (500, []),
    (550, []),
    (400, []),
    (404, []),
    (503, []),
    (502, [("amc-criptografia", "erro")]),
]


@pytest.mark.parametrize("status,headers", STATUS_CASES)
def test_selo_key_expiry_detection_matches_the_witness_table(status, headers):
    assert safra.is_key_expired(status, headers) == (w.classify(status, headers)["action"] == "rehandshake")


@pytest.mark.parametrize("status,headers", STATUS_CASES)
def test_selo_session_takes_the_witness_tables_action_on_psd052(status, headers):
    rng = random.Random(SEED)
    run, key = authenticated()
    sid = run.session.session_id
    row = w.classify(status, headers)
    p = run.session.prepare(safra.Operation.query_boleto("123456789", "0000004021"), run.t)
    assert service_of(p) == "psd052"
    reply = {"statusProcessamento": {"codigo": 0 if row["action"] == "success" else 7, "mensagem": "witness"},
             "documento": {"nossoNumero": "123456789", "seuNumero": "0000004021", "registradoCip": "S"}}
    body = sealed_body(key, reply, rng) if row["action"] in ("success", "business-error") else b""
    action = row["action"]
    if action == "request-error":
        with pytest.raises(selo.SafraError):
            run.session.handle(p.id, status, headers, body, run.t)
        return
    try:
        out = run.session.handle(p.id, status, headers, body, run.t)
    except selo.SafraError:
        # an ambiguous outcome may end the call with an error (SPEC §2.8)
        assert action == "server-error", f"HTTP {status}: selo raised where the table says {action}"
        return
    if action == "success":
        assert out.done and isinstance(out.reply, safra.BoletoReply)
        assert out.reply.status.codigo == 0 and out.reply.documento.registrado_cip == "S"
    elif action == "business-error":
        assert out.done and isinstance(out.reply, safra.BusinessErrorReply)
        assert out.reply.status.codigo == 7 and out.reply.status.mensagem == "witness"
    elif action in ("reinit", "rehandshake"):
        # not processed: discard key, token and workId, new GUID, psd001 first
        assert not out.done and out.action == "rehandshake"
        nxt = run.session.prepare(safra.Operation.query_boleto("123456789", "0000004021"), run.t)
        assert service_of(nxt) == "psd001" and "jwk" in json.loads(nxt.body)
        assert lower(nxt.headers)["amc-session-id"] != sid
    elif action == "server-error":
        # psd052 is idempotent: a resend of the same query (or an error, above) is allowed
        assert not out.done, f"HTTP {status}: selo treated an ambiguous outcome as done"
        nxt = run.session.prepare(safra.Operation.query_boleto("123456789", "0000004021"), run.t)
        assert service_of(nxt) == "psd052"
        assert w.open_envelope(key, json.loads(nxt.body)["data"]).plaintext == \
            w.psd052_message("123456789", "0000004021")
    else:
        pytest.fail(f"unhandled action {action}")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("query_answer", ["not-found", "found", "ambiguous"])
def test_selo_never_resends_psd050_blindly_after_an_ambiguous_outcome(status, query_answer):
    """SPEC §2.8: after an ambiguous psd050 the session asks psd052 for the
    same boleto first: found → done; not found → psd050 once more; the
    query ambiguous too → ``safra.boleto.outcome_unknown``."""
    rng = random.Random(SEED)
    run, key = authenticated()
    assert w.classify(status, [])["action"] == "server-error"
    op = safra.Operation.register_boleto(BOLETO)
    p = run.session.prepare(op, run.t)
    assert service_of(p) == "psd050"
    out = run.session.handle(p.id, status, [], b"", run.t)
    assert not out.done
    nxt = run.session.prepare(op, run.t)
    assert service_of(nxt) == "psd052", "psd050 resent without asking psd052 first"
    doc = BOLETO["documento"]
    assert w.open_envelope(key, json.loads(nxt.body)["data"]).plaintext == \
        w.psd052_message(str(doc["nossoNumero"]), doc["seuNumero"])
    if query_answer == "ambiguous":
        with pytest.raises(selo.SafraError) as ei:
            run.session.handle(nxt.id, 503, [], b"", run.t)
        assert ei.value.code == "safra.boleto.outcome_unknown"
        return
    if query_answer == "found":
        found = {"statusProcessamento": {"codigo": 0, "mensagem": "ok"},
                 "documento": {"nossoNumero": str(doc["nossoNumero"]), "seuNumero": doc["seuNumero"],
                               "registradoCip": "S"}}
        out = run.session.handle(nxt.id, 200, [], sealed_body(key, found, rng), run.t)
        assert out.done and isinstance(out.reply, safra.BoletoReply)
        assert out.reply.documento.nosso_numero == str(doc["nossoNumero"])
        return
    # the bank does not know it: psd050 once more, the same message
    not_found = {"statusProcessamento": {"codigo": 3, "mensagem": "not found"}}
    out = run.session.handle(nxt.id, 550, [], sealed_body(key, not_found, rng), run.t)
    assert not out.done
    again = run.session.prepare(op, run.t)
    assert service_of(again) == "psd050"
    assert w.open_envelope(key, json.loads(again.body)["data"]).plaintext == w.psd050_message(BOLETO)


# ---- the witness as a client against selo's bank over HTTP ---------------------------------


@pytest.fixture
def witness_client():
    import httpx

    sim = Sim("safra")
    http = httpx.Client(timeout=30)

    def send(method, u, headers, body):
        r = http.request(method, u, headers=headers, content=body)
        return r.status_code, list(r.headers.multi_items()), r.content

    c = w.WitnessClient(sim.url, "CLIENTE01", send, random.Random(SEED), clock=lambda: int(time.time()))
    yield c, sim
    http.close()
    sim.close()


def check_boleto_reply(reply, seu_numero):
    st = w.member(reply, "statusProcessamento")
    assert isinstance(w.member(st, "codigo"), int) and isinstance(w.member(st, "mensagem"), str)
    doc = w.member(reply, "documento")
    nn = w.member(doc, "nossoNumero")
    assert isinstance(nn, str) and 0 < len(nn) <= 15, nn
    assert w.member(doc, "seuNumero") == seu_numero
    return st, doc, nn


def test_the_witness_client_runs_the_whole_flow_against_selo_bank(witness_client):
    c, _ = witness_client
    c.handshake()
    assert c.aes_key is not None and len(c.aes_key) == 32
    tok = c.authenticate()
    assert tok.lifetime > 60 and isinstance(c.work_id, str) and c.work_id
    r = c.renew()
    assert r.row["action"] == "success" and c.token.token != "" and c.token.lifetime > 60
    r = c.register_boleto(BOLETO)
    assert r.row["action"] == "success", (r.status, r.body[:300])
    st, doc, nn = check_boleto_reply(r.json, BOLETO["documento"]["seuNumero"])
    assert w.member(st, "codigo") == 0
    assert w.barcode_is_valid(w.member(doc, "codigoBarras")), w.member(doc, "codigoBarras")
    q = c.query_boleto(nn, BOLETO["documento"]["seuNumero"])
    assert q.row["action"] == "success", (q.status, q.body[:300])
    _, qdoc, qnn = check_boleto_reply(q.json, BOLETO["documento"]["seuNumero"])
    assert qnn == nn and w.member(qdoc, "registradoCip") in ("S", "N")
    assert [s.service for s in c.log] == ["psd001", "psd001", "psd005", "psd007", "psd050", "psd052"]
    assert c.recoveries == []
    # the bank's replies are sealed under fresh IVs too (the witness refuses a reused one)
    assert len(c.used_ivs) == 8


@pytest.mark.parametrize("fault,expected", [
    ("expire-key", "rehandshake"),
    ("answer-480", "reinit"),
    ("answer-550", "business-error"),
])
def test_selo_bank_faults_mean_what_the_witness_table_says(witness_client, fault, expected):
    c, sim = witness_client
    c.handshake()
    c.authenticate()
    seu = BOLETO["documento"]["seuNumero"]
    sid = c.session_id
    sim.fault(fault)
    r = c.sealed("psd052", w.psd052_message("123456789", seu))
    assert r.row["action"] == expected, f"{fault}: HTTP {r.status} {r.headers} is {r.row['name']}, not {expected}"
    if expected == "business-error":
        st = w.member(r.json, "statusProcessamento")
        assert isinstance(w.member(st, "codigo"), int) and w.member(st, "codigo") != 0
        assert c.session_id == sid
    else:
        # not processed: recover as the table says and send the same message again
        c.recover(expected)
        assert c.session_id != sid
    r = c.register_boleto(BOLETO)
    assert r.row["action"] == "success", (r.status, r.body[:300])
    _, _, nn = check_boleto_reply(r.json, seu)
    q = c.query_boleto(nn, seu)
    assert q.row["action"] == "success" and w.member(w.member(q.json, "documento"), "nossoNumero") == nn


def test_an_expired_key_stays_expired_at_selo_bank(witness_client):
    c, sim = witness_client
    c.handshake()
    c.authenticate()
    sim.fault("expire-key")
    assert c.sealed("psd052", w.psd052_message("1", "x")).row["action"] == "rehandshake"
    # the old key must not work any more
    r = c.sealed("psd052", w.psd052_message("1", "x"))
    assert r.row["action"] != "success", f"HTTP {r.status}: the bank still accepts a key it declared expired"

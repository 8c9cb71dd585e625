"""The httpx drivers end to end against the core's bank role: through
httpx.MockTransport, and over real TLS with a client certificate."""

import asyncio
import datetime
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

import selo
from selo import safra
from conftest import vec, vec_text

BANK_KEY = selo.PrivateKey.load(vec("safra/generated.json")["bank_private_pkcs8_pem"])
CLIENT_KEY = selo.PrivateKey.load(vec("safra/generated.json")["client_private_pkcs8_pem"])
BOLETO = json.loads(vec_text("safra/boleto-sample.json"))
URL = "https://bank.test/psd"


class Clock:
    def __init__(self, t=1_800_000_000):
        self.t = t

    def __call__(self):
        return self.t


class Recorder:
    """Wraps a bank transport and records the services called."""

    def __init__(self, bank):
        self.paths = []
        inner = bank.transport()

        def handler(request):
            self.paths.append(request.url.path.rsplit("/", 1)[-1])
            return inner.handle_request(request)

        self.transport = httpx.MockTransport(handler)


def query(c):
    """An authorised call; the boleto is unknown to a fresh bank (HTTP 550)."""
    try:
        return c.query_boleto("000000123456789", "0000004021")
    except selo.SafraBusinessError as e:
        assert e.status.codigo == 3, e
        return None


def make(profile=None, lifetime=600):
    clock = Clock()
    bank = safra.Bank(BANK_KEY, token_lifetime=lifetime, profile=profile, clock=clock)
    rec = Recorder(bank)
    client = safra.Client(URL, "CLIENTE01", profile=profile, client_key=CLIENT_KEY, transport=rec.transport,
                          clock=clock)
    return bank, rec, client, clock


def test_whole_flow_sync():
    bank, rec, c, clock = make()
    tok = c.authenticate()
    assert tok.lifetime == 600 and tok.renew_at == clock.t + 540
    assert rec.paths == ["psd001", "psd001", "psd005"]
    reply = c.register_boleto(BOLETO)
    assert reply.status.codigo == 0
    assert len(reply.documento.codigo_barras) == 44
    assert selo.br.is_valid_barcode(reply.documento.codigo_barras)
    assert bank.boletos()[0].codigo_barras == reply.documento.codigo_barras
    q = c.query_boleto(reply.documento.nosso_numero, BOLETO["documento"]["seuNumero"])
    assert q.documento.registrado_cip == "S"
    assert rec.paths[-2:] == ["psd050", "psd052"]
    assert c.session.state == "authenticated" and c.recoveries == []
    assert bank.session_key(c.session.session_id) == c.session.session_key()


def test_first_business_call_runs_the_prerequisites_itself():
    bank, rec, c, _ = make()
    query(c)
    assert rec.paths == ["psd001", "psd001", "psd005", "psd052"]


def test_key_expiry_rehandshakes_and_finishes_the_call():
    bank, rec, c, _ = make()
    c.authenticate()
    sid = c.session.session_id
    bank.inject(safra.Fault.EXPIRE_KEY)
    reply = c.register_boleto(BOLETO)
    assert reply.status.codigo == 0
    assert c.recoveries == ["rehandshake"]
    assert c.session.session_id != sid
    assert rec.paths[3:] == ["psd050", "psd001", "psd001", "psd005", "psd050"]


def test_480_reinitialises_by_default_and_reauthenticates_with_the_profile_switch():
    bank, rec, c, _ = make()
    c.authenticate()
    bank.inject(safra.Fault.ANSWER_480)
    query(c)
    assert c.recoveries == ["rehandshake"]
    assert rec.paths[3:] == ["psd052", "psd001", "psd001", "psd005", "psd052"]

    bank, rec, c, _ = make(profile={"on_480": "reauth"})
    c.authenticate()
    sid = c.session.session_id
    bank.inject(safra.Fault.ANSWER_480)
    query(c)
    assert c.recoveries == ["reauthenticate"]
    assert rec.paths[3:] == ["psd052", "psd005", "psd052"]
    assert c.session.session_id == sid


def test_renewal_when_due_and_reauthentication_after_expiry():
    bank, rec, c, clock = make()
    tok = c.authenticate()
    clock.t = tok.renew_at
    query(c)
    assert rec.paths[3:] == ["psd007", "psd052"]
    assert c.session.token.received_at == tok.renew_at
    clock.t = c.session.token.expires_at + 1
    query(c)
    assert rec.paths[5:] == ["psd005", "psd052"]


def test_550_raises_a_business_error_with_the_bank_status():
    bank, rec, c, _ = make()
    c.authenticate()
    bank.inject(safra.Fault.ANSWER_550)
    with pytest.raises(selo.SafraBusinessError) as ei:
        c.register_boleto(BOLETO)
    e = ei.value
    assert isinstance(e, selo.SafraError) and e.code == "safra.bank.business"
    assert e.status.codigo == 99 and e.body["statusProcessamento"]["codigo"] == 99
    assert c.register_boleto(BOLETO).status.codigo == 0


def test_endless_key_expiry_gives_up_after_max_recoveries():
    bank, rec, c, _ = make(profile={"max_recoveries": 2})
    c.authenticate()
    for _ in range(10):
        bank.inject(safra.Fault.EXPIRE_KEY)
    with pytest.raises(selo.SafraError) as ei:
        query(c)
    assert ei.value.code == "safra.session.too_many_recoveries"


def test_invalid_boleto_is_refused_before_anything_is_sent():
    bank, rec, c, _ = make()
    bad = json.loads(json.dumps(BOLETO))
    bad["documento"]["pagador"]["endereco"]["uf"] = "XX"
    with pytest.raises(selo.SafraError) as ei:
        c.register_boleto(bad)
    assert ei.value.code == "safra.boleto.invalid_value" and "uf" in ei.value.message
    assert rec.paths == []
    f = json.loads(json.dumps(BOLETO))
    f["documento"]["valor"] = 15000.00
    with pytest.raises(TypeError, match="float"):
        c.register_boleto(f)


def test_money_as_decimal_or_str_becomes_exact_cents():
    from decimal import Decimal

    b = json.loads(json.dumps(BOLETO))
    b["documento"]["valor"] = Decimal("15000.00")
    b["documento"]["desconto"]["valor"] = "123.45"
    assert safra.boleto_json(b)["documento"]["valor"] == 1500000
    assert safra.boleto_json(b)["documento"]["desconto"]["valor"] == 12345
    b["documento"]["valor"] = Decimal("1.001")
    with pytest.raises(selo.BmpError) as ei:
        safra.boleto_json(b)
    assert ei.value.code == "bmp.money.precision"


def test_an_exported_session_continues_in_another_client():
    bank, rec, c, clock = make()
    c.authenticate()
    blob = c.session.export()
    c2 = safra.Client(URL, "ignored", session=safra.Session.load(blob), transport=rec.transport, clock=clock)
    query(c2)
    assert rec.paths[3:] == ["psd052"]


async def test_async_client_whole_flow_with_faults_and_concurrency():
    clock = Clock()
    bank = safra.Bank(BANK_KEY, token_lifetime=600, clock=clock)
    async with safra.AsyncClient(URL, "CLIENTE01", client_key=CLIENT_KEY, transport=bank.transport(),
                                 clock=clock) as c:
        tok = await c.authenticate()
        assert tok.lifetime == 600
        reply = await c.register_boleto(BOLETO)
        assert reply.status.codigo == 0
        bank.inject(safra.Fault.EXPIRE_KEY)
        bank.inject(safra.Fault.ANSWER_480)
        results = await asyncio.gather(*[c.query_boleto(reply.documento.nosso_numero, "0000004021")
                                         for _ in range(5)])
        assert all(r.documento.registrado_cip == "S" for r in results)
        assert c.recoveries == ["rehandshake", "rehandshake"]
        bank.inject(safra.Fault.ANSWER_550)
        with pytest.raises(selo.SafraBusinessError):
            await c.renew()


# ---- real HTTP over TLS with a client certificate -------------------------------


def _certs(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(key, cert, stem):
        (tmp_path / f"{stem}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (tmp_path / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("selo test CA")).issuer_name(name("selo test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    write(ca_key, ca, "ca")
    for stem, eku, san in (("server", ExtendedKeyUsageOID.SERVER_AUTH,
                            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])),
                           ("client", ExtendedKeyUsageOID.CLIENT_AUTH, None)):
        k = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder().subject_name(name(stem)).issuer_name(ca.subject).public_key(k.public_key())
             .serial_number(2 if stem == "server" else 3).not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.ExtendedKeyUsage([eku]), critical=False))
        if san is not None:
            b = b.add_extension(san, critical=False)
        write(k, b.sign(ca_key, hashes.SHA256()), stem)
    return tmp_path


@pytest.fixture
def tls_bank(tmp_path):
    d = _certs(tmp_path)
    bank = safra.Bank(BANK_KEY, token_lifetime=600)
    seen_client_certs = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen_client_certs.append(self.connection.getpeercert()["subject"])
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            r = bank.handle(self.path, list(self.headers.items()), body)
            self.send_response(r.status)
            for k, v in r.headers:
                self.send_header(k, v)
            self.send_header("content-length", str(len(r.body)))
            self.end_headers()
            self.wfile.write(r.body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(d / "ca.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(str(d / "server.pem"), str(d / "server.key"))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"https://127.0.0.1:{srv.server_address[1]}/psd", d, bank, seen_client_certs
    srv.shutdown()
    srv.server_close()


def test_sync_client_over_tls_with_a_client_certificate(tls_bank):
    url, d, bank, seen = tls_bank
    verify = ssl.create_default_context(cafile=str(d / "ca.pem"))
    verify.load_cert_chain(str(d / "client.pem"), str(d / "client.key"))
    with safra.Client(url, "CLIENTE01", verify=verify) as c:
        c.authenticate()
        bank.inject(safra.Fault.EXPIRE_KEY)
        assert c.register_boleto(BOLETO).status.codigo == 0
        assert c.recoveries == ["rehandshake"]
    assert seen and all(s == ((("commonName", "client"),),) for s in seen)
    # No client certificate: every handshake attempt is refused by TLS; the
    # driver reports each to the session, which gives up with a typed error
    # chained to the TLS failure.
    with pytest.raises(selo.SafraError) as ei:
        with safra.Client(url, "CLIENTE01", verify=ssl.create_default_context(cafile=str(d / "ca.pem"))) as c:
            c.authenticate()
    assert ei.value.code == "safra.session.too_many_recoveries"
    assert isinstance(ei.value.__cause__, httpx.TransportError)
    assert len(c.transport_errors) == 4 and c.session.state == "new"


async def test_async_client_over_tls_with_a_client_certificate(tls_bank):
    url, d, bank, seen = tls_bank
    verify = ssl.create_default_context(cafile=str(d / "ca.pem"))
    verify.load_cert_chain(str(d / "client.pem"), str(d / "client.key"))
    async with safra.AsyncClient(url, "CLIENTE01", verify=verify) as c:
        await c.authenticate()
        bank.inject(safra.Fault.ANSWER_480)
        assert (await c.renew()).lifetime == 600
        assert c.recoveries == ["rehandshake"]

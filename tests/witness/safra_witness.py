"""An independent witness for the Banco Safra PSD wire format (client role).

Written from ``SPEC.md`` §2 and the Safra manual (v1.2) alone, with Python
``cryptography`` for RSA and AES. It does not import selo and was not
derived from selo's code or output: every constant below is quoted from the
manual or the SPEC section named next to it. The tests use it twice:

* as an oracle: selo's requests are compared with what this module builds
  for the same inputs (headers, URLs, body JSON, the psd001 layouts, the
  envelope plaintexts);
* as a client: :class:`WitnessClient` runs a whole flow against selo's
  bank (``selo sim safra``), parses the bank's replies with this module's
  own code and recovers from faults by :data:`STATUS_TABLE`.

Nothing here is clever; where the SPEC offers profile switches this module
implements the defaults only (1024-bit key, DER SubjectPublicKeyInfo,
PKCS#1 v1.5 padding, the bank's signature over the 32 raw key bytes).
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# ---- constants (manual + SPEC §2) -----------------------------------------------

#: SPEC §2 / manual "Serviço de Inicialização": "-hml" is homologation.
HOMOLOGATION = "https://cobranca-hml.safranegocios.com.br/psd/"
PRODUCTION = "https://cobranca.safranegocios.com.br/psd/"

SERVICES = ("psd001", "psd005", "psd007", "psd050", "psd052")
#: The services whose header block in the manual lists amc-work-id and authorization.
AUTHORIZED = ("psd007", "psd050", "psd052")

#: SPEC §2.1 (the manual's header lists, step 2).
APLICACAO = "PSD"
ACCEPT_LANGUAGE = "pt-BR"
CONTENT_TYPE = "application/json"

#: SPEC §2.2 step 4 / manual step 4: the three fixed middle parts.
JWK_LABELS = ("RSA", "enc", "P-256")

#: SPEC §2.4 step 1: exactly these bytes (the manual's "RSA-AEP" spelling kept).
ENVELOPE_HEADER = b'{"alg":"RSA-AEP","enc":"A256CTR"}'

#: SPEC §2.2: a 1024-bit DER SPKI starts so in base64.
SPKI_1024_PREFIX = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ"

GUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
IV_ALPHABET = string.ascii_letters + string.digits

#: SPEC §2.8, the manual's "Status de Retorno dos Serviços", as data.
#: Rows are tried in order; the first whose ``status`` (exact) or ``range``
#: (inclusive) matches, and whose ``header`` (name, value — compared
#: case-insensitively after trimming) is present when given, decides.
#: ``processed``: did the bank act on the message (False = recover and send
#: it again; None = unknown, an ambiguous outcome). ``resend``: what the
#: client may do with the same message.
STATUS_TABLE: Tuple[Dict[str, Any], ...] = (
    {"name": "480", "status": 480, "header": None, "action": "reinit",
     "meaning": "token limit exceeded: new authentication (service init): new session GUID, psd001, psd005",
     "processed": False, "resend": "after-recovery"},
    {"name": "500 + amc-criptografia: erro", "status": 500, "header": ("amc-criptografia", "erro"),
     "action": "rehandshake",
     "meaning": "symmetric key expired: discard key, token and workId; handshake again with a new session GUID",
     "processed": False, "resend": "after-recovery"},
    {"name": "550", "status": 550, "header": None, "action": "business-error",
     "meaning": "business error: open the envelope and surface statusProcessamento",
     "processed": True, "resend": "never"},
    {"name": "2xx", "range": (200, 299), "header": None, "action": "success",
     "meaning": "success", "processed": True, "resend": "never"},
    {"name": "4xx", "range": (400, 499), "header": None, "action": "request-error",
     "meaning": "request error", "processed": False, "resend": "never"},
    {"name": "other 5xx", "range": (500, 599), "header": None, "action": "server-error",
     "meaning": "critical server error: outcome ambiguous; psd001/005/007/052 may be resent, "
                "psd050 never blindly (query psd052 for the same boleto first)",
     "processed": None, "resend": "idempotent-only"},
)

#: SPEC §2.8: which services may simply be resent after an ambiguous outcome.
IDEMPOTENT = ("psd001", "psd005", "psd007", "psd052")


def _header(headers: Sequence[Tuple[str, str]], name: str) -> Optional[str]:
    n = name.lower()
    for k, v in headers:
        if k.strip().lower() == n:
            return v
    return None


def classify(status: int, headers: Sequence[Tuple[str, str]] = ()) -> Dict[str, Any]:
    """The :data:`STATUS_TABLE` row for an HTTP response."""
    for row in STATUS_TABLE:
        if "status" in row and status != row["status"]:
            continue
        if "range" in row and not (row["range"][0] <= status <= row["range"][1]):
            continue
        if row["header"] is not None:
            got = _header(headers, row["header"][0])
            if got is None or got.strip().lower() != row["header"][1]:
                continue
        return row
    raise ValueError(f"HTTP {status} is not in the manual's table (1xx/3xx)")


# ---- encodings -------------------------------------------------------------------


def b64(data: bytes) -> str:
    """SPEC notation B64: standard alphabet with padding (manual: StandardEncoding)."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    """Decoders accept both alphabets, with or without padding (SPEC notation)."""
    t = text.replace("-", "+").replace("_", "/")
    t += "=" * (-len(t) % 4)
    return base64.b64decode(t, validate=True)


def b64url_decode(text: str) -> bytes:
    return unb64(text)


def compact(obj: Any) -> bytes:
    """JSON without whitespace, members in the order given, UTF-8 left as is."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def new_guid(rng: random.Random) -> str:
    """A UUID v4, lowercase, hyphenated (SPEC §2.1)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_iv_text(rng: random.Random) -> str:
    """16 random characters from [A-Za-z0-9] (SPEC §2.4 step 2, manual step 18)."""
    return "".join(rng.choice(IV_ALPHABET) for _ in range(16))


# ---- URLs and headers ------------------------------------------------------------


def url(base: str, service: str) -> str:
    if service not in SERVICES:
        raise ValueError(service)
    return base.rstrip("/") + "/" + service


def headers(service: str, session_id: str, message_id: str, *, work_id: Optional[str] = None,
            token: Optional[str] = None) -> List[Tuple[str, str]]:
    """The request headers of SPEC §2.1, names lowercase as the manual writes them."""
    h = [
        ("amc-session-id", session_id),
        ("amc-message-id", message_id),
        ("amc-aplicacao", APLICACAO),
        ("accept-language", ACCEPT_LANGUAGE),
        ("content-type", CONTENT_TYPE),
    ]
    if service in AUTHORIZED:
        if work_id is None or token is None:
            raise ValueError(f"{service} needs workId and token")
        h += [("amc-work-id", work_id), ("authorization", f"Bearer {token}")]
    return h


# ---- RSA (psd001) -----------------------------------------------------------------


def generate_client_key(bits: int = 1024) -> rsa.RSAPrivateKey:
    """SPEC §2.2 step 1: RSA, e = 65537, 1024 bits by default (the manual's value)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def spki_der(pub: rsa.RSAPublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign_session(priv: rsa.RSAPrivateKey, session_id: str) -> bytes:
    """SPEC §2.2 step 2: RSASSA-PKCS1-v1_5 with SHA-256 over the GUID's UTF-8 bytes."""
    return priv.sign(session_id.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())


def stage1_jwk(priv: rsa.RSAPrivateKey, session_id: str) -> str:
    """SPEC §2.2 step 4: B64(sig).B64("RSA").B64("enc").B64("P-256").B64(DER SPKI)."""
    parts = [b64(sign_session(priv, session_id))]
    parts += [b64(x.encode("ascii")) for x in JWK_LABELS]
    parts.append(b64(spki_der(priv.public_key())))
    return ".".join(parts)


def stage1_body(priv: rsa.RSAPrivateKey, session_id: str) -> Dict[str, str]:
    return {"jwk": stage1_jwk(priv, session_id)}


def load_public_key(der_or_pem: bytes) -> rsa.RSAPublicKey:
    """SPEC §2.2 step 5: auto-detect PEM or DER, SPKI or PKCS#1."""
    if der_or_pem.lstrip().startswith(b"-----BEGIN"):
        k = serialization.load_pem_public_key(der_or_pem)
    else:
        k = serialization.load_der_public_key(der_or_pem)
    if not isinstance(k, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return k


def parse_stage1_reply(body: bytes) -> rsa.RSAPublicKey:
    """SPEC §2.2 step 5: the ``jwk`` member; the last dot-separated part is the bank key."""
    doc = json.loads(body)
    jwk = doc["jwk"]
    parts = jwk.split(".")
    return load_public_key(unb64(parts[-1]))


def rsa_encrypt(pub: rsa.RSAPublicKey, data: bytes) -> bytes:
    """PKCS#1 v1.5 (the default padding), chunked at k - 11 bytes (SPEC §2.3 step 5)."""
    k = pub.key_size // 8
    step = k - 11
    return b"".join(pub.encrypt(data[i:i + step], padding.PKCS1v15()) for i in range(0, len(data), step)) \
        if data else pub.encrypt(b"", padding.PKCS1v15())


def rsa_decrypt(priv: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """PKCS#1 v1.5, block by block when longer than one modulus (SPEC §2.3 step 5)."""
    k = priv.key_size // 8
    if len(data) % k:
        raise ValueError(f"ciphertext of {len(data)} bytes is not a multiple of the {k}-byte modulus")
    return b"".join(priv.decrypt(data[i:i + k], padding.PKCS1v15()) for i in range(0, len(data), k))


def stage2_parametros(bank_pub: rsa.RSAPublicKey, priv: rsa.RSAPrivateKey, session_id: str) -> str:
    """SPEC §2.3 steps 1-3: B64(RSA-ENCRYPT(bank_pub, GUID)).B64(sig)."""
    enc = rsa_encrypt(bank_pub, session_id.encode("utf-8"))
    return b64(enc) + "." + b64(sign_session(priv, session_id))


def stage2_body(bank_pub: rsa.RSAPublicKey, priv: rsa.RSAPrivateKey, session_id: str) -> Dict[str, str]:
    return {"parametros": stage2_parametros(bank_pub, priv, session_id)}


def _key_candidates(plaintext: bytes) -> List[bytes]:
    """SPEC §2.3 step 6: KID, any case of kid, then k; each counts if it
    decodes to 32 bytes or is 32 bytes of text."""
    try:
        doc = json.loads(plaintext)
    except ValueError:
        doc = None
    values: List[str] = []
    if isinstance(doc, dict):
        if isinstance(doc.get("KID"), str):
            values.append(doc["KID"])
        values += [v for n, v in doc.items() if n != "KID" and n.lower() == "kid" and isinstance(v, str)]
        if isinstance(doc.get("k"), str):
            values.append(doc["k"])
    else:
        if len(plaintext) == 32:
            return [plaintext]
        values.append(plaintext.decode("latin-1"))
    out = []
    for v in values:
        try:
            raw = unb64(v)
            if len(raw) == 32:
                out.append(raw)
        except ValueError:
            pass
        if len(v.encode("utf-8")) == 32:
            out.append(v.encode("utf-8"))
    return out


def parse_stage2_reply(body: bytes, priv: rsa.RSAPrivateKey, bank_pub: rsa.RSAPublicKey) -> bytes:
    """SPEC §2.3 steps 4-7: the 32-byte AES key, after the bank's signature
    over the raw key bytes verifies."""
    doc = json.loads(body)
    if isinstance(doc, str):
        value = doc
    elif isinstance(doc, dict):
        strings = [v for v in doc.values() if isinstance(v, str)]
        value = doc["jwk"] if isinstance(doc.get("jwk"), str) else strings[0] if len(strings) == 1 else None
        if value is None:
            raise ValueError(f"stage-2 reply has no single string member: {sorted(doc)}")
    else:
        raise ValueError("stage-2 reply is neither an object nor a string")
    enc_b64, sig_b64 = value.split(".")
    plaintext = rsa_decrypt(priv, unb64(enc_b64))
    sig = unb64(sig_b64)
    for key in _key_candidates(plaintext):
        try:
            bank_pub.verify(sig, key, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return key
    raise ValueError("no key candidate in the stage-2 reply verifies against the bank's signature")


# ---- envelope (SPEC §2.4, manual steps 17-23) ------------------------------------------


def aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-256-CTR, the IV as the initial 128-bit big-endian counter block."""
    if len(key) != 32 or len(iv) != 16:
        raise ValueError("AES-256-CTR needs a 32-byte key and a 16-byte counter block")
    c = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return c.update(data) + c.finalize()


def seal(key: bytes, iv_text: str, plaintext: bytes) -> str:
    iv = iv_text.encode("ascii")
    return ".".join((b64(ENVELOPE_HEADER), b64(iv), b64(aes_ctr(key, iv, plaintext))))


@dataclass(frozen=True)
class Opened:
    header: Dict[str, Any]
    iv: bytes
    plaintext: bytes

    def json(self) -> Any:
        return json.loads(self.plaintext.decode("utf-8"))


def open_envelope(key: bytes, envelope: str) -> Opened:
    parts = envelope.split(".")
    if len(parts) != 3:
        raise ValueError(f"an envelope has 3 parts, found {len(parts)}")
    hdr = json.loads(unb64(parts[0]))
    if not isinstance(hdr, dict) or hdr.get("enc") != "A256CTR":
        raise ValueError(f"envelope header {hdr!r} is not enc A256CTR")
    iv = unb64(parts[1])
    if len(iv) != 16:
        raise ValueError(f"IV of {len(iv)} bytes")
    return Opened(hdr, iv, aes_ctr(key, iv, unb64(parts[2])))


def data_body(envelope: str) -> Dict[str, str]:
    """Every request body after the handshake: ``{"data": envelope}``."""
    return {"data": envelope}


# ---- business messages --------------------------------------------------------------


def psd005_message(cliente: str) -> bytes:
    """Manual step 24, keys in the manual's order."""
    return compact({"idEstrategia": "autenticar/psd", "versaoAplicacao": 1, "credenciais": {}, "cliente": cliente})


def psd007_message(token: str) -> bytes:
    """Manual step 32: ``token: "retornado"``."""
    return compact({"token": token})


#: SPEC §2.7: member names (Table 1 in lowerCamelCase) in the SPEC's order.
BOLETO_ORDER: Dict[str, Any] = {
    "agencia": int, "conta": int,
    "documento": {
        "nossoNumero": int, "seuNumero": str, "especie": str, "dataVencimento": str, "valor": int,
        "codigoMoeda": int, "qtdDiasProtesto": int, "identificacaoAceite": str,
        "desconto": {"data": str, "valor": int},
        "multa": {"juros": float, "data": str, "taxa": float},
        "campoLivre": str, "taxaFidc": float, "danfe": str,
        "pagador": {"nome": str, "tipoPessoa": int, "numeroDocumento": int, "email": str,
                    "endereco": {"nome": str, "bairro": str, "cidade": str, "uf": str, "cep": int}},
        "beneficiario": {"nome": str, "tipoPessoa": int, "numeroDocumento": int, "email": str,
                         "endereco": {"nome": str, "bairro": str, "cidade": str, "uf": str, "cep": int}},
        "mensagens": [{"posicao": int, "descricao": str}],
    },
}


def _shape(value: Any, schema: Any, path: str) -> Any:
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise TypeError(f"{path}: expected an object")
        extra = set(value) - set(schema)
        if extra:
            raise KeyError(f"{path}: members not in SPEC §2.7: {sorted(extra)}")
        return {k: _shape(value[k], s, f"{path}.{k}" if path else k) for k, s in schema.items() if k in value}
    if isinstance(schema, list):
        if not isinstance(value, list):
            raise TypeError(f"{path}: expected a list")
        return [_shape(v, schema[0], f"{path}[{i}]") for i, v in enumerate(value)]
    if schema is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{path}: expected a number")
        return value
    if isinstance(value, bool) or not isinstance(value, schema):
        raise TypeError(f"{path}: expected {schema.__name__}, found {type(value).__name__}")
    return value


def psd050_message(boleto: Dict[str, Any]) -> bytes:
    """Table 1 in SPEC §2.7's member order and types (amounts integer cents)."""
    return compact(_shape(boleto, BOLETO_ORDER, ""))


def psd052_message(nosso_numero: str, seu_numero: str) -> bytes:
    """Table 3: both members text."""
    return compact({"documento": {"nossoNumero": str(nosso_numero), "seuNumero": str(seu_numero)}})


# ---- replies -----------------------------------------------------------------------


@dataclass(frozen=True)
class TokenInfo:
    token: str
    exp: int
    iat: int
    lifetime: int
    renew_at: int
    expires_at: int


def _int_claim(v: Any, name: str) -> int:
    if isinstance(v, bool):
        raise ValueError(name)
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v)
    raise ValueError(f"claim {name} is not an integer: {v!r}")


def token_info(token: str, t0: int) -> TokenInfo:
    """SPEC §2.5: decode the JWT payload unverified; schedule from the local receive time."""
    payload = json.loads(b64url_decode(token.split(".")[1]))
    exp, iat = _int_claim(payload["exp"], "exp"), _int_claim(payload["iat"], "iat")
    life = exp - iat
    if life <= 60:
        raise ValueError(f"token lifetime {life} s is not more than 60 s")
    return TokenInfo(token, exp, iat, life, t0 + life - 60, t0 + life - 30)


def member(obj: Dict[str, Any], name: str) -> Any:
    """SPEC §2.7: reply member names matched case-insensitively."""
    for k, v in obj.items():
        if k.lower() == name.lower():
            return v
    return None


def barcode_is_valid(code: str) -> bool:
    """Boleto barcode: 44 digits, general check digit at position 5 (mod 11, weights 2..9)."""
    if not re.fullmatch(r"\d{44}", code):
        return False
    digits = code[:4] + code[5:]
    total, w = 0, 2
    for ch in reversed(digits):
        total += int(ch) * w
        w = 2 if w == 9 else w + 1
    dv = 11 - total % 11
    if dv in (0, 10, 11):
        dv = 1
    return int(code[4]) == dv


def cpf_is_valid(cpf: str) -> bool:
    d = [int(c) for c in cpf]
    if len(d) != 11 or len(set(d)) == 1:
        return False
    for n in (9, 10):
        s = sum(d[i] * (n + 1 - i) for i in range(n))
        if (s * 10 % 11) % 10 != d[n]:
            return False
    return True


# ---- the witness as a client ----------------------------------------------------------

Send = Callable[[str, str, List[Tuple[str, str]], bytes], Tuple[int, List[Tuple[str, str]], bytes]]


@dataclass
class Sent:
    service: str
    url: str
    headers: List[Tuple[str, str]]
    body: bytes
    plaintext: Optional[bytes]
    status: int
    response_headers: List[Tuple[str, str]]
    response_body: bytes
    row: Dict[str, Any]


@dataclass
class Reply:
    status: int
    row: Dict[str, Any]
    headers: List[Tuple[str, str]]
    body: bytes
    json: Any = None


class WitnessError(Exception):
    pass


@dataclass
class WitnessClient:
    """The client role, from the manual. ``send`` carries the bytes."""

    base: str
    cliente: str
    send: Send
    rng: random.Random
    client_key: rsa.RSAPrivateKey = field(default_factory=generate_client_key)
    session_id: Optional[str] = None
    bank_pub: Optional[rsa.RSAPublicKey] = None
    aes_key: Optional[bytes] = None
    token: Optional[TokenInfo] = None
    work_id: Optional[str] = None
    log: List[Sent] = field(default_factory=list)
    recoveries: List[str] = field(default_factory=list)
    used_ivs: set = field(default_factory=set)  # IV bytes sent or received
    clock: Callable[[], int] = lambda: 0

    def _post(self, service: str, body_obj: Dict[str, str], plaintext: Optional[bytes] = None) -> Reply:
        assert self.session_id is not None
        h = headers(service, self.session_id, new_guid(self.rng),
                    work_id=self.work_id if service in AUTHORIZED else None,
                    token=self.token.token if service in AUTHORIZED and self.token else None)
        body = compact(body_obj)
        u = url(self.base, service)
        status, rh, rb = self.send("POST", u, h, body)
        row = classify(status, rh)
        self.log.append(Sent(service, u, h, body, plaintext, status, rh, rb, row))
        return Reply(status, row, rh, rb)

    # psd001 ------------------------------------------------------------------
    def handshake(self) -> None:
        self.session_id, self.aes_key, self.token, self.work_id = new_guid(self.rng), None, None, None
        self.used_ivs = set()
        r = self._post("psd001", stage1_body(self.client_key, self.session_id))
        if r.row["action"] != "success":
            raise WitnessError(f"psd001 stage 1: HTTP {r.status} ({r.row['name']}): {r.body[:200]!r}")
        self.bank_pub = parse_stage1_reply(r.body)
        r = self._post("psd001", stage2_body(self.bank_pub, self.client_key, self.session_id))
        if r.row["action"] != "success":
            raise WitnessError(f"psd001 stage 2: HTTP {r.status} ({r.row['name']}): {r.body[:200]!r}")
        self.aes_key = parse_stage2_reply(r.body, self.client_key, self.bank_pub)

    # sealed calls ------------------------------------------------------------
    def _iv(self) -> str:
        """A fresh IV: never one already sent or received in this session (SPEC §2.4)."""
        while True:
            iv = new_iv_text(self.rng)
            if iv.encode("ascii") not in self.used_ivs:
                self.used_ivs.add(iv.encode("ascii"))
                return iv

    def sealed(self, service: str, plaintext: bytes) -> Reply:
        """One sealed call, no recovery; opens an envelope reply (2xx and 550)."""
        assert self.aes_key is not None
        r = self._post(service, data_body(seal(self.aes_key, self._iv(), plaintext)), plaintext)
        if r.row["action"] in ("success", "business-error") and r.body:
            doc = json.loads(r.body)
            env = doc.get("data") if isinstance(doc, dict) else None
            if isinstance(env, str):
                opened = open_envelope(self.aes_key, env)
                if opened.iv in self.used_ivs:
                    raise WitnessError("the bank reused an IV of this session")
                self.used_ivs.add(opened.iv)
                r.json = opened.json()
            else:
                r.json = doc
        return r

    def authenticate(self) -> TokenInfo:
        r = self.sealed("psd005", psd005_message(self.cliente))
        if r.row["action"] != "success":
            raise WitnessError(f"psd005: HTTP {r.status} ({r.row['name']})")
        self.token = token_info(member(r.json, "token"), self.clock())
        self.work_id = member(r.json, "workId")
        return self.token

    def recover(self, action: str) -> None:
        """SPEC §2.6/§2.3 step 8: both discard key, token and workId and start over."""
        self.recoveries.append(action)
        self.handshake()
        self.authenticate()

    def call(self, service: str, build: Callable[[], bytes], max_recoveries: int = 3) -> Reply:
        """A business call with the status table's recoveries."""
        for _ in range(max_recoveries + 1):
            r = self.sealed(service, build())
            if r.row["action"] in ("reinit", "rehandshake"):
                self.recover(r.row["action"])
                continue
            return r
        raise WitnessError(f"{service}: too many recoveries")

    def renew(self) -> Reply:
        def build() -> bytes:
            assert self.token is not None
            return psd007_message(self.token.token)

        r = self.call("psd007", build)
        if r.row["action"] == "success":
            self.token = token_info(member(r.json, "token"), self.clock())
        return r

    def register_boleto(self, boleto: Dict[str, Any]) -> Reply:
        return self.call("psd050", lambda: psd050_message(boleto))

    def query_boleto(self, nosso_numero: str, seu_numero: str) -> Reply:
        return self.call("psd052", lambda: psd052_message(nosso_numero, seu_numero))

"""The error table and the exception classes."""

import re

import pytest

import selo
from conftest import ROOT

AREA_FILES = {
    "key": "core/src/keys/mod.rs",
    "crypto": "core/src/crypto/mod.rs",
    "safra": "core/src/safra/mod.rs",
    "ofb": "core/src/ofb/mod.rs",
    "bmp": "core/src/bmp/mod.rs",
    "br": "core/src/br/mod.rs",
}


def codes_in_source():
    """The codes as declared in the core's define_error! blocks, read from
    the Rust source (independent of the binding), in all_codes() order."""
    out = []
    for area, path in AREA_FILES.items():
        text = (ROOT / path).read_text(encoding="utf-8")
        block = text[text.index("define_error!"):]
        block = block[: block.index("\n}\n")]
        out += re.findall(r'=> \("([a-z0-9_.]+)",', block)
    return out


def test_python_codes_equal_the_core_table():
    codes = selo.all_codes()
    assert codes == codes_in_source()
    assert len(codes) == len(set(codes)) > 100


def test_every_code_maps_to_its_area_class():
    from selo._errors import error_for

    classes = {
        "key": selo.SeloKeyError,
        "crypto": selo.CryptoError,
        "safra": selo.SafraError,
        "ofb": selo.OfbError,
        "bmp": selo.BmpError,
        "br": selo.BrError,
    }
    for code in selo.all_codes():
        e = error_for(code, "m")
        assert type(e) is classes[code.split(".")[0]], code
        assert isinstance(e, selo.SeloError)
        assert e.code == code and str(e) == f"{code}: m"


def test_http_status_comes_from_the_core():
    assert selo.http_status("safra.bank.token_limit") == 480
    assert selo.http_status("ofb.replay.jti") == 403
    assert selo.http_status("bmp.server.bad_mac") == 406
    assert selo.http_status("key.size") is None
    assert selo.http_status("nope") is None


def test_native_errors_become_area_subclasses_with_readable_str():
    with pytest.raises(selo.SafraError) as ei:
        selo.safra.unwrap_body(b"[]")
    e = ei.value
    assert e.code == "safra.envelope.bad_body"
    assert str(e).startswith("safra.envelope.bad_body: ")
    assert "SafraError(code='safra.envelope.bad_body'" in repr(e)
    assert e.http_status == 400
    with pytest.raises(selo.SeloKeyError) as ki:
        selo.PrivateKey.load(b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")
    assert ki.value.code.startswith("key.import.")
    assert not isinstance(ki.value, KeyError)


def test_argument_errors_are_value_errors():
    with pytest.raises(ValueError):
        selo.safra.Session("hml", "C", rng_seed=b"short")
    with pytest.raises(ValueError):
        selo.safra.Session("hml", "C", provider="openssl")
    with pytest.raises(ValueError):
        selo.safra.Session("hml", "C").prepare(selo.safra.Operation.authenticate(), now=-1)


def host_codes_in_source():
    """The codes only the host layers raise, read from the core's
    ``HOST_CODES`` table in core/src/error.rs, in its order."""
    text = (ROOT / "core/src/error.rs").read_text(encoding="utf-8")
    block = text[text.index("pub const HOST_CODES"):]
    block = block[: block.index("\n];\n")]
    return re.findall(r'code: "([a-z0-9_.]+)",', block)


def test_host_codes_equal_the_core_table_and_are_not_core_codes():
    host = selo.host_codes()
    assert host == host_codes_in_source()
    assert "internal" in host and "http.body_too_large" in host
    assert not set(host) & set(selo.all_codes())
    assert selo.http_status("http.body_too_large") == 413
    # issue 20: the JWKS and client codes are the core's now
    for c in ("ofb.jwks.fetch", "ofb.jwks.unavailable", "ofb.jwks.url", "ofb.client.unsigned",
              "ofb.client.http_status", "bmp.confirm.internal", "safra.handshake.bank_key_not_pinned",
              "safra.handshake.session_exists"):
        assert c in selo.all_codes() and c not in host, c
    assert selo.http_status("ofb.jwks.unavailable") == 503


# String constants in the package that look like a code but are not one:
# ASGI/WSGI keys and message types, field paths of a boleto.
NOT_CODES = {"http.response.start", "http.response.body", "wsgi.input", "documento.valor", "documento.desconto.valor"}
CODE_RE = re.compile(r"([a-z]+(?:\.[a-z0-9_]+)+)(?::\s|$)")


def codes_in_python_sources():
    """Every code the package's own Python raises: string constants (f-string
    parts included) that are a dotted code or start a message with "code: ",
    and the first string argument of ``error_for`` or of a SeloError
    (subclass) taking ``(code, message)``, and of ``super().__init__`` in a
    SeloError subclass (these also catch an undotted code)."""
    import ast

    error_classes = set()  # SeloError and its subclasses
    code_first = set()  # those whose constructor is SeloError's (code, message)
    todo = [selo.SeloError]
    while todo:
        c = todo.pop()
        error_classes.add(c.__name__)
        if c.__init__ is selo.SeloError.__init__:
            code_first.add(c.__name__)
        todo += c.__subclasses__()
    found = {}
    for path in sorted((ROOT / "python" / "selo").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                m = CODE_RE.match(node.value)
                if m:
                    found.setdefault(m.group(1), path.name)
            if isinstance(node, ast.ClassDef):
                bases = {getattr(b, "id", getattr(b, "attr", None)) for b in node.bases}
                if bases & error_classes:
                    for call in ast.walk(node):
                        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                                and call.func.attr == "__init__" and isinstance(call.func.value, ast.Call)
                                and getattr(call.func.value.func, "id", None) == "super"
                                and call.args and isinstance(call.args[0], ast.Constant)
                                and isinstance(call.args[0].value, str)):
                            found.setdefault(call.args[0].value, path.name)
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if (name in code_first or name == "error_for") and isinstance(node.args[0].value, str):
                    found.setdefault(node.args[0].value, path.name)
    return {c: f for c, f in found.items() if c not in NOT_CODES}


def test_every_code_the_python_sources_raise_is_in_a_table():
    found = codes_in_python_sources()
    # The scan sees the driver codes (so it would see a new one).
    for c in ("ofb.jwks.fetch", "ofb.jwks.unavailable", "internal", "ofb.replay.store_failed",
              "bmp.confirm.internal"):
        assert c in found, f"scan missed {c}"
    # ffi.* codes reach Python only through the C ABI fast path (_capi.py),
    # which turns them into ValueError / SeloError("internal"): the C
    # binding's FFI_CODES, read from its source.
    text = (ROOT / "bindings/ffi/src/lib.rs").read_text(encoding="utf-8")
    block = text[text.index("pub const FFI_CODES"):]
    ffi = set(re.findall(r'"(ffi\.[a-z0-9_]+)"', block[: block.index("];")]))
    assert "ffi.panic" in ffi
    known = set(selo.all_codes()) | set(selo.host_codes()) | ffi
    unlisted = sorted(f"{c} ({f})" for c, f in found.items() if c not in known)
    assert unlisted == [], "codes raised in Python but in no table: add them to HOST_CODES in core/src/error.rs"

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

"""Every Safra vector: external (independent implementations) and our own,
including the byte-for-byte replay of the whole-flow transcript."""

import base64
import json

import pytest

import selo
from selo import safra
from conftest import vec, vec_text

b64d = base64.b64decode


def test_stage1_jwk_for_every_key_format_and_the_bank_reply():
    v = vec("external/safra/stage1.json")
    key = selo.PrivateKey.load(v["client_private_pkcs8_pem"])
    assert len(v["jwk_by_key_format"]) == 3
    for fmt, expected in v["jwk_by_key_format"].items():
        for provider in ("rustcrypto", "default"):
            jwk = safra.stage1_jwk(key, v["session_id"], fmt, provider=provider)
            assert jwk == expected, fmt
            assert jwk.startswith(v["signature_b64"] + ".")
    bank = safra.parse_stage1_reply(safra.json_body("jwk", v["bank_reply_jwk"]))
    assert bank == selo.PublicKey.load(b64d(v["bank_public_spki_der_b64"]))
    assert bank.to_der() == b64d(v["bank_public_spki_der_b64"])


def test_stage2_replies_under_every_padding_block_count_and_member():
    v = vec("external/safra/stage2.json")
    client = selo.PrivateKey.load(v["client_private_pkcs8_pem"])
    bank = selo.PublicKey.load(b64d(v["bank_public_spki_der_b64"]))
    want = b64d(v["aes_key_b64"])
    assert len(v["cases"]) == 16
    for c in v["cases"]:
        enc = c["enc_jwk_b64"]
        assert len(b64d(enc)) == 128 * c["blocks"]
        for sig_field, message in (("bank_sig_over_key_b64", "raw-key"),
                                   ("bank_sig_over_key_base64_text_b64", "key-base64-text")):
            body = safra.json_body("jwk", f"{enc}.{v[sig_field]}")
            for paddings, messages in (((c["padding"],), (message,)), (("auto",), ("auto",))):
                a = safra.parse_stage2_reply(body, client, bank, paddings=paddings, signature_messages=messages)
                assert a.key == want, c
                assert a.padding == c["padding"]
                assert a.signature_message == message
            wrong = "plaintext" if message == "raw-key" else "raw-key"
            with pytest.raises(selo.SafraError) as ei:
                safra.parse_stage2_reply(body, client, bank, paddings=(c["padding"],), signature_messages=(wrong,))
            assert ei.value.code == "safra.handshake.bad_signature"


def test_stage2_parametros_signature_is_deterministic_pkcs1():
    v = vec("external/safra/stage2.json")
    s1 = vec("external/safra/stage1.json")
    client = selo.PrivateKey.load(v["client_private_pkcs8_pem"])
    sig = client.sign(s1["session_id"].encode(), scheme="pkcs1v15-sha256")
    assert base64.b64encode(sig).decode() == v["parametros_signature_b64"]


def test_envelopes_seal_and_open_including_counter_carry():
    v = vec("external/safra/envelope.json")
    assert safra.envelope_header_b64() == v["header_b64"]
    for c in v["seal_and_open"]:
        key = b64d(c["key_b64"])
        env = safra.seal_with_iv(key, c["iv_text"].encode(), c["plaintext"])
        assert env == c["envelope"]
        opened = safra.Envelopes(key).open(c["envelope"])
        assert opened.plaintext == c["plaintext"].encode()
        assert opened.iv == c["iv_text"].encode()
    assert len(v["open_only_counter_carry"]) == 3
    for c in v["open_only_counter_carry"]:
        key = b64d(c["key_b64"])
        o = safra.open_envelope(key, c["envelope"])
        assert o.plaintext == b64d(c["plaintext_b64"]), c.get("note")
        assert base64.b64encode(o.iv).decode() == c["iv_b64"]
        assert safra.seal_with_iv(key, o.iv, o.plaintext) == c["envelope"]


def test_token_schedule_from_local_receive_time():
    v = vec("external/safra/token.json")
    t = safra.token_schedule(v["token"], v["t0"])
    assert (t.lifetime, t.renew_at, t.expires_at) == (v["lifetime"], v["renew_at"], v["expires_at"])
    assert t.received_at == v["t0"]
    assert safra.token_claims(v["token"]) == v["claims"]


def test_generated_stage1_stage2_and_envelopes():
    v = vec("safra/generated.json")
    client = selo.PrivateKey.load(v["client_private_pkcs8_pem"])
    bank = selo.PrivateKey.load(v["bank_private_pkcs8_pem"])
    for c in v["stage1"]:
        assert safra.stage1_jwk(client, c["session_id"], c["key_format"]) == c["jwk"]
    assert v["stage2"]
    for c in v["stage2"]:
        a = safra.parse_stage2_reply(c["reply_body"].encode(), client, bank.public_key())
        assert (a.padding, a.signature_message) == (c["padding"], c["signature_message"])
        assert base64.b64encode(a.key).decode() == c["aes_key_b64"]
    for c in v["envelopes"]:
        key = b64d(c["key_b64"])
        assert safra.seal_with_iv(key, c["iv_text"].encode(), c["plaintext"]) == c["envelope"]


def _transcript():
    v = vec("safra/generated.json")
    t = v["transcript"]
    boleto = vec_text("safra/boleto-sample.json")
    ops = [
        safra.Operation.authenticate(),
        safra.Operation.renew(),
        safra.Operation.register_boleto(boleto),
        safra.Operation.query_boleto("000000123456789", "0000004021"),
    ]
    assert t["operations"] == ["authenticate", "renew", "register", "query"]
    return v, t, ops


def test_client_replays_the_transcript_byte_for_byte():
    v, t, ops = _transcript()
    s = safra.Session(
        t["base_url"], t["cliente"], profile=t["profile"],
        client_key=selo.PrivateKey.load(v["client_private_pkcs8_pem"]),
        rng_seed=bytes([t["client_rng_seed_byte"]]) * 32, provider="rustcrypto",
    )
    steps = iter(t["steps"])
    replies = []
    for op in ops:
        while True:
            step = next(steps)
            p = s.prepare(op, now=t["now"])
            want = step["request"]
            assert (p.method, p.url) == (want["method"], want["url"])
            assert [list(h) for h in p.headers] == want["headers"]
            assert p.body == want["body"].encode()
            r = step["response"]
            out = s.handle(p.id, r["status"], [tuple(h) for h in r["headers"]], r["body"].encode(), now=t["now"])
            if out.done:
                replies.append(out.reply)
                break
    assert next(steps, None) is None
    assert base64.b64encode(s.session_key()).decode() == t["final_session_key_b64"]
    assert isinstance(replies[0], safra.Token) and isinstance(replies[1], safra.Token)
    assert replies[2].documento.codigo_barras and replies[3].documento.registrado_cip
    assert s.state == "authenticated"


def test_bank_replays_its_side_of_the_transcript_byte_for_byte():
    v, t, _ = _transcript()
    bank = safra.Bank(selo.PrivateKey.load(v["bank_private_pkcs8_pem"]), token_lifetime=t["bank_token_lifetime"],
                      profile=t["profile"], rng_seed=bytes([t["bank_rng_seed_byte"]]) * 32, provider="rustcrypto")
    for step in t["steps"]:
        req = step["request"]
        path = req["url"].replace("http://127.0.0.1:8080", "")
        r = bank.handle(path, [tuple(h) for h in req["headers"]], req["body"].encode(), now=t["now"])
        want = step["response"]
        assert r.status == want["status"]
        assert [list(h) for h in r.headers] == want["headers"]
        assert r.body == want["body"].encode()


def test_a_different_seed_diverges_so_the_replay_can_fail():
    v, t, ops = _transcript()
    s = safra.Session(t["base_url"], t["cliente"], profile=t["profile"],
                      client_key=selo.PrivateKey.load(v["client_private_pkcs8_pem"]),
                      rng_seed=bytes([9]) * 32, provider="rustcrypto")
    p = s.prepare(ops[0], now=t["now"])
    assert p.body != t["steps"][0]["request"]["body"].encode()


def test_session_export_import_round_trips_mid_flow():
    v, t, ops = _transcript()
    s = safra.Session(t["base_url"], t["cliente"], profile=t["profile"],
                      client_key=selo.PrivateKey.load(v["client_private_pkcs8_pem"]),
                      rng_seed=bytes([t["client_rng_seed_byte"]]) * 32, provider="rustcrypto")
    steps = iter(t["steps"])
    while True:
        step = next(steps)
        p = s.prepare(ops[0], now=t["now"])
        r = step["response"]
        if s.handle(p.id, r["status"], [tuple(h) for h in r["headers"]], r["body"].encode(), now=t["now"]).done:
            break
    blob = s.export()
    assert json.loads(blob)["state"] == "authenticated"
    s2 = safra.Session.load(blob)
    assert s2.state == "authenticated" and s2.work_id == s.work_id and s2.token == s.token
    assert s2.session_key() == s.session_key()

"""TransloadIt signatures: params signing and notification verification (sha384 and legacy sha1)."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from mam.http import ApiError
from mam.uploads import notification, signing

SECRET = "s3cret-value"
PAYLOAD = json.dumps({"ok": "ASSEMBLY_COMPLETED", "assembly_id": "a" * 32})


def _hex(algo: str, secret: str = SECRET, message: str = PAYLOAD) -> str:
    return hmac.new(secret.encode(), message.encode(), getattr(hashlib, algo)).hexdigest()


def test_sign_matches_an_independent_hmac_and_prefix():
    assert signing.sign(SECRET, PAYLOAD) == "sha384:" + _hex("sha384")
    assert signing.sign(SECRET, PAYLOAD, "sha1") == _hex("sha1")  # legacy: bare hex, no prefix


@pytest.mark.parametrize("signature", [
    "sha384:" + _hex("sha384"),
    "SHA384:" + _hex("sha384").upper(),
    "sha256:" + _hex("sha256"),
    "sha1:" + _hex("sha1"),
    _hex("sha1"),  # legacy unprefixed SHA-1
])
def test_valid_signatures_verify(signature):
    assert signing.verify(SECRET, PAYLOAD, signature)


@pytest.mark.parametrize("signature", [
    None, "", ":", "sha384:", "sha384", "sha512:" + hashlib.sha512(b"x").hexdigest(),
    "md5:" + hashlib.md5(b"x").hexdigest(),
    "sha384:" + _hex("sha384")[:-2],  # truncated
    "sha384:" + _hex("sha384") + "00",  # too long
    "sha384:" + _hex("sha384", secret="other"),  # wrong secret
    "sha384:" + "z" * 96,  # garbage of the right length
    _hex("sha384"),  # a sha384 digest without its prefix is read as (wrong) sha1
    "sha1:" + "é" * 40,  # non-ASCII garbage must not raise
])
def test_invalid_signatures_fail_without_raising(signature):
    assert signing.verify(SECRET, PAYLOAD, signature) is False


def test_signature_covers_the_exact_string():
    sig = signing.sign(SECRET, PAYLOAD)
    assert not signing.verify(SECRET, PAYLOAD + " ", sig)
    assert not signing.verify(SECRET, json.dumps(json.loads(PAYLOAD), indent=1), sig)
    assert not signing.verify("", PAYLOAD, sig)  # an unset secret never verifies anything


def test_verify_uses_constant_time_compare(monkeypatch):
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(signing.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    signing.verify(SECRET, PAYLOAD, "sha384:" + _hex("sha384"))
    signing.verify(SECRET, PAYLOAD, _hex("sha1", secret="x"))
    assert len(calls) == 2


def test_authenticate_checks_signature_before_parsing():
    good = signing.sign(SECRET, PAYLOAD)
    note = notification.authenticate(PAYLOAD, good, SECRET)
    assert note.assembly_id == "a" * 32 and note.status["ok"] == "ASSEMBLY_COMPLETED"
    cases = [
        (None, good, 400, "missing_field"),
        (PAYLOAD, None, 401, "missing_signature"),
        (PAYLOAD, "sha384:" + "0" * 96, 401, "invalid_signature"),
        ("{not json", signing.sign(SECRET, "{not json"), 400, "invalid_payload"),
        ("[1, 2]", signing.sign(SECRET, "[1, 2]"), 400, "invalid_payload"),
        ('{"ok": "x"}', signing.sign(SECRET, '{"ok": "x"}'), 400, "invalid_payload"),
        ('{"assembly_id": "../x"}', signing.sign(SECRET, '{"assembly_id": "../x"}'), 400, "invalid_payload"),
        ("{not json", "sha384:" + "0" * 96, 401, "invalid_signature"),  # forged garbage: 401, not parsed
    ]
    for raw, sig, status, code in cases:
        with pytest.raises(ApiError) as err:
            notification.authenticate(raw, sig, SECRET)
        assert (err.value.status, err.value.code) == (status, code), raw

"""The three webhook verifiers read signatures alike: hex in either case, every v1 entry (bounded), malformed
headers refused with a reason (never an exception of another type), constant-time compares."""
from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from mam.clients import twelvelabs as tl
from mam.library import signature as b2sig
from mam.uploads import signing

SECRET = "s3cret"
BODY = b'{"events": []}'


def _b2_hex(body: bytes = BODY, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _tl_hex(t: int, body: bytes = BODY, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


# ---- B2 event notifications --------------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [
    lambda h: f"v1={h}", lambda h: f"v1={h.upper()}", lambda h: f"V1={h}", lambda h: f" v1 = {h} ",
    lambda h: ",".join([f"v1={'0' * 64}"] * 5 + [f"v1={h}"]),  # the 6th entry (only 4 were read before)
    lambda h: f"v2=abc,v1={'f' * 64},v1={h.upper()}"])
def test_b2_accepts_any_v1_entry_in_either_case(header):
    b2sig.verify(SECRET, header(_b2_hex()), BODY)


@pytest.mark.parametrize("header,reason", [
    (None, "missing"), ("", "missing"), ("   ", "missing"), ("v1", "malformed"), ("v1=", "malformed"),
    ("v2=abc", "malformed"), ("garbage", "malformed"), (",,,", "malformed"),
    ("v1=" + "a" * 5000, "malformed"), (",".join(["v1=00"] * 17), "malformed"),
    ("v1=" + "é" * 64, "does not match"), ("v1=\x00" * 3, "does not match"), ("v1=" + "0" * 64, "does not match")])
def test_b2_refuses_malformed_headers_with_a_reason(header, reason):
    with pytest.raises(b2sig.SignatureError) as err:
        b2sig.verify(SECRET, header, BODY)
    assert reason in err.value.reason and SECRET not in err.value.reason


# ---- Twelve Labs -------------------------------------------------------------------------------------------------
def test_twelvelabs_accepts_uppercase_hex_and_any_v1_entry():
    t = int(time.time())
    good = _tl_hex(t)
    assert tl.verify_webhook(SECRET, f"t={t},v1={good.upper()}", BODY) == t
    many = ",".join([f"v1={'0' * 64}"] * 6)
    assert tl.verify_webhook(SECRET, f"t={t},{many},v1={good}", BODY) == t
    assert tl.verify_webhook(SECRET, f" T={t} , V1={good} ", BODY) == t


@pytest.mark.parametrize("header", [
    None, "", "t=1", "v1=abc", "t=,v1=abc", "t=abc,v1=abc", "t=9" + "9" * 5000 + ",v1=abc", "t=1e9,v1=abc",
    "t=+1,v1=abc", "t=1_0,v1=abc", "t=1,t=2,v1=abc", "garbage", ",".join(["v1=00"] * 20) + ",t=1",
    "t=1,v1=" + "x" * 5000, "t=99999999999999999999,v1=abc"])
def test_twelvelabs_refuses_malformed_headers(header):
    with pytest.raises(tl.WebhookSignatureError) as err:
        tl.verify_webhook(SECRET, header, BODY)
    assert SECRET not in err.value.reason


def test_twelvelabs_refuses_stale_and_wrong_signatures():
    old = int(time.time()) - 3600
    with pytest.raises(tl.WebhookSignatureError, match="window"):
        tl.verify_webhook(SECRET, f"t={old},v1={_tl_hex(old)}", BODY)
    now = int(time.time())
    with pytest.raises(tl.WebhookSignatureError, match="does not match"):
        tl.verify_webhook(SECRET, f"t={now},v1={_tl_hex(now, secret='other')}", BODY)


# ---- TransloadIt -------------------------------------------------------------------------------------------------
def test_transloadit_accepts_uppercase_hex_and_refuses_garbage():
    msg = '{"assembly_id": "abc"}'
    sig = signing.sign(SECRET, msg)
    algo, _, digest = sig.partition(":")
    assert signing.verify(SECRET, msg, f"{algo}:{digest.upper()}")
    assert signing.verify(SECRET, msg, f"SHA384:{digest}")
    for bad in ("", ":", "sha384:", "sha384:" + "é" * 96, "md5:" + digest, "sha384:" + digest[:-1] + "\x00",
                None, 7, "sha384:" + "0" * 96):
        assert not signing.verify(SECRET, msg, bad)
    assert not signing.verify(SECRET, "\ud800", sig)  # a lone surrogate never raises

"""The task routes' caller check (mam.task_auth): Google ID tokens of Cloud Tasks, verified against certs served on
loopback in Google's v1 format by a key of the test's own (`standins.tasks.Issuer`)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import flask
import pytest
from mam import settings, task_auth
from mam.http import ApiError
from mam.task_auth import Certs, Refused, Unavailable, require_task_caller, verify_token
from standins.tasks import Issuer

from localdev.processes import free_port

AUD = "https://us-central1-p.cloudfunctions.net/index_tasks"
SA = "mam-tasks@p.iam.gserviceaccount.com"


@pytest.fixture
def issuer():
    with Issuer() as i:
        yield i


@pytest.fixture
def certs(issuer) -> Certs:
    return Certs(issuer.url)


def check(token: str, certs: Certs, audience: str = AUD, email: str = SA) -> dict:
    return verify_token(token, audience=audience, email=email, source=certs)


def refused(token: str, certs: Certs, **kw) -> str:
    with pytest.raises(Refused) as raised:
        check(token, certs, **kw)
    return raised.value.reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---- the token ----------------------------------------------------------------------------------------------------
def test_a_token_as_cloud_tasks_sends_it_is_accepted(issuer, certs):
    claims = check(issuer.mint(AUD, SA), certs)
    assert claims["email"] == SA and claims["aud"] == AUD and claims["email_verified"] is True
    # Google has issued both spellings of its issuer
    assert check(issuer.mint(AUD, SA, iss="accounts.google.com"), certs)["iss"] == "accounts.google.com"


def test_a_token_just_past_its_expiry_is_accepted_within_the_clock_skew(issuer, certs):
    now = time.time()
    assert check(issuer.mint(AUD, SA, now=now - 3600 - 30), certs)  # expired 30 s ago: within the skew of 60 s
    assert refused(issuer.mint(AUD, SA, now=now - 3600 - 120), certs) == "expired"


@pytest.mark.parametrize(("claims", "reason"), [
    ({"aud": "https://us-central1-p.cloudfunctions.net/upload_tasks"}, "wrong_audience"),
    ({"aud": AUD + "/tasks/submit"}, "wrong_audience"),  # Cloud Tasks' audience is the bare function URL
    ({"aud": [AUD]}, "wrong_audience"),
    ({"iss": "https://evil.example"}, "wrong_issuer"),
    ({"iss": "https://securetoken.google.com/p"}, "wrong_issuer"),  # a Firebase user's token is no task
    ({"email": "someone@p.iam.gserviceaccount.com"}, "wrong_email"),
    ({"email": SA.upper()}, "wrong_email"),
    ({"email_verified": False}, "email_not_verified"),
    ({"email_verified": "true"}, "email_not_verified"),
])
def test_a_token_for_another_audience_issuer_or_account_is_refused(issuer, certs, claims, reason):
    assert refused(issuer.mint(AUD, SA, **claims), certs) == reason


def test_a_token_without_email_verified_or_email_is_refused(issuer, certs):
    assert refused(issuer.mint(AUD, SA, drop=("email_verified",)), certs) == "email_not_verified"
    assert refused(issuer.mint(AUD, SA, drop=("email",)), certs) == "wrong_email"
    assert refused(issuer.mint(AUD, SA, drop=("exp",)), certs) == "bad_times"


def test_an_expired_or_future_token_is_refused(issuer, certs):
    now = time.time()
    assert refused(issuer.mint(AUD, SA, now=now - 7200), certs) == "expired"
    assert refused(issuer.mint(AUD, SA, now=now + 600), certs) == "not_yet_valid"


def test_no_expected_account_or_audience_accepts_nothing(issuer, certs):
    assert refused(issuer.mint(AUD, ""), certs, email="") == "wrong_email"
    assert refused(issuer.mint("", SA), certs, audience="") == "wrong_audience"


def test_a_token_signed_by_another_key_under_a_published_key_id_is_refused(issuer, certs):
    with Issuer() as other:
        forged = other.mint(AUD, SA, header={"kid": issuer.key.kid})
    assert refused(forged, certs) == "bad_signature"
    # the claims of a good token with another signature, and a good signature over other claims
    good = issuer.mint(AUD, SA).split(".")
    assert refused(".".join([good[0], good[1], _b64(b"\0" * 256)]), certs) == "bad_signature"
    other_claims = _b64(json.dumps({**json.loads(base64.urlsafe_b64decode(good[1] + "==")), "aud": "x"}).encode())
    assert refused(".".join([good[0], other_claims, good[2]]), certs) == "bad_signature"


def test_a_token_of_an_unknown_key_or_no_key_id_is_refused(issuer, certs):
    with Issuer() as other:
        assert refused(other.mint(AUD, SA), certs) == "unknown_key"
    assert refused(issuer.mint(AUD, SA, header={"kid": None}), certs) == "no_key_id"
    assert refused(issuer.mint(AUD, SA, header={"kid": 7}), certs) == "no_key_id"


def test_alg_none_and_hmac_tokens_are_refused(issuer, certs):
    head = _b64(json.dumps({"alg": "none", "kid": issuer.key.kid, "typ": "JWT"}).encode())
    body = issuer.mint(AUD, SA).split(".")[1]
    assert refused(f"{head}.{body}.", certs) == "wrong_algorithm"
    # HS256 keyed with the public certificate: the classic algorithm confusion
    head = _b64(json.dumps({"alg": "HS256", "kid": issuer.key.kid}).encode())
    mac = hmac.new(issuer.key.certificate_pem().encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert refused(f"{head}.{body}.{_b64(mac)}", certs) == "wrong_algorithm"
    assert refused(issuer.mint(AUD, SA, header={"alg": "ES256"}), certs) == "wrong_algorithm"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "..", "a.b", "a.b.c.d", "eyJ.eyJ.x", "\u00e9.\u00e9.\u00e9",
                                     _b64(b"[1]") + "." + _b64(b"{}") + ".x", _b64(b"{}") + "." + _b64(b"7") + ".x",
                                     "x" * 10000 + ".a.b"])
def test_garbage_is_refused_as_malformed(certs, garbage):
    assert refused(garbage, certs) in ("malformed", "wrong_algorithm")


# ---- the certs ----------------------------------------------------------------------------------------------------
def test_certs_are_fetched_once_while_their_max_age_lasts(issuer, certs):
    for _ in range(20):
        check(issuer.mint(AUD, SA), certs)
    assert issuer.hits == 1 and certs.fetches == 1


def test_certs_past_their_max_age_are_fetched_again(issuer, certs):
    issuer.server.max_age = 0
    check(issuer.mint(AUD, SA), certs)
    check(issuer.mint(AUD, SA), certs)
    assert issuer.hits == 2


def test_an_unknown_key_id_fetches_the_certs_again_but_not_at_every_request(issuer):
    certs = Certs(issuer.url, refetch_seconds=0.3)
    check(issuer.mint(AUD, SA), certs)
    with Issuer() as rotated:
        issuer.server.keys.append(rotated.key)  # Google publishes the next key; tokens signed with it follow
        time.sleep(0.4)
        assert check(rotated.mint(AUD, SA), certs)["email"] == SA
        assert issuer.hits == 2
    time.sleep(0.4)
    with Issuer() as stranger:
        for _ in range(10):
            assert refused(stranger.mint(AUD, SA), certs) == "unknown_key"
    assert issuer.hits == 3  # one refetch for the stranger's key id, then none until refetch_seconds pass


def test_unreachable_certs_make_the_check_unavailable_not_a_pass(issuer):
    certs = Certs(f"http://127.0.0.1:{free_port()}/oauth2/v1/certs")
    with pytest.raises(Unavailable):
        check(issuer.mint(AUD, SA), certs)


# ---- the request ----------------------------------------------------------------------------------------------------
@pytest.fixture
def wired(issuer, monkeypatch):
    """Settings and runtime of a deployed index_tasks, its certs on the issuer's loopback URL."""
    for key, value in {"GCP_PROJECT": "p", "TASKS_SERVICE_ACCOUNT": SA, "CLOUD_TASKS_OIDC_CERTS_URL": issuer.url,
                       "FUNCTIONS_BASE_URL": "https://us-central1-p.cloudfunctions.net"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FUNCTION_URL_INDEX_TASKS", raising=False)
    settings.reset_cache()
    yield issuer
    settings.reset_cache()


def call(headers: dict[str, str]) -> ApiError | dict:
    with flask.Flask("t").test_request_context("/tasks/follow", method="POST", headers=headers):
        try:
            return require_task_caller(flask.request, "index_tasks")
        except ApiError as exc:
            return exc


def test_a_delivery_without_a_bearer_token_is_a_401(wired, capsys):
    for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer "}, {"Authorization": "Basic dTpw"},
                    {"Authorization": wired.mint(AUD, SA)}):  # a token without its scheme
        err = call(headers)
        assert isinstance(err, ApiError) and (err.status, err.code) == (401, "missing_token"), headers
        assert err.headers == {"WWW-Authenticate": "Bearer"}
    assert '"reason": "no_token"' in capsys.readouterr().out


def test_every_refusal_is_one_generic_403_and_the_reason_is_logged_without_the_token(wired, capsys):
    tokens = [wired.mint(AUD + "x", SA), wired.mint(AUD, SA, iss="x"), wired.mint(AUD, "x@y"),
              wired.mint(AUD, SA, now=time.time() - 7200), "junk"]
    errors = [call({"Authorization": f"Bearer {t}"}) for t in tokens]
    assert {(e.status, e.code, e.message) for e in errors} == {(403, "invalid_token", task_auth.INVALID_MESSAGE)}
    assert not any(word in task_auth.INVALID_MESSAGE.lower() for word in ("audience was", "issuer was", "expired"))
    out = capsys.readouterr().out
    for reason in ("wrong_audience", "wrong_issuer", "wrong_email", "expired", "malformed"):
        assert f'"reason": "{reason}"' in out
    assert not any(t in out for t in tokens[:4])


def test_a_good_delivery_returns_its_claims_and_the_audience_is_the_functions_own_url(wired, monkeypatch):
    assert call({"Authorization": f"Bearer {wired.mint(AUD, SA)}"})["aud"] == AUD
    monkeypatch.setenv("FUNCTION_URL_INDEX_TASKS", "http://127.0.0.1:9")  # the local stack's URL of it
    assert call({"Authorization": f"Bearer {wired.mint('http://127.0.0.1:9', SA)}"})["aud"] == "http://127.0.0.1:9"
    assert call({"Authorization": f"Bearer {wired.mint(AUD, SA)}"}).status == 403


@pytest.mark.parametrize("url", ["https://certs.example.com/oauth2/v1/certs", "http://10.0.0.1/certs", "file:///x"])
def test_certs_from_anywhere_but_google_or_loopback_refuse_every_task(wired, monkeypatch, url):
    monkeypatch.setenv("CLOUD_TASKS_OIDC_CERTS_URL", url)
    err = call({"Authorization": f"Bearer {wired.mint(AUD, SA)}"})
    assert (err.status, err.code) == (503, "auth_unavailable")


def test_without_a_tasks_service_account_every_task_is_refused(wired, monkeypatch):
    monkeypatch.setenv("TASKS_SERVICE_ACCOUNT", "")
    settings.reset_cache()
    err = call({"Authorization": f"Bearer {wired.mint(AUD, '')}"})
    assert (err.status, err.code) == (503, "auth_unavailable")

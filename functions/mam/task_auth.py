"""Who may deliver a task: Cloud Tasks, with an OIDC token of TASKS_SERVICE_ACCOUNT for the target function's URL.

`mam.tasks.enqueue` gives every task `oidc_token={service_account_email: TASKS_SERVICE_ACCOUNT, audience: the
function's URL}`, so each dispatch carries `Authorization: Bearer <Google ID token>`. `require_task_caller` (run by
`TaskRoute.serve` before the payload is read) accepts a delivery only if that token is an RS256 JWT signed by a key
of the certs URL, issued by accounts.google.com for exactly this function's URL (`mam.manifest.function_url`, the
audience `mam.tasks` sets), to `TASKS_SERVICE_ACCOUNT` with a verified email, and not expired (60 s clock skew).
No token: 401 `missing_token`; any failed rule: 403 `invalid_token` with one generic message (the reason code goes
to the log, never the token); the check itself impossible (certs unreachable, misconfiguration): 503
`auth_unavailable`, which Cloud Tasks retries. There is no switch to turn the check off.

The certs are Google's (https://www.googleapis.com/oauth2/v1/certs); locally the local Cloud Tasks signs with a key
of its own and publishes it at CLOUD_TASKS_OIDC_CERTS_URL (`mam.runtime`; loopback URLs only). They are cached per
process for the response's Cache-Control max-age and fetched again early only for a key id they lack (at most once
every REFETCH_SECONDS, so tokens with made-up key ids cannot make an instance fetch per request).
"""
from __future__ import annotations

import json
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import flask

from mam import log
from mam.http import ApiError
from mam.manifest import function_url
from mam.runtime import GOOGLE_CERTS_URL, tasks_oidc_certs_url
from mam.settings import settings

ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
ALGORITHM = "RS256"  # Google signs its ID tokens with RS256 only
CLOCK_SKEW_SECONDS = 60
MAX_TOKEN_CHARS = 8192  # Google ID tokens are ~1 KB; anything far larger is not one and is not parsed
DEFAULT_MAX_AGE = 300  # certs answered without Cache-Control max-age are kept this long
LONGEST_MAX_AGE = 86400
REFETCH_SECONDS = 5.0
FETCH_TIMEOUT = 10.0
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age=(\d+)", re.IGNORECASE)

MISSING = "missing_token"
INVALID = "invalid_token"
UNAVAILABLE = "auth_unavailable"
MISSING_MESSAGE = ("This route accepts tasks from Cloud Tasks only, and the request carried no OIDC token. Queue the "
                   "task through Cloud Tasks (mam.task_routes) instead of calling the route directly.")
INVALID_MESSAGE = ("The request's OIDC token is not accepted for this route. Queue the task through Cloud Tasks with "
                   "the tasks service account (TASKS_SERVICE_ACCOUNT) and this function's URL as the audience.")
UNAVAILABLE_MESSAGE = "The task's OIDC token cannot be checked right now; Cloud Tasks will deliver the task again."


class Refused(Exception):
    """A token that fails a rule; `reason` is a short code for the log (never shown to the caller)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Unavailable(Exception):
    """The check cannot run (certs unreachable or malformed, misconfiguration); `reason` as in Refused."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Certs:
    """The public certs at one URL ({kid: PEM certificate}), kept for their max-age, refetched for an unknown kid."""

    def __init__(self, url: str, refetch_seconds: float = REFETCH_SECONDS):
        self.url = url
        self.refetch_seconds = refetch_seconds
        self.fetches = 0  # how many times they were fetched (tests and benchmarks read it)
        self._lock = threading.Lock()
        self._certs: dict[str, str] = {}
        self._expires = 0.0
        self._fetched = float("-inf")

    def get(self, kid: str) -> str | None:
        """The certificate of key `kid`, or None if the published certs do not have it; Unavailable if unreachable."""
        now = time.monotonic()
        certs = self._certs
        if now < self._expires and (kid in certs or now - self._fetched < self.refetch_seconds):
            return certs.get(kid)
        with self._lock:  # one fetch at a time; the others then read what it got
            now = time.monotonic()
            fresh = now < self._expires
            if not fresh or (kid not in self._certs and now - self._fetched >= self.refetch_seconds):
                self._fetch(now)
            return self._certs.get(kid)

    def _fetch(self, now: float) -> None:
        import urllib.request  # lazy: ~2 ms of every cold start, needed once per max-age

        self._fetched = now  # a failed fetch also waits refetch_seconds before an unknown kid tries again
        self.fetches += 1
        try:
            with urllib.request.urlopen(self.url, timeout=FETCH_TIMEOUT) as resp:
                body = resp.read(1 << 20)
                cache_control, age = resp.headers.get("Cache-Control", ""), resp.headers.get("Age", "0")
            certs = json.loads(body)
        except (OSError, ValueError) as exc:
            log.error("task auth: certs unreachable", url=self.url, error=type(exc).__name__)
            if now >= self._expires:
                raise Unavailable("certs_unreachable") from None
            return  # the cached certs are still within their max-age
        if not isinstance(certs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in certs.items()):
            log.error("task auth: certs malformed", url=self.url)
            raise Unavailable("certs_malformed")
        m = _MAX_AGE.search(cache_control)
        max_age = min(int(m.group(1)), LONGEST_MAX_AGE) if m else DEFAULT_MAX_AGE
        try:
            max_age -= max(0, int(age))  # a cache between us and Google already held them this long
        except ValueError:
            pass
        self._certs, self._expires = certs, now + max(0, max_age)


_certs_lock = threading.Lock()
_certs_by_url: dict[str, Certs] = {}


def certs_at(url: str) -> Certs:
    """The process's one cache of the certs at `url`."""
    with _certs_lock:
        found = _certs_by_url.get(url)
        if found is None:
            found = _certs_by_url[url] = Certs(url)
        return found


def certs() -> Certs:
    """The certs tokens are checked against: Google's, or (local stack) the local Cloud Tasks' on loopback."""
    url = tasks_oidc_certs_url()
    if url != GOOGLE_CERTS_URL:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname not in _LOOPBACK:
            # Only a local stack publishes other certs; anything else would let another key sign our tasks.
            log.error("task auth: CLOUD_TASKS_OIDC_CERTS_URL is not a loopback URL; refusing every task")
            raise Unavailable("certs_url_not_loopback")
    return certs_at(url)


def verify_token(token: str, *, audience: str, email: str, source: Certs) -> dict[str, Any]:
    """The claims of `token` if it is a Google ID token for `audience` of service account `email`; else Refused."""
    from google.auth import jwt  # lazy: pulls in cryptography (cold start)

    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise Refused("malformed")
    try:
        header = jwt.decode_header(token)
        unverified = jwt.decode(token, verify=False)
    except Exception:  # noqa: BLE001 - any garbage (bad base64, bad JSON, not objects) is a malformed token
        raise Refused("malformed") from None
    if header.get("alg") != ALGORITHM:
        raise Refused("wrong_algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 200:
        raise Refused("no_key_id")
    cert = source.get(kid)
    if cert is None:
        raise Refused("unknown_key")
    try:
        claims = jwt.decode(token, certs={kid: cert}, audience=None, clock_skew_in_seconds=CLOCK_SKEW_SECONDS)
    except Exception:  # noqa: BLE001 - google-auth raises several types; which rule failed only matters to the log
        raise Refused(_why_undecodable(unverified)) from None
    if claims.get("iss") not in ISSUERS:
        raise Refused("wrong_issuer")
    if not audience or claims.get("aud") != audience:
        raise Refused("wrong_audience")
    if not email or claims.get("email") != email:
        raise Refused("wrong_email")
    if claims.get("email_verified") is not True:
        raise Refused("email_not_verified")
    return claims


def _why_undecodable(unverified: dict[str, Any]) -> str:
    """Reason code of a token google-auth refused: its times when they are out of range, else the signature."""
    now = time.time()
    exp, iat = unverified.get("exp"), unverified.get("iat")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (exp, iat)):
        return "bad_times"
    if exp + CLOCK_SKEW_SECONDS < now:
        return "expired"
    if iat - CLOCK_SKEW_SECONDS > now:
        return "not_yet_valid"
    return "bad_signature"


def bearer_token(request: flask.Request) -> str:
    """The token of an `Authorization: Bearer <token>` header, "" if there is none."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def require_task_caller(request: flask.Request, target: str) -> dict[str, Any]:
    """The verified claims of a delivery to function `target`; ApiError 401/403/503 otherwise (see the module doc)."""
    token = bearer_token(request)
    if not token:
        log.warning("task refused", reason="no_token", function=target, path=request.path)
        raise ApiError(401, MISSING, MISSING_MESSAGE, {"WWW-Authenticate": "Bearer"})
    try:
        email = settings("core").core.tasks_service_account
        if not email:
            log.error("task auth: TASKS_SERVICE_ACCOUNT is not set; refusing every task")
            raise Unavailable("no_tasks_service_account")
        try:
            audience = function_url(target)
        except RuntimeError:
            log.error("task auth: no URL for this function (FUNCTIONS_BASE_URL); refusing every task", function=target)
            raise Unavailable("no_function_url") from None
        return verify_token(token, audience=audience, email=email, source=certs())
    except Refused as exc:
        log.warning("task refused", reason=exc.reason, function=target, path=request.path)
        raise ApiError(403, INVALID, INVALID_MESSAGE) from None
    except Unavailable as exc:
        log.warning("task not checked", reason=exc.reason, function=target, path=request.path)
        raise ApiError(503, UNAVAILABLE, UNAVAILABLE_MESSAGE) from None

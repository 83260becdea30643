"""A fixed hostile-input corpus against every function of the running local stack (public and private): no 5xx, and
every refusal is the JSON error body.

Bodies (deep JSON, huge, invalid UTF-8, NUL bytes, surrogates, wrong shapes), Content-Types, path tricks, forged /
expired / other-project / garbage Bearer tokens, forged webhook signatures, and forged task payloads both without a
token and with a valid Cloud Tasks token (so that they reach the payload checks).
A fixed list: the same requests every run, bounded by count.
"""
from __future__ import annotations

import base64
import json
import time

import pytest
import requests
from fuzz.tally import Tally
from mam import manifest
from standins import tasks as task_tokens

from localdev.stack import LOCAL_SECRETS

pytestmark = pytest.mark.timeout(600)

# the routes of each function (POST and PATCH routes take a body; GET routes take none)
ROUTES: dict[str, list[tuple[str, str]]] = {
    "upload_status": [("POST", "/uploads"), ("POST", "/status"), ("POST", "/uploads/x/progress"),
                      ("POST", "/uploads/x/discard"), ("GET", "/health")],
    "transloadit_notify": [("POST", "/")],
    "upload_tasks": [("POST", "/check")],
    "index_videos": [("POST", "/index"), ("POST", "/webhook")],
    "index_tasks": [("POST", "/tasks/submit"), ("POST", "/tasks/follow")],
    "library": [("GET", "/videos"), ("GET", "/videos/x"), ("PATCH", "/videos/x"), ("GET", "/me"),
                ("POST", "/videos/delete"), ("POST", "/reset"), ("GET", "/search"), ("POST", "/sync"),
                ("POST", "/b2-events"), ("POST", "/find-fields"), ("GET", "/videos/x/insights"),
                ("POST", "/videos/x/insights"), ("GET", "/videos/x/captions.vtt"), ("POST", "/search/image")],
    "iconik_handler": [("POST", "/add"), ("POST", "/remove"), ("GET", "/runs/x"), ("GET", "/")],
    "iconik_tasks": [("POST", "/step")],
    "insight_tasks": [("POST", "/insights/generate"), ("POST", "/insights/follow")],
}

DEEP = b"[" * 10000 + b"]" * 10000
BODIES: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("deep-array", DEEP),
    ("deep-object", b'{"a":' * 3000 + b"1" + b"}" * 3000),
    ("deep-in-ids", b'{"ids": ' + b"[" * 2000 + b"]" * 2000 + b"}"),
    ("unclosed", b"[" * 50000),
    ("invalid-utf8", b'{"ids": ["\xff\xfe\xfd"]}'),
    ("utf8-surrogate", b'{"ids": ["\xed\xa0\x80"]}'),
    ("escaped-surrogate", b'{"ids": ["\\ud800"], "filename": "\\udfff.mp4", "video_id": "\\ud800"}'),
    ("nul-bytes", b'{"ids": ["a\x00b"], "filename": "a\x00.mp4"}'),
    ("only-nul", b"\x00" * 1024),
    ("json-escaped-nul", b'{"ids": ["a\\u0000b"], "filename": "x\\u0000.mp4", "video_id": "a\\u0000"}'),
    ("huge-number", b'{"ids": [' + b"9" * 5000 + b"]}"),
    ("nan", b'{"ids": NaN, "attempt": Infinity, "hop": -Infinity, "started": NaN}'),
    ("array", b"[1, 2, 3]"), ("string", b'"x"'), ("null", b"null"),
    ("wrong-types", b'{"ids": {"a": 1}, "all": "yes", "filename": 7, "video_id": 1, "run_id": [], "seq": "1"}'),
    ("long-ids", json.dumps({"ids": ["x" * 100_000], "video_id": "y" * 100_000, "task_id": "t", "hop": 1,
                             "started": 0, "run_id": "r" * 100_000, "seq": 1, "token": "t"}).encode()),
    ("path-ids", json.dumps({"ids": ["../x", "a/b", "..", ".", "%2F"], "video_id": "../../x", "run": 1,
                             "task_id": "../t", "hop": 1, "started": 0}).encode()),
    ("many-ids", json.dumps({"ids": [str(i) for i in range(20000)]}).encode()),
    ("big", b'{"ids": ["' + b"a" * 1_200_000 + b'"]}'),
    ("duplicate-keys", b'{"all": true, "all": false, "ids": [], "ids": ["a"]}'),
    ("forged-check", json.dumps({"video_id": "someone-elses", "attempt": 99, "policy": {"x": "y"}}).encode()),
    ("forged-follow", json.dumps({"video_id": "v", "task_id": "t" * 300, "hop": 10**18, "started": 1e308}).encode()),
    ("forged-step", json.dumps({"run_id": "r", "seq": -1, "token": "t", "sig": "00" * 32}).encode()),
]
CONTENT_TYPES = ["application/json", "text/plain", None, "application/json; charset=latin-1",
                 "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]
PATHS = ["/videos/..%2F..", "/videos/a%2Fb", "/videos/" + "x" * 5000, "/videos/%00", "/videos/%ff%fe", "/..",
         "/%2e%2e/%2e%2e/etc/passwd", "//videos", "/videos/../../reset", "/runs/..%2F..%2Fx", "/runs/%00",
         "/x" * 2000, "/health/..", "/tasks/follow/%00", "/step?x=" + "%ff" * 100, "/videos?page=%00&page_size=-1",
         "/videos?page=99999999999999999999", "/search?q=" + "%ff" * 50, "/search?q=a&page_token=" + "A" * 5000]


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _tokens(demo_token: str) -> dict[str, str]:
    """Forged, expired, other-project and garbage Bearer tokens (the demo user's own as a template)."""
    head, payload, _ = (demo_token.split(".") + ["", ""])[:3]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    now = int(time.time())
    expired = {**claims, "iat": now - 7200, "exp": now - 3600, "auth_time": now - 7200}
    other = {**claims, "aud": "other-project", "iss": "https://securetoken.google.com/other-project"}
    rs256 = _b64({"alg": "RS256", "kid": "forged", "typ": "JWT"})
    return {
        "expired": f"{head}.{_b64(expired)}.",
        "other-project": f"{head}.{_b64(other)}.",
        "forged-rs256": f"{rs256}.{_b64({**claims, 'admin': True})}.{_b64({'sig': 'x'})}",
        "alg-none-no-sub": f"{_b64({'alg': 'none'})}.{_b64({k: v for k, v in claims.items() if k != 'sub'})}.",
        "garbage": "not.a.token",
        "empty-parts": "..",
        "long": "a" * 6000,
        "over-the-header-limit": "a" * 20000,  # refused by the HTTP server itself (431) before our code
        "non-ascii": "\u00e9\u00e9.\u00e9.\u00e9",
        "tampered": demo_token[:-4] + "AAAA",
    }


class Probe:
    """Sends requests, keeps the count and every 5xx or non-JSON refusal."""

    def __init__(self, name: str):
        self.session = requests.Session()
        self.tally = Tally(f"hostile corpus {name}")
        self.routes: set[str] = set()

    def send(self, method: str, url: str, route: str, *, data: bytes | None = None,
             headers: dict[str, str | bytes] | None = None, what: str = "") -> None:
        self.routes.add(route)
        req = requests.Request(method, url, data=data, headers=headers or {}).prepare()
        req.url = url  # as written: no normalising of dot segments or escapes
        try:
            resp = self.session.send(req, timeout=60)
        except requests.RequestException as exc:
            self.tally.requests += 1
            self.tally.failures.append(f"{method} {route} [{what}]: no answer ({type(exc).__name__})")
            return
        self.tally.requests += 1
        self.tally.statuses[resp.status_code] += 1
        if resp.status_code >= 500:
            self.tally.server_errors += 1
            self.tally.failures.append(f"{method} {route} [{what}]: {resp.status_code} {resp.text[:160]!r}")
        elif resp.status_code == 431:  # gunicorn's header-size limit (Cloud Run's front end has its own): no app
            pass
        elif resp.status_code >= 400:
            if not resp.headers.get("Content-Type", "").startswith("application/json"):
                self.tally.failures.append(f"{method} {route} [{what}]: {resp.status_code} not JSON "
                                           f"({resp.headers.get('Content-Type')}) {resp.text[:100]!r}")
            elif not isinstance((resp.json() or {}).get("error"), dict):
                self.tally.failures.append(f"{method} {route} [{what}]: {resp.status_code} without the error body")


def _auth_headers(fn: str, stack, base: str) -> dict[str, str]:
    """The credentials of a real caller of `fn` whose other input is hostile (webhook signatures stay forged): the
    action secret for iconik, and for a private task function the OIDC token Cloud Tasks would send, so that forged
    payloads reach the payload checks."""
    if fn == "iconik_handler":
        return {"x-bz-secret": LOCAL_SECRETS["BZ_SHARED_SECRET"]}
    if not manifest.function(fn).public:
        return task_tokens.headers(stack, base)
    return {}


@pytest.mark.parametrize("fn", [f.name for f in manifest.functions()])
def test_hostile_corpus_never_gets_a_5xx(fuzz_stack, stack, demo_token, tally, fn):
    base = fuzz_stack[fn]
    auth = _auth_headers(fn, stack, base)
    probe = Probe(fn)
    tokens = _tokens(demo_token)
    for method, path in ROUTES[fn]:
        route = f"{method} {path}"
        if method in ("POST", "PATCH"):
            for what, body in BODIES:
                for ctype in CONTENT_TYPES[:3] if what not in ("deep-array", "invalid-utf8") else CONTENT_TYPES:
                    headers: dict[str, str | bytes] = {"Authorization": f"Bearer {demo_token}", **auth}
                    if ctype:
                        headers["Content-Type"] = ctype
                    probe.send(method, base + path, route, data=body, headers=headers, what=f"{what} as {ctype}")
            # forged webhook signatures and task payloads without a token
            forged = {"TL-Signature": f"t={int(time.time())},v1={'ab' * 32}", "X-Bz-Event-Notification-Signature":
                      "v1=" + "AB" * 32, "x-bz-secret": "wrong", "Content-Type": "application/json"}
            probe.send(method, base + path, route, data=b'{"events": [], "type": "index.task.ready", "data": {}}',
                       headers=forged, what="forged signatures")
            probe.send(method, base + path, route, data=b"transloadit=%7B%7D&signature=sha384%3A" + b"0" * 96,
                       headers={"Content-Type": "application/x-www-form-urlencoded"}, what="forged transloadit")
        for name, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}".encode(), "Content-Type": "application/json"}
            probe.send(method, base + path, route, data=b'{"ids": ["a"]}' if method != "GET" else None,
                       headers=headers, what=f"token {name}")
        for other in {"PUT", "DELETE", "PATCH"} - {method}:
            probe.send(other, base + path, route, data=DEEP, headers={"Content-Type": "application/json"},
                       what=f"{other} with a deep body")
    for path in PATHS:
        probe.send("GET", base + path, "path", headers={"Authorization": f"Bearer {demo_token}", **auth},
                   what=path[:60])
        probe.send("POST", base + path, "path", data=DEEP, headers={"Content-Type": "application/json"},
                   what=path[:60])
    probe.tally.operations = len(probe.routes)
    tally.append(probe.tally)
    assert not probe.tally.failures, "\n".join(probe.tally.failures[:40])

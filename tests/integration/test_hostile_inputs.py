"""Hostile input against the running functions (issue 12): deep JSON, invalid UTF-8, wrong Content-Types, forged
task payloads and oddly written signatures answer a 4xx with the JSON error body, never a 5xx, and log no stack."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse

import pytest
import requests
from conftest import LOGS

from localdev.stack import LOCAL_SECRETS

pytestmark = pytest.mark.timeout(240)

DEEP = b"[" * 10000 + b"]" * 10000
DEEP_OBJECT = b'{"ids":' + b"[" * 5000 + b"]" * 5000 + b"}"
NAMES = ("upload_status", "transloadit_notify", "upload_tasks", "index_videos", "index_tasks", "library",
         "iconik_handler", "iconik_tasks", "insight_tasks")
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def fns(emulators, start_function) -> dict[str, str]:
    return {name: start_function(name) for name in NAMES}


def _stacks_logged(name: str) -> int:
    path = LOGS / f"{name}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return text.count('"unhandled error"') + text.count("Traceback")


def _refused(resp: requests.Response, status: int | tuple[int, ...], code: str | None = None) -> dict:
    """`resp` is the given 4xx with our JSON error body; returns the error."""
    statuses = (status,) if isinstance(status, int) else status
    assert resp.status_code in statuses, f"{resp.status_code} {resp.text[:300]}"
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers["Content-Type"]
    error = resp.json()["error"]
    assert set(error) == {"code", "message"}
    if code:
        assert error["code"] == code, error
    return error


# every JSON route, with the statuses it may answer a body it cannot read (401/403: auth comes first)
JSON_ROUTES = [
    ("upload_status", "/status", (400,)),
    ("upload_status", "/uploads", (400, 401)),
    ("index_videos", "/index", (400, 401)),
    ("library", "/videos/delete", (400, 401)),
    ("upload_tasks", "/check", (400, 401, 403)),
    ("index_tasks", "/tasks/submit", (400, 401, 403)),
    ("index_tasks", "/tasks/follow", (400, 401, 403)),
    ("iconik_tasks", "/step", (400, 401, 403)),
    ("insight_tasks", "/insights/generate", (400, 401, 403)),
    ("insight_tasks", "/insights/follow", (400, 401, 403)),
]


@pytest.mark.parametrize("fn,path,statuses", JSON_ROUTES, ids=[f"{f}{p}" for f, p, _ in JSON_ROUTES])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, b'{"ids": ["\xff\xfe"]}', b'{"ids": ["a\x00b"]', b"\x00" * 64],
                         ids=["deep-array", "deep-in-object", "invalid-utf8", "nul-bytes", "only-nul"])
def test_unreadable_json_is_a_4xx_on_every_json_route(fns, demo_token, fn, path, statuses, body):
    before = _stacks_logged(fn)
    for token in (None, demo_token):
        headers = {**JSON, **({"Authorization": f"Bearer {token}"} if token else {})}
        _refused(requests.post(fns[fn] + path, data=body, headers=headers, timeout=30), statuses)
    assert _stacks_logged(fn) == before, f"{fn} logged a stack for a client error"


def test_the_anonymous_status_poll_names_the_problem(fns):
    _refused(requests.post(fns["upload_status"] + "/status", data=DEEP, headers=JSON, timeout=30), 400, "json_too_deep")
    _refused(requests.post(fns["upload_status"] + "/status", data=b'{"ids": ["\xff"]}', headers=JSON, timeout=30),
             400, "invalid_json")
    _refused(requests.post(fns["upload_status"] + "/status", data=b'{"ids": ["\\ud800"]}', headers=JSON,
                           timeout=30), 400, "invalid_json")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_json_route_refuses_another_content_type_with_415(fns, demo_token, content_type):
    headers = {"Authorization": f"Bearer {demo_token}", **({"Content-Type": content_type} if content_type else {})}
    body = json.dumps({"filename": "clip.mp4", "title": "t", "type": "video/mp4", "size": 1000})
    _refused(requests.post(fns["upload_status"] + "/uploads", data=body, headers=headers, timeout=30), 415,
             "unsupported_media_type")
    _refused(requests.post(fns["upload_status"] + "/status", data='{"ids": []}', headers=headers, timeout=30), 415)
    ok = requests.post(fns["upload_status"] + "/status", data='{"ids": []}',
                       headers={"Content-Type": "application/json; charset=utf-8"}, timeout=30)
    assert ok.status_code == 200


def test_a_huge_body_is_413_before_it_is_read(fns):
    resp = requests.post(fns["upload_status"] + "/status", data=b"[" * 2_000_000, headers=JSON, timeout=30)
    _refused(resp, 413, "body_too_large")


# ---- webhooks: signed, but hostile bodies; signatures written differently ---------------------------------------
def _tl_header(body: bytes, upper: bool = False, extra_v1: int = 0) -> str:
    t = int(time.time())
    digest = hmac.new(LOCAL_SECRETS["TWELVELABS_WEBHOOK_SECRET"].encode(), f"{t}.".encode() + body,
                      hashlib.sha256).hexdigest()
    others = "".join(f",v1={'0' * 64}" for _ in range(extra_v1))
    return f"t={t}{others},v1={digest.upper() if upper else digest}"


def _b2_header(body: bytes, upper: bool = False, extra_v1: int = 0) -> str:
    digest = hmac.new(LOCAL_SECRETS["B2_EVENT_SIGNING_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    return ",".join([f"v1={'0' * 64}"] * extra_v1 + [f"v1={digest.upper() if upper else digest}"])


def test_signed_deep_webhook_bodies_are_400(fns):
    before = _stacks_logged("index_videos") + _stacks_logged("library")
    _refused(requests.post(fns["index_videos"] + "/webhook", data=DEEP, headers={"TL-Signature": _tl_header(DEEP)},
                           timeout=30), 400, "json_too_deep")
    _refused(requests.post(fns["library"] + "/b2-events", data=DEEP,
                           headers={"X-Bz-Event-Notification-Signature": _b2_header(DEEP)}, timeout=30), 400)
    raw = DEEP.decode()
    sig = hmac.new(LOCAL_SECRETS["TRANSLOADIT_AUTH_SECRET"].encode(), raw.encode(), hashlib.sha384).hexdigest()
    form = urllib.parse.urlencode({"transloadit": raw, "signature": f"sha384:{sig}"})
    _refused(requests.post(fns["transloadit_notify"] + "/", data=form,
                           headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30), 400)
    assert _stacks_logged("index_videos") + _stacks_logged("library") == before


def test_twelvelabs_webhook_accepts_uppercase_hex_and_a_later_v1(fns):
    body = json.dumps({"id": "whe_1", "type": "index.task.ready", "data": {"id": "no-such-task"}}).encode()
    for header in (_tl_header(body, upper=True), _tl_header(body, extra_v1=5)):
        resp = requests.post(fns["index_videos"] + "/webhook", data=body, headers={"TL-Signature": header},
                             timeout=30)
        assert resp.status_code == 200 and resp.json() == {"ignored": "unknown task"}, resp.text


def test_b2_events_read_every_v1_entry(fns):
    body = json.dumps({"events": []}).encode()
    for header in (_b2_header(body, upper=True), _b2_header(body, extra_v1=5)):
        resp = requests.post(fns["library"] + "/b2-events", data=body,
                             headers={"X-Bz-Event-Notification-Signature": header}, timeout=30)
        assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=zz", "t=" + "9" * 5000 + ",v1=00",
                                    ",".join(["v1=00"] * 40), "v1=" + "é" * 64])
def test_malformed_signature_headers_are_401(fns, header):
    body = b'{"events": []}'
    _refused(requests.post(fns["index_videos"] + "/webhook", data=body, headers={"TL-Signature": header.encode()},
                           timeout=30), 401, "invalid_signature")
    _refused(requests.post(fns["library"] + "/b2-events", data=body,
                           headers={"X-Bz-Event-Notification-Signature": header.encode()}, timeout=30), 401)


# ---- forged task payloads (no token) ----------------------------------------------------------------------------
@pytest.mark.parametrize("video_id", ["a/b", "../x", "x" * 5000, "", "\u0000"])
def test_forged_follow_tasks_never_500(fns, video_id):
    body = json.dumps({"video_id": video_id, "task_id": "t", "hop": 1, "started": 0})
    resp = requests.post(fns["index_tasks"] + "/tasks/follow", data=body, headers=JSON, timeout=30)
    _refused(resp, (400, 401, 403))


def test_iconik_answers_json_errors_for_hostile_bodies(fns):
    secret = {"x-bz-secret": LOCAL_SECRETS["BZ_SHARED_SECRET"]}
    for body in (DEEP, b"\xff\xfe{", b"x" * 2_000_000):
        resp = requests.post(fns["iconik_handler"] + "/add", data=body, headers=secret, timeout=30)
        _refused(resp, (400, 413))
        _refused(requests.post(fns["iconik_tasks"] + "/step", data=body, headers=JSON, timeout=30), (400, 401, 403, 413))
    _refused(requests.post(fns["iconik_handler"] + "/add", data=DEEP, timeout=30), 401, "unauthorized")


@pytest.mark.parametrize("name,path,status", [("library", "/videos/a%0Ab/captions.vtt", 404),
                                              ("library", "/videos/%0A", 404), ("index_videos", "/%0A", 404),
                                              ("upload_status", "/uploads/x%0Ay/discard", 405),
                                              ("iconik_handler", "/runs/%0A", 404)])
def test_a_path_with_an_encoded_newline_gets_our_json_error(fns, demo_token, name, path, status):
    """functions-framework's catch-all rule does not match a newline (Flask answered with an HTML page), and a
    route pattern ending in `$` took "/videos/<newline>" for "/videos" (a 200 listing)."""
    resp = requests.get(fns[name] + path, headers={"Authorization": f"Bearer {demo_token}"}, timeout=10)
    _refused(resp, status)

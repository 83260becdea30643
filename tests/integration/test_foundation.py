"""Foundation: Firestore, Cloud Tasks and sign-in work end to end against the real local emulators."""
from __future__ import annotations

import datetime
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import flask
import pytest

from conftest import ROOT, id_token, wait_for

from localdev.processes import free_port as _free_port


def test_firestore_write_is_read_back_by_a_second_client(firestore, clean_firestore):
    from google.cloud import firestore as fs

    from mam import store
    from mam.videos import Video

    video = Video(id=uuid.uuid4().hex, title="Cats on the floor", owner="a@example.com", size=123)
    assert store.create_video(video) is True
    assert store.create_video(video) is False  # idempotent: a retried create changes nothing

    other = fs.Client(project=os.environ["GCP_PROJECT"])  # an independent client, as another function would have
    snap = other.collection("videos").document(video.id).get()
    assert snap.exists and snap.to_dict()["title"] == "Cats on the floor" and snap.to_dict()["size"] == 123


def test_transactional_update_and_batched_read(firestore, clean_firestore):
    from mam import store
    from mam.videos import FAILED, Video

    ids = [uuid.uuid4().hex for _ in range(3)]
    for i in ids:
        store.create_video(Video(id=i, title=i))
    after = store.update_video(ids[0], lambda v: setattr(v, "status", FAILED) or True)
    assert after is not None and after.status == FAILED and after.version == 1
    unchanged = store.update_video(ids[1], lambda v: False)
    assert unchanged is not None and unchanged.version == 0
    assert store.update_video("no-such-video", lambda v: True) is None
    got = store.get_videos(ids + ["missing"])
    assert set(got) == set(ids) and got[ids[0]].status == FAILED
    found = store.find_video("title", ids[2])
    assert found is not None and found.id == ids[2] and store.find_video("title", "nothing") is None


def test_lean_field_read_gives_what_the_client_library_gives(firestore, clean_firestore):
    from google.cloud import firestore as fs

    from mam import store
    from mam.store import rest

    db = store.client()
    fields = ("s", "n", "f", "b", "none", "t", "m", "a", "big", "inf", "raw", "empty", "geo", "ref", "absent")
    docs = {"v1": {"s": "ready \u00e9\u2603", "n": 7, "f": 1.5, "b": True, "none": None, "t": fs.SERVER_TIMESTAMP,
                   "m": {"k": [1, "x"], "at": datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)},
                   "a": ["p", 2], "big": -(2**40), "inf": float("-inf"), "raw": b"\x00\xff", "empty": {},
                   "geo": fs.GeoPoint(1.5, -2.25), "ref": db.document("other/doc"), "other": "not asked"},
            "v2": {"s": "", "n": 0, "f": float("nan")}}
    for doc_id, data in docs.items():
        db.collection("lean").document(doc_id).set(data)
    got = rest.read_fields("lean", ["v1", "v2", "missing", "v1"], fields)
    assert set(got) == {"v1", "v2"}
    for doc_id in docs:
        want = db.collection("lean").document(doc_id).get().to_dict()
        if doc_id == "v2":
            assert math.isnan(got["v2"].pop("f")) and math.isnan(want.pop("f"))
        assert got[doc_id] == {k: want[k] for k in fields if k in want}
    assert type(got["v1"]["t"]) is type(db.collection("lean").document("v1").get().to_dict()["t"])
    assert rest.read_fields("lean", [], fields) == {}
    # a write after a read is seen by the next read (nothing between them may keep the old answer)
    db.collection("lean").document("v1").update({"s": "changed", "n": fs.Increment(1)})
    db.collection("lean").document("v2").delete()
    again = rest.read_fields("lean", ["v1", "v2"], fields)
    assert set(again) == {"v1"} and (again["v1"]["s"], again["v1"]["n"]) == ("changed", 8)


def test_lean_field_read_sees_every_version_of_a_document(firestore, clean_firestore):
    """Rows are kept decoded per document version (updateTime): every write must be seen however close together
    the writes are, and an unchanged document gives the very same row again."""
    from mam import store
    from mam.store import rest

    ref = store.client().collection("lean").document("fast")
    for n in range(40):
        ref.set({"n": n, "s": "x"})
        assert rest.read_fields("lean", ["fast"], ("n",))["fast"] == {"n": n}
    first = rest.read_fields("lean", ["fast"], ("n", "s"))
    assert first == {"fast": {"n": 39, "s": "x"}} and rest.read_fields("lean", ["fast"], ("n", "s"))["fast"] is first["fast"]
    assert rest.read_fields("lean", ["fast"], ("n",))["fast"] == {"n": 39}  # another mask: its own row


def test_lean_field_read_reports_an_unreachable_firestore(firestore, monkeypatch):
    from google.api_core import exceptions

    from mam import store
    from mam.store import rest
    from mam.http import backend_unavailable

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{dead}")
    store.reset_client()
    try:
        with pytest.raises(exceptions.GoogleAPICallError) as err:
            rest.read_fields("videos", ["a"], ("status",), timeout=2)
        assert backend_unavailable(err.value)  # so the route answers 503 + Retry-After, not 500
    finally:
        monkeypatch.undo()
        store.reset_client()


@pytest.mark.parametrize("status, body, delay, kind, outage", [
    (503, b'{"error": {"code": 503, "message": "backend overloaded", "status": "UNAVAILABLE"}}', 0, "ServiceUnavailable", True),
    (429, b'{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}', 0, "TooManyRequests", True),
    (403, b'{"error": {"code": 403, "message": "missing permission", "status": "PERMISSION_DENIED"}}', 0, "Forbidden", False),
    (502, b"<html>bad gateway</html>", 0, "BadGateway", False),
    (200, b"[]", 3, "DeadlineExceeded", True),
], ids=["unavailable", "throttled", "forbidden", "not-json", "slow"])
def test_lean_field_read_reports_a_failing_or_slow_firestore(monkeypatch, status, body, delay, kind, outage):
    """A Firestore that answers an error, or too late, gives the matching google.api_core error, never a hang."""
    import http.server
    import threading

    from google.api_core import exceptions

    from mam import store
    from mam.store import rest
    from mam.http import backend_unavailable

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{server.server_address[1]}")
    store.reset_client()
    try:
        started = time.monotonic()
        with pytest.raises(exceptions.GoogleAPICallError) as err:
            rest.read_fields("videos", ["a"], ("status",), timeout=1)
        assert type(err.value).__name__ == kind and backend_unavailable(err.value) is outage
        assert time.monotonic() - started < 2.5
        if status != 200:
            assert "Firestore batchGet" in str(err.value)
    finally:
        server.shutdown()
        monkeypatch.undo()
        store.reset_client()


def _serve(entry: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "functions_framework", "--source", str(ROOT / "tests/integration/fixtures/task_pair.py"),
           "--target", entry, "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_task_enqueued_by_one_function_is_delivered_to_another(firestore, cloud_tasks, clean_firestore, stack_env):
    p_port, c_port = _free_port(), _free_port()
    env = {**os.environ, "FUNCTION_URL_TASK_CONSUMER": f"http://127.0.0.1:{c_port}"}
    procs = [_serve("producer", p_port, env), _serve("consumer", c_port, env)]
    try:
        for port in (p_port, c_port):
            wait_for(lambda: _health(port), what=f"function on {port}")
        marker = uuid.uuid4().hex
        for _ in range(2):  # the same request twice: the deterministic task name makes it one task
            req = urllib.request.Request(f"http://127.0.0.1:{p_port}/go", data=json.dumps({"marker": marker}).encode(),
                                         headers={"Content-Type": "application/json"})
            assert json.loads(urllib.request.urlopen(req).read())["task"].startswith("t-")
        from mam import store

        doc = wait_for(lambda: store.client().collection("task_deliveries").document(marker).get().to_dict(),
                       what="task delivery")
        assert doc["marker"] == marker and doc["queue"].endswith("/queues/uploads") and doc["task"].startswith("t-")
    finally:
        for p in procs:
            p.terminate()
            p.wait(5)


def _health(port: int) -> bool:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def protected_app(auth_emulator):
    from mam import settings
    from mam.auth import require_user
    from mam.http import Router

    settings.reset_cache()
    router = Router("protected")

    @router.route("GET", "/me")
    def me(request):
        user = require_user(request, settings.settings("http"))
        return {"email": user.email, "admin": user.admin}

    app = flask.Flask("protected")
    app.add_url_rule("/<path:p>", "any", lambda p: router(flask.request), methods=["GET"])
    return app.test_client()


def test_id_token_route_rejects_missing_and_forged_tokens(protected_app, stack):
    missing = protected_app.get("/me")
    assert missing.status_code == 401 and missing.json["error"]["code"] == "sign_in_required"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    garbage = protected_app.get("/me", headers={"Authorization": "Bearer not-a-token"})
    assert garbage.status_code == 401 and garbage.json["error"]["code"] == "invalid_token"
    # A well-formed but forged token: real-looking claims for a user the Auth service never issued.
    import base64

    def b64(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    now = int(time.time())
    forged = ".".join([b64({"alg": "none", "typ": "JWT"}), b64({
        "iss": f"https://securetoken.google.com/{os.environ['GCP_PROJECT']}", "aud": os.environ["GCP_PROJECT"],
        "auth_time": now, "iat": now, "exp": now + 3600, "sub": "intruder", "user_id": "intruder",
        "email": "demo@example.com"}), ""])
    resp = protected_app.get("/me", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401
    # A token of the right user but for another project is rejected too.
    token = id_token(stack, "foundation-someone@example.com", "pass-word-1")
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["aud"] = "another-project"
    resp = protected_app.get("/me", headers={"Authorization": f"Bearer {header}.{b64(claims)}.{sig}"})
    assert resp.status_code == 401


def test_id_token_route_accepts_a_real_emulator_token(protected_app, stack, demo_token):
    resp = protected_app.get("/me", headers={"Authorization": f"Bearer {demo_token}"})
    assert resp.status_code == 200, resp.json
    assert resp.json == {"email": "demo@example.com", "admin": True}
    other = id_token(stack, "foundation-viewer@example.com", "pass-word-2")
    resp = protected_app.get("/me", headers={"Authorization": f"Bearer {other}"})
    assert resp.status_code == 200 and resp.json == {"email": "foundation-viewer@example.com", "admin": False}

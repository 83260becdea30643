"""The iconik API adapter against a scripted loopback HTTP server: headers, retries, Retry-After, deadlines,
error mapping, paging; and the client-side rate limiter with a fake clock."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from mam.clients.iconik import (
    AuthRejected,
    BadAnswer,
    IconikClient,
    NotFound,
    RateLimiter,
    Unavailable,
)
from mam.settings import ConfigError, load_settings


class Script:
    """Answers queued per path; records what arrived."""

    def __init__(self):
        self.answers: dict[str, list[tuple[int, dict, bytes]]] = {}
        self.seen: list[dict] = []

    def add(self, path, status=200, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        self.answers.setdefault(path, []).append((status, headers or {}, data))


@pytest.fixture
def server():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            script.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                "body": self.rfile.read(length) if length else b""})
            queue = script.answers.get(self.path) or script.answers.get(self.path.split("?")[0]) or []
            status, headers, data = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else (404, {}, b""))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if data:
                self.send_header("Content-Type", headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _answer

        def log_message(self, *a):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    script.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield script
    httpd.shutdown()


def client(server, **kw):
    sleeps = []
    c = IconikClient(server.url, "APP", "TOKEN", sleep=sleeps.append, **kw)
    c.sleeps = sleeps
    return c


@pytest.mark.parametrize("app,tok,exc,msg", [
    (None, "t", ValueError, "both app_id and auth_token"), ("a", None, ValueError, "both app_id and auth_token"),
    (5, "t", TypeError, "app_id must be a string"), ("a", 5, TypeError, "auth_token must be a string"),
    ("", "t", ValueError, "both"),
])
def test_constructor_checks(app, tok, exc, msg):
    with pytest.raises(exc, match=msg):
        IconikClient("http://127.0.0.1:1", app, tok)


def test_session_carries_app_id_and_auth_token(server):
    c = client(server)
    assert isinstance(c.session, requests.Session)
    assert c.session.headers["App-ID"] == "APP" and c.session.headers["Auth-Token"] == "TOKEN"
    server.add("/API/files/v1/storages/s1/", body={"id": "s1"})
    assert c.get_storage("s1") == {"id": "s1"}
    assert server.seen[0]["headers"]["App-ID"] == "APP" and server.seen[0]["headers"]["Auth-Token"] == "TOKEN"


def test_storage_answer_as_a_list_yields_its_first_object(server):
    server.add("/API/files/v1/storages/s1/", body={"objects": [{"id": "s1"}]})
    assert client(server).get_storage("s1")["id"] == "s1"


def test_429_honours_retry_after_then_succeeds(server):
    server.add("/API/jobs/v1/jobs/j/", 429, {"errors": ["slow down"]}, {"Retry-After": "3"})
    server.add("/API/jobs/v1/jobs/j/", 200, {"status": "FINISHED"})
    c = client(server)
    assert c.get_job("j")["status"] == "FINISHED"
    assert c.sleeps == [3.0] and c.stats.throttled == 1 and c.stats.calls == 2


def test_429_without_retry_after_backs_off_exponentially(server):
    for _ in range(3):
        server.add("/x/", 429)
    server.add("/x/", 200, {"ok": 1})
    c = client(server)
    assert c.request("GET", "/x/") == {"ok": 1}
    assert len(c.sleeps) == 3 and c.sleeps[0] <= 0.5 and 0.5 <= c.sleeps[2] <= 2.0


def test_5xx_and_html_error_pages_are_retried_without_json_errors(server):
    server.add("/x/", 502, raw=b"<html>Bad Gateway</html>", headers={"Content-Type": "text/html"})
    server.add("/x/", 503, {"errors": ["busy"]}, {"Retry-After": "1"})
    server.add("/x/", 200, {"ok": 1})
    c = client(server)
    assert c.request("GET", "/x/") == {"ok": 1}
    assert c.stats.server_errors == 2 and c.sleeps[1] == 1.0


def test_attempts_are_bounded(server):
    server.add("/x/", 500, {"errors": ["boom"]})
    c = client(server, attempts=3)
    with pytest.raises(Unavailable, match="after 3 attempts: HTTP 500 boom"):
        c.request("GET", "/x/")
    assert len(server.seen) == 3


def test_retry_after_beyond_the_deadline_gives_up_at_once_and_reports_it(server):
    server.add("/x/", 429, headers={"Retry-After": "30"})
    c = IconikClient(server.url, "A", "T", deadline=time.monotonic() + 5)
    started = time.monotonic()
    with pytest.raises(Unavailable) as exc:
        c.request("GET", "/x/")
    assert time.monotonic() - started < 2 and exc.value.retry_after == 30.0


def test_unreachable_iconik_is_unavailable(server):
    c = IconikClient("http://127.0.0.1:9", "A", "T", attempts=2, sleep=lambda s: None)
    with pytest.raises(Unavailable, match="ConnectionError"):
        c.request("GET", "/x/")


def test_read_timeout_is_applied(server):
    class Slow(BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(2)

        def log_message(self, *a):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        c = IconikClient(f"http://127.0.0.1:{httpd.server_address[1]}", "A", "T", timeout=0.3, attempts=1)
        started = time.monotonic()
        with pytest.raises(Unavailable, match="Timeout"):
            c.request("GET", "/x/")
        assert time.monotonic() - started < 1.5
    finally:
        httpd.shutdown()


@pytest.mark.parametrize("status,exc", [(401, AuthRejected), (403, AuthRejected), (404, NotFound), (400, BadAnswer),
                                        (409, BadAnswer)])
def test_error_mapping(server, status, exc):
    server.add("/x/", status, {"errors": {"field": "is bad"}})
    with pytest.raises(exc) as info:
        client(server).request("GET", "/x/")
    assert info.value.status == status and len(server.seen) == 1
    if status == 400:
        assert "field: is bad" in str(info.value)


def test_2xx_without_json_is_a_bad_answer(server):
    server.add("/x/", 200, raw=b"<html>ok</html>")
    with pytest.raises(BadAnswer):
        client(server).request("GET", "/x/")


def test_pages_follow_relative_next_urls(server):
    server.add("/API/assets/v1/collections/c/contents/?per_page=1", body={
        "objects": [{"id": "1"}], "next_url": "/API/assets/v1/collections/c/contents/?page=2&per_page=1"})
    server.add("/API/assets/v1/collections/c/contents/?page=2&per_page=1", body={"objects": [{"id": "2"}],
                                                                                "next_url": None})
    c = client(server)
    assert [o["id"] for o in c.pages("/API/assets/v1/collections/c/contents/", {"per_page": 1})] == ["1", "2"]


def test_delete_and_purge_tolerate_already_gone(server):
    server.add("/API/files/v1/assets/a/file_sets/f/", 404, {"errors": ["gone"]})
    server.add("/API/files/v1/assets/a/file_sets/f/purge/", 204)
    c = client(server)
    assert c.delete_file_set("a", "f") is False
    assert c.purge_file_set("a", "f") is True


def test_bulk_copy_sends_the_plugin_body_and_needs_a_job_id(server):
    server.add("/API/files/v1/storages/b2/bulk/", 202, {"job_id": "j1", "success": "Queued"})
    assert client(server).bulk_copy("b2", "collections", ["c1"], "ORIGINAL") == "j1"
    assert json.loads(server.seen[0]["body"]) == {"object_ids": ["c1"], "object_type": "collections",
                                                  "format_name": "ORIGINAL"}
    server.answers.clear()
    server.add("/API/files/v1/storages/b2/bulk/", 202, {"success": "Queued"})
    with pytest.raises(BadAnswer):
        client(server).bulk_copy("b2", "assets", ["a"], "ORIGINAL")


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.now += s


def test_rate_limiter_paces_requests():
    clock = FakeClock()
    lim = RateLimiter(10, burst=2, clock=clock, sleep=clock.sleep)
    for _ in range(12):
        lim.acquire()
    assert 0.95 <= clock.now - 100.0 <= 1.05  # 2 from the burst, 10 more at 10/s


def test_rate_limiter_pause_after_429_and_deadline():
    clock = FakeClock()
    lim = RateLimiter(10, burst=5, clock=clock, sleep=clock.sleep)
    lim.pause(2)
    lim.acquire()
    assert clock.now >= 102.0
    lim.pause(10)
    with pytest.raises(Unavailable):
        lim.acquire(deadline=clock.now + 1)


def test_zero_rate_means_no_client_side_limit():
    clock = FakeClock()
    lim = RateLimiter(0, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        lim.acquire()
    assert clock.now == 100.0


def tuning(env: dict[str, str]):
    """The run tuning as an iconik function loads it (with its group's required settings)."""
    required = {"GCP_PROJECT": "p", "ICONIK_APP_ID": "app", "BZ_SHARED_SECRET": "s"}
    return load_settings("iconik", environ={**required, **env}).iconik.tuning


def test_tuning_from_environment():
    t = tuning({"ICONIK_STEP_SECONDS": "12.5", "ICONIK_CONCURRENCY": "3", "ICONIK_WARNING_IS_SUCCESS": "false"})
    assert t.step_seconds == 12.5 and t.concurrency == 3 and t.warning_is_success is False
    with pytest.raises(ConfigError, match="ICONIK_PAGE_SIZE"):
        tuning({"ICONIK_PAGE_SIZE": "many"})
    with pytest.raises(ConfigError, match="negative"):
        tuning({"ICONIK_STEP_RETRIES": "-1"})

"""The one JSON reader (mam.http.parse_json / json_body): depth, size, invalid UTF-8, surrogates, Content-Type."""
from __future__ import annotations

import json

import flask
import pytest
from mam.http import (
    MAX_JSON_DEPTH,
    JsonError,
    Router,
    json_body,
    json_depth_exceeds,
    parse_json,
)

DEEP = b"[" * 10000 + b"]" * 10000


@pytest.mark.parametrize("raw", [DEEP, b'{"a":' * 5000 + b"1" + b"}" * 5000, b"[" * 100000])
def test_deep_nesting_is_refused_without_recursing(raw):
    with pytest.raises(JsonError) as err:
        parse_json(raw)
    assert err.value.code == "json_too_deep"


def test_the_depth_limit_is_exact_and_brackets_inside_strings_do_not_count():
    at_limit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert parse_json(at_limit) is not None
    with pytest.raises(JsonError):
        parse_json(b"[" + at_limit + b"]")
    assert parse_json(json.dumps({"s": "[" * 5000 + '\\"{{{' + "\\"}).encode())["s"].startswith("[[[")
    assert not json_depth_exceeds(b'["\\\\", "[[[[[["]', 2)  # an escaped backslash ends before the quote


def test_a_recursion_error_from_the_parser_is_a_json_error(monkeypatch):
    import mam.http

    monkeypatch.setattr(mam.http, "json_depth_exceeds", lambda raw, depth: False)  # as if the scan missed it
    with pytest.raises(JsonError) as err:
        parse_json(b"[" * 100000 + b"]" * 100000)
    assert err.value.code == "json_too_deep"


@pytest.mark.parametrize("raw", [b'{"a": "\xff\xfe"}', b"\x00{}", b'{"a": "\xed\xa0\x80"}', b'{"a": "\\ud800"}',
                                 b'{"\\udfff": 1}', "{\"a\": \"\ud800\"}", b"1" * 5000, b"{nope", b"NaN]"])
def test_invalid_text_is_a_json_error(raw):
    with pytest.raises(JsonError) as err:
        parse_json(raw)
    assert err.value.code == "invalid_json"


def test_valid_unicode_passes():
    assert parse_json('{"t": "한국어 \\ud83c\\udfac"}'.encode()) == {"t": "한국어 🎬"}


@pytest.fixture
def client():
    router = Router("demo")

    @router.route("POST", "/items")
    def create(request):
        return {"got": json_body(request, max_bytes=100_000)}

    @router.route("POST", "/hook")
    def hook(request):
        return {"got": json_body(request, content_type=False)}

    app = flask.Flask("t")
    app.add_url_rule("/<path:p>", "any", lambda p: router(flask.request), methods=["POST"])
    return app.test_client()


@pytest.mark.parametrize("content_type,status", [
    ("application/json", 200), ("application/json; charset=utf-8", 200), ("Application/JSON", 200),
    ("text/plain", 415), ("application/x-www-form-urlencoded", 415), (None, 415), ("application/jsonx", 415)])
def test_content_type(client, content_type, status):
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post("/items", data=b'{"a": 1}', headers=headers)
    assert r.status_code == status
    if status == 415:
        assert r.json["error"]["code"] == "unsupported_media_type" and "application/json" in r.json["error"]["message"]
    assert client.post("/hook", data=b'{"a": 1}', headers=headers).status_code == 200  # a sender's own type


@pytest.mark.parametrize("body,status,code", [
    (DEEP, 400, "json_too_deep"), (b'{"a": "\xff"}', 400, "invalid_json"), (b"x" * 100_001, 413, "body_too_large")])
def test_hostile_bodies_are_4xx_with_one_log_line_and_no_stack(client, capsys, body, status, code):
    r = client.post("/items", data=body, content_type="application/json")
    assert r.status_code == status and r.json["error"]["code"] == code
    out = capsys.readouterr()
    lines = [json.loads(line) for line in (out.out + out.err).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0]["code"] == code and lines[0]["status"] == status
    assert "stack" not in lines[0] and "Traceback" not in out.err


def test_a_werkzeug_refusal_is_a_4xx_not_a_500(client):
    from werkzeug.exceptions import RequestEntityTooLarge

    router = Router("demo")

    @router.route("POST", "/form")
    def form(request):
        raise RequestEntityTooLarge()

    app = flask.Flask("t2")
    app.add_url_rule("/<path:p>", "any", lambda p: router(flask.request), methods=["POST"])
    r = app.test_client().post("/form", data=b"x")
    assert r.status_code == 413 and r.json["error"]["code"] == "bad_request"


def test_a_body_that_stops_arriving_is_408_not_500():
    import io

    from werkzeug.test import EnvironBuilder

    class Stalled(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            raise TimeoutError("timed out")  # what the local launcher's socket timeout raises

    router = Router("demo")
    router.route("POST", "/items")(lambda request: {"got": json_body(request)})
    env = EnvironBuilder(method="POST", path="/items", headers={"Content-Type": "application/json",
                                                               "Content-Length": "900000"}).get_environ()
    env["wsgi.input"] = io.BufferedReader(Stalled())
    env["wsgi.input_terminated"] = True  # as gunicorn says: werkzeug reads the stream as it is
    app = flask.Flask("t3")
    with app.request_context(env):
        resp = router(flask.request)
    assert resp.status_code == 408 and resp.json["error"]["code"] == "body_timeout"

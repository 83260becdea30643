"""Router: JSON errors, 404/405, CORS only for the configured origin, clean 500s, body validation."""
from __future__ import annotations

import json

import flask
import pytest

from mam.http import ApiError, Router, id_list, json_body


@pytest.fixture
def client():
    router = Router("demo", origins=["https://app.example"])

    @router.route("GET", "/items/{item_id}")
    def get_item(request, item_id):
        if item_id == "missing":
            raise ApiError(404, "not_found", "no such item")
        return {"id": item_id}

    @router.route("POST", "/items")
    def create(request):
        return {"got": json_body(request, max_bytes=100)}, 201

    @router.route("GET", "/boom")
    def boom(request):
        raise RuntimeError("secret internals")

    @router.route("GET", "/outage/{kind}")
    def outage(request, kind):
        from google.api_core import exceptions as gexc

        raise {"down": gexc.ServiceUnavailable, "slow": gexc.DeadlineExceeded, "denied": gexc.PermissionDenied}[kind](
            "backend detail")

    app = flask.Flask("t")
    app.add_url_rule("/", "root", lambda: router(flask.request), methods=["GET", "POST", "PUT", "OPTIONS"])
    app.add_url_rule("/<path:p>", "any", lambda p: router(flask.request), methods=["GET", "POST", "PUT", "OPTIONS"])
    return app.test_client()


def test_routes_params_and_health(client):
    assert client.get("/items/42").json == {"id": "42"}
    assert client.get("/health").json == {"ok": True, "function": "demo"}
    assert client.post("/items", json={"a": 1}).status_code == 201


def test_errors_are_json(client, capsys):
    r = client.get("/items/missing")
    assert r.status_code == 404 and r.json == {"error": {"code": "not_found", "message": "no such item"}}
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = client.put("/items")
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    r = client.get("/boom")
    assert r.status_code == 500 and "secret internals" not in r.get_data(as_text=True)
    err = capsys.readouterr().err
    assert json.loads(err.strip().splitlines()[-1])["severity"] == "ERROR"


@pytest.mark.parametrize("kind,status", [("down", 503), ("slow", 503), ("denied", 500)])
def test_a_backing_service_outage_is_a_503_to_retry_and_anything_else_a_500(client, kind, status):
    r = client.get(f"/outage/{kind}")
    assert r.status_code == status and "backend detail" not in r.get_data(as_text=True)
    assert (r.headers.get("Retry-After") == "5") == (status == 503)
    assert r.json["error"]["code"] == ("unavailable" if status == 503 else "internal")


@pytest.mark.parametrize("body,code,status", [
    (b"", "invalid_json", 400), (b"{nope", "invalid_json", 400), (b"[1]", "invalid_json", 400),
    (b'{"x": "' + b"a" * 200 + b'"}', "body_too_large", 413)])
def test_bad_bodies(client, body, code, status):
    r = client.post("/items", data=body, content_type="application/json")
    assert r.status_code == status and r.json["error"]["code"] == code


def test_cors_only_for_the_front_end_origin(client):
    ok = client.options("/items", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    evil = client.options("/items", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    assert "Access-Control-Allow-Origin" not in client.get("/items/1", headers={"Origin": "https://evil.example"}).headers
    assert client.get("/items/1", headers={"Origin": "https://app.example"}).headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_id_list_validation():
    assert id_list(["a", "b", "a"]) == ["a", "b"]
    for bad in ("a", [1], [""], ["x/y"], ["a" * 201]):
        with pytest.raises(ApiError) as err:
            id_list(bad)
        assert err.value.status == 400
    with pytest.raises(ApiError) as err:
        id_list(["a"] * 3 + [str(i) for i in range(5)], max_items=5)
    assert err.value.code == "too_many_ids"

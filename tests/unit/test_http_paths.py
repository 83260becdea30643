"""Both URL shapes of a gen2 function route alike: `/NAME/add` (cloudfunctions.net) and `/add` (run.app)."""
from __future__ import annotations

from urllib.parse import urlsplit

import flask
import pytest
from mam.http import Router, route_path


@pytest.mark.parametrize(("path", "routed"), [
    ("/add", "/add"),
    ("/lib/add", "/add"),
    ("/lib/add/", "/add/"),
    ("/lib", "/"),
    ("/lib/", "/"),
    ("/", "/"),
    ("", "/"),
    ("/lib/lib/x", "/lib/x"),        # stripped once: the second segment is a route's business
    ("/library/x", "/library/x"),    # another name that starts like ours is not ours
    ("/libx", "/libx"),
    ("/x/lib", "/x/lib"),            # only a leading segment
    ("/LIB/add", "/LIB/add"),        # names are case-sensitive in both URLs
])
def test_route_path_drops_only_a_leading_segment_equal_to_the_function_name(path, routed):
    assert route_path(path, "lib") == routed


@pytest.fixture
def client():
    router = Router("lib")

    @router.route("GET", "/videos/{video_id}")
    def detail(request, video_id):
        return {"id": video_id}

    @router.route("POST", "/")
    def root(request):
        return {"root": True}

    app = flask.Flask("t")
    app.add_url_rule("/", "root", lambda: router(flask.request), methods=["GET", "POST"])
    app.add_url_rule("/<path:p>", "any", lambda p: router(flask.request), methods=["GET", "POST"])
    return app.test_client()


@pytest.mark.parametrize("prefix", ["", "/lib"])
def test_router_serves_both_shapes(client, prefix):
    assert client.get(f"{prefix}/health").get_json() == {"ok": True, "function": "lib"}
    assert client.get(f"{prefix}/videos/v1").get_json() == {"id": "v1"}
    assert client.post(f"{prefix}/").get_json() == {"root": True}
    assert client.post(prefix or "/").get_json() == {"root": True}
    missing = client.get(f"{prefix}/nope")
    assert missing.status_code == 404 and missing.get_json()["error"]["message"] == f"no route for {prefix}/nope"
    assert client.get(f"{prefix}/").status_code == 405  # POST-only root: the shape does not change the verdict


def test_other_function_names_are_not_stripped(client):
    assert client.get("/other/health").status_code == 404
    assert client.get("/lib/lib/health").status_code == 404


def test_function_url_joins_to_paths_the_function_routes(monkeypatch):
    """FUNCTIONS_BASE_URL/<name>/<route> (what tasks and webhooks are sent to) routes to <route>."""
    from mam import settings
    from mam.manifest import function_url, functions

    monkeypatch.setenv("GCP_PROJECT", "proj")
    monkeypatch.setenv("FUNCTIONS_BASE_URL", "https://us-central1-proj.cloudfunctions.net/")
    settings.reset_cache()  # the process's settings are read once; this case changes them
    for spec in functions():
        monkeypatch.delenv(f"FUNCTION_URL_{spec.name.upper()}", raising=False)
        url = function_url(spec.name)
        assert url == f"https://us-central1-proj.cloudfunctions.net/{spec.name}"
        assert route_path(urlsplit(url + "/tasks/follow").path, spec.name) == "/tasks/follow"
        assert route_path(urlsplit(url).path, spec.name) == "/"  # TransloadIt's notify_url is the bare URL
    monkeypatch.setenv("FUNCTION_URL_LIBRARY", "http://127.0.0.1:9/")  # a run.app-like URL has no name segment
    assert function_url("library") == "http://127.0.0.1:9"

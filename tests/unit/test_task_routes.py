"""Task routes (mam.task_routes): each declared once, its payload typed and checked, a bad one a 400 naming the field."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
import pytest
from mam import task_routes, tasks
from mam.http import ApiError, Router
from mam.manifest import function, load_raw
from mam.task_routes import (
    ICONIK_STEP,
    INDEX_FOLLOW,
    INDEX_SUBMIT,
    INSIGHT_FOLLOW,
    INSIGHT_GENERATE,
    ROUTES,
    UPLOAD_CHECK,
    IconikStep,
    IndexFollow,
    IndexSubmit,
    TaskRoute,
    UploadCheck,
)
from mam.tasks import TaskContext
from standins.tasks import Issuer

from localdev.stack import grants, template_settings

ROOT = Path(__file__).resolve().parents[2]


def test_routes_keep_the_queue_target_and_path_tasks_in_flight_were_named_and_sent_with():
    """The task name hashes (queue, target, path, *key) and the URL is target + path: neither may move."""
    assert [(r.queue, r.target, r.path) for r in ROUTES] == [
        ("uploads", "upload_tasks", "/check"), ("index", "index_tasks", "/tasks/submit"),
        ("index", "index_tasks", "/tasks/follow"), ("iconik", "iconik_tasks", "/step"),
        ("insights", "insight_tasks", "/insights/generate"), ("insights", "insight_tasks", "/insights/follow")]
    assert tasks.task_id(INDEX_SUBMIT.queue, INDEX_SUBMIT.target, INDEX_SUBMIT.path, "submit", "v1", 1, "ab12", 0) \
        == tasks.task_id("index", "index_tasks", "/tasks/submit", "submit", "v1", 1, "ab12", 0)
    # an iconik step may run for minutes; an analyze call too, under insight_tasks' 300 s timeout
    assert [r.deadline_seconds for r in ROUTES] == [60, 60, 60, 180, 280, 60]


def test_every_route_targets_a_manifest_function_that_may_use_its_queue():
    queues = set(load_raw()["queues"])
    for route in ROUTES:
        assert route.queue in queues, route.path
        assert route.queue in function(route.target).queues, route.path  # the worker queues its own next hop
        assert not function(route.target).public, route.path  # tasks go to private functions only


def test_bodies_are_the_payloads_tasks_always_carried():
    assert UPLOAD_CHECK.body(UploadCheck("v1", 2, {"first": 900})) == {"video_id": "v1", "attempt": 2,
                                                                       "policy": {"first": 900}}
    assert list(INDEX_SUBMIT.body(IndexSubmit("v1", 3, 1, "ab12"))) == ["video_id", "run", "attempt", "nonce"]
    body = INDEX_FOLLOW.body(IndexFollow("v1", "t1", 4, 1700000000.5, 2))
    assert body == {"video_id": "v1", "task_id": "t1", "hop": 4, "started": 1700000000.5, "errors": 2}
    assert ICONIK_STEP.body(IconikStep("r1", 3, "tok", "sig")) == {"run_id": "r1", "seq": 3, "token": "tok",
                                                                    "sig": "sig"}
    with pytest.raises(TypeError, match="carries IndexFollow"):
        INDEX_FOLLOW.body(IndexSubmit("v1", 1))  # a payload sent down the wrong route fails at the producer


@pytest.mark.parametrize(("route", "payload"), [
    (UPLOAD_CHECK, UploadCheck("v1", 5, {"first": 1, "max": 2, "grace_until": 3.5, "deadline": 4.0})),
    (UPLOAD_CHECK, UploadCheck("v1")),
    (INDEX_SUBMIT, IndexSubmit("v1", 2, 3, "n0nce")),
    (INDEX_FOLLOW, IndexFollow("v1", "task", 0, 12.25)),
])
def test_what_a_producer_sends_its_handler_reads_back(route: TaskRoute, payload: Any):
    assert route.load(json.loads(json.dumps(route.body(payload)))) == payload


def test_missing_fields_with_defaults_read_as_tasks_queued_by_older_code_meant_them():
    assert UPLOAD_CHECK.load({"video_id": "v1"}) == UploadCheck("v1", 1, None)
    assert INDEX_SUBMIT.load({"video_id": "v1", "run": 1}) == IndexSubmit("v1", 1, 0, "")  # before nonces
    assert INDEX_FOLLOW.load({"video_id": "v1", "task_id": "t", "hop": 2, "started": 7}) == IndexFollow("v1", "t", 2,
                                                                                                        7.0, 0)
    assert isinstance(INDEX_FOLLOW.load({"video_id": "v1", "task_id": "t", "hop": 2, "started": 7}).started, float)
    assert INDEX_SUBMIT.load({"video_id": "v1", "run": 1, "from_a_newer_version": True}) == IndexSubmit("v1", 1)


@pytest.mark.parametrize(("route", "body", "field", "says"), [
    (INDEX_SUBMIT, {"run": 1}, "video_id", "is missing"),
    (INDEX_SUBMIT, {"video_id": "v1"}, "run", "is missing"),
    (INDEX_SUBMIT, {"video_id": 42, "run": 1}, "video_id", "must be a string"),
    (INDEX_SUBMIT, {"video_id": "", "run": 1}, "video_id", "must be a video id"),
    (INDEX_SUBMIT, {"video_id": "a/b", "run": 1}, "video_id", "must be a video id"),
    (INDEX_SUBMIT, {"video_id": "v" * 201, "run": 1}, "video_id", "must be a video id"),
    (INDEX_SUBMIT, {"video_id": "v1", "run": True}, "run", "must be an integer"),
    (INDEX_SUBMIT, {"video_id": "v1", "run": "1"}, "run", "must be an integer"),
    (INDEX_SUBMIT, {"video_id": "v1", "run": 1.5}, "run", "must be an integer"),
    (INDEX_SUBMIT, {"video_id": "v1", "run": 1, "nonce": None}, "nonce", "not null"),
    (INDEX_FOLLOW, {"video_id": "v", "task_id": "t", "hop": "soon", "started": 1}, "hop", "must be an integer"),
    (INDEX_FOLLOW, {"video_id": "v", "task_id": "t", "hop": 0, "started": "now"}, "started", "must be a number"),
    (INDEX_FOLLOW, {"video_id": "v", "task_id": "t", "hop": 0, "started": float("nan")}, "started", "finite"),
    (INDEX_FOLLOW, {"video_id": "v", "task_id": ["t"], "hop": 0, "started": 1}, "task_id", "must be a string"),
    (UPLOAD_CHECK, {"video_id": "../x"}, "video_id", "must be a video id"),
    (UPLOAD_CHECK, {"video_id": "v1", "attempt": 0}, "attempt", "from 1 to"),
    (UPLOAD_CHECK, {"video_id": "v1", "attempt": 10 ** 30}, "attempt", "from 1 to"),
    (UPLOAD_CHECK, {"video_id": "v1", "policy": {"first": "soon"}}, "policy", "`first` must be a number"),
    (UPLOAD_CHECK, {"video_id": "v1", "policy": {"deadline": -1}}, "policy", "`deadline` must be a number"),
    (UPLOAD_CHECK, {"video_id": "v1", "policy": {"idle": "long"}}, "policy", "`idle` must be a number"),
    (INDEX_SUBMIT, {"video_id": "v1", "run": -1}, "run", "from 0 to"),
    (INDEX_SUBMIT, {"video_id": "v1", "run": 2 ** 63}, "run", "from 0 to"),
    (INDEX_SUBMIT, {"video_id": "v1", "run": 1, "attempt": -1}, "attempt", "from 0 to"),
    (INDEX_SUBMIT, {"video_id": "v1", "run": 1, "nonce": "a/b"}, "nonce", "letters, digits"),
    (INDEX_SUBMIT, {"video_id": "v1", "run": 1, "nonce": "n" * 65}, "nonce", "letters, digits"),
    (INDEX_FOLLOW, {"video_id": "v", "task_id": "", "hop": 0, "started": 1}, "task_id", "letters, digits"),
    (INDEX_FOLLOW, {"video_id": "v", "task_id": "t/../u", "hop": 0, "started": 1}, "task_id", "letters, digits"),
    (INDEX_FOLLOW, {"video_id": "v", "task_id": "t", "hop": -1, "started": 1}, "hop", "from 0 to"),
    (INDEX_FOLLOW, {"video_id": "v", "task_id": "t", "hop": 0, "started": -5}, "started", "unix seconds"),
    (INDEX_FOLLOW, {"video_id": "v", "task_id": "t", "hop": 0, "started": 1e300}, "started", "unix seconds"),
    (INDEX_FOLLOW, {"video_id": "v", "task_id": "t", "hop": 0, "started": 1, "errors": -1}, "errors", "from 0 to"),
    (ICONIK_STEP, {"run_id": "r", "seq": -1, "token": "t"}, "seq", "from 0 to"),
    (ICONIK_STEP, {"run_id": "r", "seq": 0, "token": " "}, "token", "iconik auth token"),
    (ICONIK_STEP, {"run_id": "r", "seq": 0, "token": "t\r\nX: y"}, "token", "iconik auth token"),
    (ICONIK_STEP, {"run_id": "r", "seq": 0, "token": "t" * 8193}, "token", "iconik auth token"),
    (ICONIK_STEP, {"run_id": "r/x", "seq": 0, "token": "t"}, "run_id", "must be a run id"),
    (ICONIK_STEP, {"run_id": "r", "seq": 0, "token": "t", "sig": "s" * 257}, "sig", "at most 256"),
    (UPLOAD_CHECK, {"video_id": "v1", "attempt": None}, "attempt", "not null"),
    (UPLOAD_CHECK, {"video_id": "v1", "policy": "soon"}, "policy", "must be an object"),
])
def test_a_bad_payload_is_a_400_that_names_the_field(route: TaskRoute, body: dict, field: str, says: str):
    with pytest.raises(ApiError) as raised:
        route.load(body)
    assert raised.value.status == 400
    assert f"`{field}`" in raised.value.message and says in raised.value.message
    # each route keeps the code its callers have always seen
    assert raised.value.code == route.error_code
    assert raised.value.code == {"/check": "invalid_field", "/step": "bad_task"}.get(route.path, "invalid_task")


def test_a_payload_type_the_loader_cannot_check_fails_at_declaration():
    @dataclass(frozen=True)
    class Listy:
        ids: list[str]

    @dataclass(frozen=True)
    class Either:
        value: int | str

    for kind in (Listy, Either):
        with pytest.raises(TypeError, match="str, int, float or dict"):
            TaskRoute("q", "t", "/x", kind)
    with pytest.raises(TypeError, match="not a dataclass"):
        TaskRoute("q", "t", "/x", dict)


def test_a_step_queued_with_the_old_hmac_still_reads():
    assert ICONIK_STEP.load({"run_id": "r", "seq": 2, "token": "t", "sig": "ab" * 32}) == IconikStep("r", 2, "t",
                                                                                                   "ab" * 32)
    assert ICONIK_STEP.body(IconikStep("r", 2, "t")) == {"run_id": "r", "seq": 2, "token": "t", "sig": ""}


# ---- serving ------------------------------------------------------------------------------------------------------
LOCAL_URL = "http://127.0.0.1:9"  # where this test's index_tasks "answers": the audience of its tasks
SA = "mam-tasks@p.iam.gserviceaccount.com"


@pytest.fixture
def issuer(monkeypatch):
    """Google's certs stood in for on loopback, and index_tasks's settings and runtime pointing at them."""
    from mam import settings

    with Issuer() as issuer:
        for key, value in {"GCP_PROJECT": "p", "TASKS_SERVICE_ACCOUNT": SA, "CLOUD_TASKS_OIDC_CERTS_URL": issuer.url,
                           "FUNCTION_URL_INDEX_TASKS": LOCAL_URL}.items():
            monkeypatch.setenv(key, value)
        settings.reset_cache()
        yield issuer


@pytest.fixture
def bearer(issuer) -> dict[str, str]:
    """The Authorization header the local Cloud Tasks would send this test's index_tasks."""
    return {"Authorization": f"Bearer {issuer.mint(LOCAL_URL, SA)}"}


@pytest.fixture
def served(issuer) -> tuple[flask.testing.FlaskClient, list]:
    router = Router("index_tasks")
    seen: list = []

    @INDEX_FOLLOW.serve(router)
    def follow(payload: IndexFollow, ctx: TaskContext):
        seen.append((payload, ctx))
        return {"hop": payload.hop}

    app = flask.Flask("t")
    app.add_url_rule("/<path:p>", "any", lambda p: router(flask.request), methods=["POST", "GET"])
    return app.test_client(), seen


@pytest.mark.parametrize("prefix", ["", "/index_tasks"])
def test_a_served_route_hands_its_handler_the_typed_payload_and_the_delivery(served, bearer, prefix):
    client, seen = served
    resp = client.post(f"{prefix}/tasks/follow", json={"video_id": "v1", "task_id": "t", "hop": 3, "started": 5},
                       headers={"X-CloudTasks-TaskName": "t-abc", "X-CloudTasks-TaskRetryCount": "2",
                                "X-CloudTasks-QueueName": "index", **bearer})
    assert resp.status_code == 200 and resp.get_json() == {"hop": 3}
    assert seen == [(IndexFollow("v1", "t", 3, 5.0), TaskContext("t-abc", "index", 2, 0))]


@pytest.mark.parametrize(("body", "code"), [
    ({"video_id": "v1", "task_id": "t", "hop": "soon", "started": 1}, "invalid_task"),
    ([1, 2], "invalid_json"),
    ("not json", "invalid_json"),
])
def test_a_served_route_refuses_a_bad_body_with_400_before_its_handler_runs(served, bearer, body, code):
    client, seen = served
    raw = body if isinstance(body, str) else json.dumps(body)
    resp = client.post("/tasks/follow", data=raw, content_type="application/json", headers=bearer)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code
    assert seen == []


@pytest.mark.parametrize(("auth", "status", "code"), [
    (None, 401, "missing_token"),
    ("Bearer not-a-jwt", 403, "invalid_token"),
    ("other-audience", 403, "invalid_token"),
    ("other-account", 403, "invalid_token"),
])
def test_a_served_route_refuses_a_delivery_without_cloud_tasks_token_before_reading_its_body(served, issuer, auth,
                                                                                             status, code):
    client, seen = served
    headers = {"other-audience": {"Authorization": f"Bearer {issuer.mint(LOCAL_URL + '/tasks/follow', SA)}"},
               "other-account": {"Authorization": f"Bearer {issuer.mint(LOCAL_URL, 'x@p.iam.gserviceaccount.com')}"},
               None: {}}.get(auth, {"Authorization": auth})
    for body in ({"video_id": "v1", "task_id": "t", "hop": 3, "started": 5}, "not json"):
        raw = body if isinstance(body, str) else json.dumps(body)
        resp = client.post("/tasks/follow", data=raw, content_type="application/json", headers=headers)
        assert resp.status_code == status and resp.get_json()["error"]["code"] == code
    assert seen == []


def test_a_route_is_served_only_by_its_target_function():
    with pytest.raises(ValueError, match="/tasks/follow is a route of index_tasks, not of upload_tasks"):
        INDEX_FOLLOW.serve(Router("upload_tasks"))


PROBE = """
import importlib.util, json, sys
import flask
spec = importlib.util.spec_from_file_location("main", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
entry = getattr(module, sys.argv[2])
out = []
for path in json.loads(sys.argv[3]):
    for headers in ({}, {"Authorization": "Bearer " + sys.argv[4]}):
        with flask.Flask("probe").test_request_context(path, method="POST", json={"video_id": "a/b"}, headers=headers):
            resp = entry(flask.request)
            out.append([resp.status_code, resp.get_json()["error"]["code"]])
print(json.dumps(out))
"""


@pytest.mark.parametrize("target", sorted({r.target for r in ROUTES}))
def test_each_target_function_serves_its_routes_as_deployed(target):
    """Import the target's main.py with only its deployed settings; every route of it answers: a 401 without
    Cloud Tasks' token, and with one a 400 for a bad payload (reached before any backend call), so no route is
    declared without being served or served without the token check. Google's certs stand in on loopback."""
    spec = function(target)
    mine = [r for r in ROUTES if r.target == target]
    base = "https://us-central1-p.cloudfunctions.net"
    env = {**template_settings(), **{s: "placeholder" for s in grants(target)}, "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(ROOT / "functions"), "FUNCTIONS_BASE_URL": base, "THREADS": "8"}
    with Issuer() as issuer:
        env["CLOUD_TASKS_OIDC_CERTS_URL"] = issuer.url
        token = issuer.mint(f"{base}/{target}", env["TASKS_SERVICE_ACCOUNT"])
        out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "functions" / spec.source / "main.py"),
                              spec.entry_point, json.dumps([r.path for r in mine]), token], check=False, env=env,
                             cwd="/", capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-1500:]
    expected = [answer for r in mine for answer in ([401, "missing_token"], [400, r.error_code])]
    assert json.loads(out.stdout.splitlines()[-1]) == expected  # after the log lines


def test_task_routes_module_is_the_one_declaration_of_each_path():
    """No function or domain module spells a task path again (the measure of issue 11, point 3)."""
    spelled = []
    for path in (ROOT / "functions").rglob("*.py"):
        if path.name == "task_routes.py":
            continue
        text = path.read_text()
        spelled += [f"{path.relative_to(ROOT)}: {r.path}" for r in ROUTES if f'"{r.path}"' in text]
    assert spelled == []
    assert task_routes.ROUTES == (UPLOAD_CHECK, INDEX_SUBMIT, INDEX_FOLLOW, ICONIK_STEP, INSIGHT_GENERATE,
                                  INSIGHT_FOLLOW)

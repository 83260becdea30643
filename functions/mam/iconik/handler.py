"""The routes of the two iconik functions, on `mam.http.Router` (which logs each request, serves both URL shapes,
`/iconik_handler/add` and `/add`, and turns an `ApiError` into the JSON error body).

`iconik_handler`, the custom-action endpoint, keeps the original plugin's outside contract (contracts 1.3),
checks in this order: secret (401 + WWW-Authenticate) -> method (405) -> JSON body (400) -> both storages exist in
iconik (500) -> context (400) -> path /add|/remove (404) -> start the run -> 200 "OK" as plain text. So that the
secret is checked before the method and the path is judged last, every method of `/{op}` reaches one route.
`GET /` and `GET /health` are health checks; `GET /runs/<id>` (secret required) reports a run. Anything else
(deeper paths, OPTIONS, other methods on `/` and `/runs/<id>`) gets Router's own 404/405/204, secret or not.

`iconik_tasks`, private: `POST /step` runs one bounded step of a run (`machine.py`).
"""
from __future__ import annotations

import time
import traceback
from typing import Any

import flask

from mam import log
from mam.clients.iconik import (
    AuthRejected,
    IconikClient,
    IconikError,
    NotFound,
    shared_limiter,
)
from mam.http import ApiError, Router, json_body
from mam.iconik import machine
from mam.iconik.request import (
    CONTEXTS,
    OPERATIONS,
    SECRET_HEADER,
    BadRequest,
    is_uuid,
    parse_body,
    parse_query,
    secret_ok,
)
from mam.iconik.request import run_id as make_run_id
from mam.settings import IconikSettings, Settings
from mam.settings import settings as cached_settings
from mam.task_routes import ICONIK_STEP, IconikStep
from mam.tasks import TaskContext

HEALTH_TEXT = "The b2-iconik-plugin is ready for requests"

action_router = Router("iconik_handler")
task_router = Router("iconik_tasks")


def _settings() -> Settings:
    # The entry point loads them at start-up (main.py); this is the same cached object.
    return cached_settings("iconik")


def _text(body: str, status: int = 200, headers: dict[str, str] | None = None) -> flask.Response:
    """A plain-text answer (iconik reads the body "OK"); Router renders dicts as JSON only."""
    resp = flask.Response(body, status=status, mimetype="text/plain")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _require_secret(request: flask.Request) -> None:
    if not secret_ok(request.headers.get(SECRET_HEADER), _settings().iconik.shared_secret):
        raise ApiError(401, "unauthorized", f"missing or wrong {SECRET_HEADER} header",
                       {"WWW-Authenticate": SECRET_HEADER})


# ---- iconik_handler --------------------------------------------------------------------------------------------
@action_router.route("GET", "/")
def home(request: flask.Request) -> flask.Response:
    """The original plugin's HTML health line (`GET /health` is Router's JSON one)."""
    return flask.Response(f"<p>{HEALTH_TEXT}</p>", mimetype="text/html")


@action_router.route("GET", "/runs/{run_id}")
def run_report(request: flask.Request, run_id: str) -> dict[str, Any]:
    """What became of a run (secret required)."""
    _require_secret(request)
    if not is_uuid(run_id):
        raise ApiError(404, "not_found", "no such run")
    status = machine.run_status(run_id)
    if status is None:
        raise ApiError(404, "not_found", "no such run")
    return status


@action_router.route("POST", "/{op}")
@action_router.route("GET", "/{op}")
@action_router.route("PUT", "/{op}")
@action_router.route("PATCH", "/{op}")
@action_router.route("DELETE", "/{op}")
def custom_action(request: flask.Request, op: str) -> flask.Response:
    """A custom action (POST /add or /remove), judged in the original plugin's order; the work goes to tasks."""
    settings = _settings()
    # 1. secret (before the method check, as the original's Cloud Function entry did)
    _require_secret(request)
    # 2. method
    if request.method != "POST":
        raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed; use POST", {"Allow": "POST"})
    # 3. body: JSON whatever the Content-Type says (iconik's is not documented; contracts 1.2), then types and sizes
    body = json_body(request, content_type=False)
    try:
        action = parse_body(body, max_ids=settings.iconik.tuning.max_ids)
        query = parse_query(request.args, settings.iconik.format_names)
    except BadRequest as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    # 4-5. both storages must exist in iconik, asked with the caller's token
    _check_storages(settings.iconik, query.ll_storage_id, query.b2_storage_id, action.auth_token)
    # 7. context
    if action.context not in CONTEXTS:
        raise ApiError(400, "invalid_context", f"context must be one of {', '.join(CONTEXTS)}")
    # 8. path
    if op not in OPERATIONS:
        raise ApiError(404, "not_found", f"no operation at /{op}; use /add or /remove")
    # 9. record the run and hand the work to Cloud Tasks, then answer at once
    if not action.asset_ids and not action.collection_ids:
        log.warning("iconik action with nothing selected", op=op, context=action.context)
        return _text("OK")
    rid = make_run_id(op, query, action)
    try:
        _, created = machine.start_run(settings, op, query, action, rid)
    except Exception as exc:  # noqa: BLE001 - Firestore or Cloud Tasks down: a clear 503, iconik may retry
        log.error("iconik run not started", run_id=rid, error=type(exc).__name__, detail=str(exc)[:300])
        raise ApiError(503, "unavailable", "could not schedule the work; please try again") from None
    log.info("iconik run accepted", run_id=rid, op=op, context=action.context, created=created,
             assets=len(action.asset_ids), collections=len(action.collection_ids), formats=list(query.formats))
    return _text("OK", headers={"X-Run-Id": rid})


def _check_storages(iconik: IconikSettings, ll_id: str, b2_id: str, token: str) -> None:
    """Both storages must be known to iconik (500 otherwise, as the original); asked with the caller's token."""
    tune = iconik.tuning
    client = IconikClient(iconik.url, iconik.app_id, token,
                          limiter=shared_limiter(float(iconik.rate_limit or 0)),
                          timeout=min(tune.http_timeout, 3.0), attempts=4,
                          deadline=time.monotonic() + tune.sync_deadline_seconds, max_retry_after=2.0)
    try:
        for name, sid in (("LucidLink", ll_id), ("B2", b2_id)):
            if not is_uuid(sid):  # never put an arbitrary string into an iconik URL
                raise ApiError(500, "unknown_storage", f"the {name} storage id is missing or malformed")
            try:
                client.get_storage(sid)
            except NotFound:
                raise ApiError(500, "unknown_storage", f"iconik does not know the {name} storage {sid}") from None
    except AuthRejected:
        raise ApiError(500, "iconik_auth", "iconik refused the custom action's auth token") from None
    except IconikError as exc:
        raise ApiError(500, "iconik_error", f"could not reach iconik: {str(exc)[:200]}") from None
    finally:
        client.close()


# ---- iconik_tasks ----------------------------------------------------------------------------------------------
@task_router.route("GET", "/")
def task_home(request: flask.Request) -> dict[str, Any]:
    """Health, as `GET /health`."""
    return {"ok": True, "function": "iconik_tasks"}


@ICONIK_STEP.serve(task_router)
def step(task: IconikStep, ctx: TaskContext) -> dict[str, Any]:
    """One step of a run per Cloud Tasks delivery; 200 unless Cloud Tasks should deliver it again. The route has
    already checked the delivery's OIDC token (401/403, `mam.task_auth`) and typed the payload (400 `bad_task`);
    the run's seq and lease (`machine.handle_step`) make a stale or duplicate step a no-op."""
    settings = _settings()
    try:
        return machine.handle_step(task, settings)
    except Exception as exc:  # noqa: BLE001 - Firestore/Cloud Tasks trouble outside a step: let Cloud Tasks retry
        log.error("iconik task error", run_id=task.run_id[:64], error=type(exc).__name__,
                  stack=traceback.format_exc()[-3000:])
        raise ApiError(500, "internal", "internal error; the task will be retried") from None

"""HTTP logic of the two entry points: the custom-action endpoint iconik calls and the private task entry.

The custom-action endpoint keeps the original plugin's outside contract (contracts 1.3), checks in this order:
secret (401 + WWW-Authenticate) -> method (405) -> JSON body (400) -> both storages exist in iconik (500) ->
context (400) -> path /add|/remove (404) -> start the run -> 200 "OK". `GET /` and `GET /health` are health
checks; `GET /runs/<id>` (secret required) reports a run. Every path is also served under `/iconik_handler`
(`/iconik_tasks`), as the function's cloudfunctions.net URL delivers it (`mam.http.route_path`).
"""
from __future__ import annotations

import time

import flask

from mam import log
from mam.http import ApiError, error_response, json_body, json_response, route_path
from mam.iconik import machine
from mam.iconik.client import (
    AuthRejected,
    IconikClient,
    IconikError,
    NotFound,
    shared_limiter,
)
from mam.iconik.config import tuning as load_tuning
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

HEALTH_TEXT = "The b2-iconik-plugin is ready for requests"


def _text(body: str, status: int = 200, headers: dict[str, str] | None = None) -> flask.Response:
    resp = flask.Response(body, status=status, mimetype="text/plain")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


class ActionHandler:
    """The public `iconik_handler` function."""

    def __init__(self, settings, client_factory=IconikClient):
        self.settings = settings
        self.client_factory = client_factory

    def __call__(self, request: flask.Request) -> flask.Response:
        started = time.monotonic()
        try:
            resp = self._handle(request)
        except ApiError as exc:
            resp = error_response(exc.status, exc.code, exc.message, exc.headers)
        except Exception as exc:  # noqa: BLE001 - never a stack trace to the caller
            import traceback

            log.error("iconik handler error", error=type(exc).__name__, stack=traceback.format_exc()[-3000:])
            resp = error_response(500, "internal", "internal error; it has been logged")
        # The query holds storage ids and formats only; headers and body (token, secret) are never logged.
        log.info("request", function="iconik_handler", method=request.method, path=request.path,
                 status=resp.status_code, ms=round((time.monotonic() - started) * 1000, 1))
        return resp

    def _handle(self, request: flask.Request) -> flask.Response:
        path = route_path(request.path, "iconik_handler").rstrip("/") or "/"  # /iconik_handler/add or /add
        if request.method in ("GET", "HEAD") and path in ("/", "/health"):
            if path == "/health":
                return json_response({"ok": True, "function": "iconik_handler"})
            return flask.Response(f"<p>{HEALTH_TEXT}</p>", mimetype="text/html")
        # 1. secret (before the method check, as the original's Cloud Function entry did)
        if not secret_ok(request.headers.get(SECRET_HEADER), self.settings.bz_shared_secret):
            raise ApiError(401, "unauthorized", f"missing or wrong {SECRET_HEADER} header",
                           {"WWW-Authenticate": SECRET_HEADER})
        if request.method == "GET" and path.startswith("/runs/"):
            return self._run_status(path.removeprefix("/runs/"))
        # 2. method
        if request.method != "POST":
            raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed; use POST",
                           {"Allow": "POST"})
        # 3. body: JSON whatever the Content-Type says, then types and sizes
        tune = load_tuning()
        body = json_body(request)
        try:
            action = parse_body(body, max_ids=tune.max_ids)
            query = parse_query(request.args, self.settings.format_names)
        except BadRequest as exc:
            raise ApiError(400, "invalid_request", str(exc)) from None
        # 4-5. both storages must exist in iconik, asked with the caller's token
        self._check_storages(query.ll_storage_id, query.b2_storage_id, action.auth_token, tune)
        # 7. context
        if action.context not in CONTEXTS:
            raise ApiError(400, "invalid_context", f"context must be one of {', '.join(CONTEXTS)}")
        # 8. path
        op = path.lstrip("/")
        if op not in OPERATIONS:
            raise ApiError(404, "not_found", f"no operation at {path}; use /add or /remove")
        # 9. record the run and hand the work to Cloud Tasks, then answer at once
        if not action.asset_ids and not action.collection_ids:
            log.warning("iconik action with nothing selected", op=op, context=action.context)
            return _text("OK")
        rid = make_run_id(op, query, action)
        try:
            _, created = machine.start_run(self.settings, op, query, action, rid)
        except Exception as exc:  # noqa: BLE001 - Firestore or Cloud Tasks down: a clear 503, iconik may retry
            log.error("iconik run not started", run_id=rid, error=type(exc).__name__, detail=str(exc)[:300])
            raise ApiError(503, "unavailable", "could not schedule the work; please try again") from None
        log.info("iconik run accepted", run_id=rid, op=op, context=action.context, created=created,
                 assets=len(action.asset_ids), collections=len(action.collection_ids), formats=list(query.formats))
        return _text("OK", headers={"X-Run-Id": rid})

    def _check_storages(self, ll_id: str, b2_id: str, token: str, tune) -> None:
        client = self.client_factory(self.settings.iconik_url, self.settings.iconik_app_id, token,
                                     limiter=shared_limiter(float(self.settings.iconik_rate_limit or 0)),
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

    def _run_status(self, run_id: str) -> flask.Response:
        if not is_uuid(run_id):
            raise ApiError(404, "not_found", "no such run")
        status = machine.run_status(run_id)
        if status is None:
            raise ApiError(404, "not_found", "no such run")
        return json_response(status)


class TaskHandler:
    """The private `iconik_tasks` function: one run step per Cloud Tasks delivery."""

    def __init__(self, settings, client_factory=None):
        self.settings = settings
        self.client_factory = client_factory

    def __call__(self, request: flask.Request) -> flask.Response:
        started = time.monotonic()
        resp = self._handle(request)
        log.info("request", function="iconik_tasks", method=request.method, path=request.path,
                 status=resp.status_code, ms=round((time.monotonic() - started) * 1000, 1))
        return resp

    def _handle(self, request: flask.Request) -> flask.Response:
        path = route_path(request.path, "iconik_tasks").rstrip("/") or "/"  # /iconik_tasks/step or /step
        if request.method in ("GET", "HEAD") and path in ("/", "/health"):
            return json_response({"ok": True, "function": "iconik_tasks"})
        if path != machine.STEP_PATH:
            return error_response(404, "not_found", f"no route for {path}")
        if request.method != "POST":
            return error_response(405, "method_not_allowed", "use POST", {"Allow": "POST"})
        try:
            payload = json_body(request)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        try:
            outcome = machine.handle_step(payload, self.settings, client_factory=self.client_factory)
        except Exception as exc:  # noqa: BLE001 - Firestore/Cloud Tasks trouble outside a step: let Cloud Tasks retry
            import traceback

            log.error("iconik task error", run_id=str(payload.get("run_id"))[:64], error=type(exc).__name__,
                      stack=traceback.format_exc()[-3000:])
            return error_response(500, "internal", "internal error; the task will be retried")
        return json_response(outcome.body, outcome.status)

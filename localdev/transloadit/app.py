"""Flask app factory: the Assemblies API, notification replay, SSE progress stream, tus, and CORS."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from . import tus
from .config import Settings
from .model import Assembly
from .service import ApiError, Service

CORS_ALLOW_METHODS = "POST, GET, HEAD, PATCH, DELETE, OPTIONS"
# tusd's default allow-list plus what Uppy's Transloadit plugin sends (Transloadit-Client, X-Request-ID).
CORS_ALLOW_HEADERS = (
    "Authorization, Origin, X-Requested-With, X-Request-ID, X-HTTP-Method-Override, Content-Type, "
    "Upload-Length, Upload-Offset, Tus-Resumable, Upload-Metadata, Upload-Defer-Length, Upload-Concat, "
    "Upload-Incomplete, Upload-Complete, Upload-Draft-Interop-Version, Transloadit-Client"
)
CORS_EXPOSE_HEADERS = (
    "Upload-Offset, Location, Upload-Length, Tus-Version, Tus-Resumable, Tus-Max-Size, Tus-Extension, "
    "Upload-Metadata, Upload-Defer-Length, Upload-Concat, Upload-Incomplete, Upload-Complete"
)
SSE_KEEPALIVE_SECONDS = 15.0


def _error(exc: ApiError) -> Response:
    resp = jsonify(exc.to_json())
    resp.status_code = exc.http_status
    return resp


def _base_url(svc: Service) -> str:
    return svc.settings.public_url.rstrip("/") or request.host_url.rstrip("/")


def _get(svc: Service, assembly_id: str) -> Assembly:
    assembly = svc.registry.get(assembly_id)
    if assembly is None:
        raise ApiError("ASSEMBLY_NOT_FOUND", "Assembly not found.", 404)
    svc.refresh(assembly)
    return assembly


def _status(assembly: Assembly) -> Response:
    with assembly.lock:
        return jsonify(assembly.status_json())


def create_app(settings: Settings | None = None) -> Flask:
    """Build the stand-in. `app.extensions["transloadit"]` is the Service (tests may call `.close()`)."""
    settings = settings or Settings.from_env()
    app = Flask("transloadit_standin", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = None  # tus bodies are streamed; inline files may be large too
    svc = Service(settings)
    app.extensions["transloadit"] = svc
    app.register_blueprint(tus.bp)

    @app.before_request
    def preflight() -> Response | None:
        # CORS preflight for every route (no Tus-Resumable on preflights; browsers never send it there).
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            resp = Response(status=204)
            resp.headers["Access-Control-Allow-Methods"] = CORS_ALLOW_METHODS
            resp.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            resp.headers["Access-Control-Max-Age"] = "86400"
            return resp
        return None

    access = logging.getLogger("transloadit.standin.http")

    @app.after_request
    def cors(resp: Response) -> Response:
        if access.isEnabledFor(logging.INFO):  # JSON access log (werkzeug's own text lines are silenced)
            access.info(json.dumps({"severity": "INFO", "message": "request", "method": request.method,
                                    "path": request.path, "status": resp.status_code}))
        origin = request.headers.get("Origin")
        resp.headers["Access-Control-Allow-Origin"] = origin or "*"
        resp.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
        resp.headers.add("Vary", "Origin")
        return resp

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _error(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        resp = jsonify({"error": exc.name.upper().replace(" ", "_"), "message": exc.description})
        resp.status_code = exc.code or 500
        return resp

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        app.logger.exception("stand-in error")
        resp = jsonify({"error": "SERVER_ERROR", "message": "Internal error in the TransloadIt stand-in."})
        resp.status_code = 500
        return resp

    @app.get("/health")
    @app.get("/_health")
    def health() -> Response:
        return jsonify({"ok": True, "service": "transloadit-standin"})

    @app.post("/assemblies")
    def create_assembly() -> Response:
        """Create an assembly from `params` (+ `signature`, `num_expected_upload_files`, extra fields, files)."""
        form = {k: v for k, v in request.form.items()}
        files: list[tuple[str, str, str, str]] = []
        try:
            for field_name, storage in request.files.items(multi=True):
                fd, path = tempfile.mkstemp(dir=svc.data_dir, prefix="inline-")
                with os.fdopen(fd, "wb") as fh:
                    storage.save(fh)
                files.append((field_name, storage.filename or field_name, storage.mimetype or "", path))
            assembly = svc.create(
                base_url=_base_url(svc),
                params_raw=form.get("params"),
                signature=form.get("signature"),
                form=form,
                files=files,
                client={
                    "agent": request.headers.get("User-Agent"),
                    "ip": request.remote_addr,
                    "referer": request.headers.get("Referer"),
                    "transloadit_client": request.headers.get("Transloadit-Client"),
                },
            )
        finally:
            for _, _, _, path in files:
                if os.path.exists(path):
                    os.remove(path)
        return _status(assembly)

    @app.get("/assemblies")
    def list_assemblies() -> Response:
        """Signed list (params + signature in the query), newest first; `keywords` match id, fields, notify_url."""
        params = svc.check_auth(request.args.get("params"), request.args.get("signature"))
        keywords = [str(k) for k in params.get("keywords") or []]
        wanted = str(params.get("type") or "all")
        page = max(int(params.get("page") or 1), 1)
        pagesize = min(max(int(params.get("pagesize") or 50), 1), 5000)
        items = []
        for a in sorted(svc.registry.all(), key=lambda a: a.created, reverse=True):
            with a.lock:
                haystack = json.dumps([a.id, a.fields, a.notify_url, a.error, a.message, [u.name for u in a.uploads]])
                state = {
                    "ASSEMBLY_UPLOADING": "uploading",
                    "ASSEMBLY_EXECUTING": "executing",
                    "ASSEMBLY_COMPLETED": "completed",
                    "ASSEMBLY_CANCELED": "canceled",
                    "REQUEST_ABORTED": "request_aborted",
                }.get(a.ok or "", "failed")
                summary = a.summary_json()
            if keywords and not all(k in haystack for k in keywords):
                continue
            if wanted != "all" and wanted != state:
                continue
            items.append(summary)
        start = (page - 1) * pagesize
        return jsonify({"items": items[start : start + pagesize], "count": len(items)})

    @app.get("/assemblies/<assembly_id>")
    def get_assembly(assembly_id: str) -> Response:
        return _status(_get(svc, assembly_id))

    @app.delete("/assemblies/<assembly_id>")
    def cancel_assembly(assembly_id: str) -> Response:
        assembly = _get(svc, assembly_id)
        svc.cancel(assembly)
        return _status(assembly)

    @app.post("/assembly_notifications/<assembly_id>/replay")
    def replay(assembly_id: str) -> Response:
        """Re-send the notification (signed params; optional params.notify_url overrides the target)."""
        params = svc.check_auth(request.values.get("params"), request.values.get("signature"))
        assembly = _get(svc, assembly_id)
        with assembly.lock:
            if not assembly.terminal:
                raise ApiError("ASSEMBLY_NOT_FINISHED", "The assembly has not finished yet.", 400)
            url = params.get("notify_url") or assembly.notify_url
        if not url:
            raise ApiError("ASSEMBLY_INVALID_NOTIFY_URL", "The assembly has no notify_url.", 400)
        svc.replay_notification(assembly, url)
        return jsonify({"ok": "ASSEMBLY_NOTIFICATION_REPLAYED", "success": True, "assembly_id": assembly.id,
                        "notify_url": url})

    @app.get("/ws<int:instance>")
    def events(instance: int) -> Response:
        """Assembly event stream (Server-Sent Events), or 204 when SSE is off so Uppy falls back to polling."""
        assembly = svc.registry.get(request.args.get("assembly", ""))
        if not settings.sse or assembly is None:
            return Response(status=204)
        try:
            last_seen = int(request.headers.get("Last-Event-ID", "0"))
        except ValueError:
            last_seen = 0
        return Response(_event_stream(assembly, last_seen, svc), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app


def _event_stream(assembly: Assembly, last_seen: int, svc: Service) -> Iterator[str]:
    """Replay events after `last_seen`, then follow new ones until the assembly ends (then close)."""
    yield ": stream open\n\n"
    while not svc.stopping.is_set():
        with assembly.lock:
            pending = assembly.events[last_seen:]
            done = assembly.terminal
            if not pending and not done:
                assembly.changed.wait(SSE_KEEPALIVE_SECONDS)
                pending = assembly.events[last_seen:]
                done = assembly.terminal
        for event_id, name, data in pending:
            last_seen = event_id
            yield _sse(event_id, name, data)
        if done and last_seen >= len(assembly.events):
            return
        if not pending:
            yield ": keep-alive\n\n"


def _sse(event_id: int, name: str | None, data: str) -> str:
    lines = [f"id: {event_id}"]
    if name:
        lines.append(f"event: {name}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return "\n".join(lines) + "\n\n"

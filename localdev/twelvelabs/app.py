"""Flask app of the local Twelve Labs: the API v1.3 subset our product uses, under /v1.3, so the official
`twelvelabs` SDK works against it through `base_url`; plus served media and an /_admin control plane."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request, send_file
from werkzeug.exceptions import HTTPException

from . import analyze as analyze_mod
from . import search as search_mod
from .analyze_tasks import FailureRule as AnalyzeFailureRule
from .errors import ApiError
from .faults import Fault, Faults
from .pipeline import Config, FailureRule, Pipeline, Rejected, filename_of
from .state import Index, Store, Task, Video, new_id, rfc3339
from .webhooks import Webhooks

log = logging.getLogger("twelvelabs.app")
# The index models SDK 1.3.x documents. Marengo 2.7 is gone from the docs and answers search differently
# (score/confidence, no transcription option); it is refused rather than imitated with 3.0's answers.
MODELS = {"marengo3.0", "pegasus1.2"}
MODEL_OPTIONS = {"visual", "audio"}
ADDONS = {"thumbnail"}
THUMB_TTL = 3600  # Twelve Labs thumbnail URLs expire after an hour


@dataclass
class Runtime:
    """Everything one app instance owns."""

    store: Store
    pipeline: Pipeline
    webhooks: Webhooks
    faults: Faults
    api_key: str | None
    search_ttl: float
    public_url: str | None
    url_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    calls: Counter = field(default_factory=Counter)


def create_app(api_key: str | None = None, index_seconds: float = 10.0, webhook_url: str | None = None,
               webhook_secret: str | None = None, data_dir: str | None = None, workers: int = 1,
               understanding: bool = True, search_ttl: float = 3600.0, allow_remote_fetch: bool = False,
               public_url: str | None = None, analyze_seconds: float = 5.0) -> Flask:
    """Build the stand-in. `api_key` None accepts any non-empty x-api-key; `index_seconds` is the time a task
    takes from creation to ready (longer if understanding the video takes longer)."""
    app = Flask("twelvelabs_local")
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024**3 + 1024**2
    data_dir = data_dir or tempfile.mkdtemp(prefix="twelvelabs-local-")
    store = Store()
    hooks = Webhooks(webhook_url, webhook_secret)
    cfg = Config(index_seconds=index_seconds, data_dir=data_dir, workers=workers, understanding=understanding,
                 allow_remote_fetch=allow_remote_fetch)
    rt = Runtime(store=store, pipeline=Pipeline(store, cfg, hooks), webhooks=hooks, faults=Faults(),
                 api_key=api_key, search_ttl=search_ttl, public_url=public_url)
    app.extensions["twelvelabs"] = rt
    app.extensions["twelvelabs.analyze"] = analyze_mod.make_tasks(rt.pipeline, hooks, analyze_seconds)
    app.register_blueprint(api, url_prefix="/v1.3")
    app.register_blueprint(analyze_mod.bp, url_prefix="/v1.3")
    app.register_blueprint(admin, url_prefix="/_admin")
    app.register_blueprint(served)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(code=exc.code, message=exc.message), exc.status

    @app.errorhandler(search_mod.SearchError)
    def _search_error(exc: search_mod.SearchError):
        return jsonify(code=exc.code, message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        codes = {404: "resource_not_exist", 405: "method_not_allowed", 413: "video_filesize_too_large"}
        return jsonify(code=codes.get(exc.code or 0, "parameter_invalid"), message=exc.description), exc.code

    @app.errorhandler(Exception)
    def _crash(exc: Exception):  # never a stack trace on the wire
        log.exception("unhandled error")
        return jsonify(code="internal_error", message="The local Twelve Labs hit an internal error."), 500

    @app.get("/health")
    @app.get("/_health")
    def health():
        return {"ok": True, "service": "twelvelabs-local"}

    return app


def rt() -> Runtime:
    return current_app.extensions["twelvelabs"]


def base_url() -> str:
    return (rt().public_url or request.host_url).rstrip("/")


# ================================ API v1.3 ===============================================================
api = Blueprint("api", __name__)


@api.before_request
@analyze_mod.bp.before_request
def _gate():
    r = rt()
    key = request.headers.get("x-api-key", "")
    if not key or (r.api_key is not None and not hmac.compare_digest(key.encode(), r.api_key.encode())):
        raise ApiError(401, "api_key_invalid", "The API key is missing or invalid.")
    rule = request.url_rule.rule if request.url_rule else request.path
    r.calls[(hashlib.sha256(key.encode()).hexdigest()[:12], f"{request.method} {rule.removeprefix('/v1.3')}")] += 1
    fault = r.faults.take(request.method, request.path.removeprefix("/v1.3"))
    if fault:
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(max(0, round(fault.retry_after)))
            headers["X-Ratelimit-Limit"] = "60"
            headers["X-Ratelimit-Remaining"] = "0"
            headers["X-Ratelimit-Reset"] = str(int(time.time() + fault.retry_after))
        if fault.body == "empty":
            return Response(b"", status=fault.status, headers=headers)
        code = fault.code or ("too_many_requests" if fault.status == 429 else "internal_error")
        body = json.dumps({"code": code, "message": fault.message or f"Injected fault {fault.status}."})
        return Response(body, status=fault.status, headers=headers, mimetype="application/json")
    return None


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        val = int(raw)
    except ValueError:
        raise ApiError(400, "parameter_invalid", f"{name} must be an integer.") from None
    if not lo <= val <= hi:
        raise ApiError(400, "parameter_invalid", f"{name} must be between {lo} and {hi}.")
    return val


def _paged(items: list[Any], render) -> dict:
    """Sort and cut a list by page/page_limit/sort_by/sort_option; out-of-range pages are empty (SDK pagers
    always ask for one page past the end)."""
    page = _int_arg("page", 1, 1, 10**6)
    limit = _int_arg("page_limit", 10, 1, 50)
    sort_by = request.args.get("sort_by") or "created_at"
    order = request.args.get("sort_option") or "desc"
    if sort_by not in ("created_at", "updated_at") or order not in ("asc", "desc"):
        raise ApiError(400, "parameter_invalid", "sort_by must be created_at|updated_at, sort_option asc|desc.")
    items = sorted(items, key=lambda x: (getattr(x, sort_by), x.id), reverse=order == "desc")
    total = len(items)
    chunk = items[(page - 1) * limit: page * limit]
    return {"data": [render(x) for x in chunk],
            "page_info": {"limit_per_page": limit, "page": page, "total_page": max(1, -(-total // limit)),
                          "total_results": total}}


# ---- indexes ---------------------------------------------------------------------------------------------
def _index_json(idx: Index) -> dict:
    vids = rt().store.index_videos(idx.id)
    return {"_id": idx.id, "index_name": idx.name, "models": idx.models, "addons": idx.addons,
            "video_count": len(vids),
            "total_duration": round(sum(float(v.system_metadata.get("duration") or 0) for v in vids), 3),
            "created_at": rfc3339(idx.created_at), "updated_at": rfc3339(idx.updated_at), "expires_at": None}


def _index(index_id: str, status: int = 404) -> Index:
    idx = rt().store.indexes.get(index_id)
    if idx is None:
        raise ApiError(status, "resource_not_exist", f"The index {index_id} does not exist.")
    return idx


@api.post("/indexes")
def create_index():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "parameter_invalid", "The request body must be a JSON object.")
    name = body.get("index_name")
    models = body.get("models")
    addons = body.get("addons") or []
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "parameter_not_provided", "index_name is required.")
    if not isinstance(models, list) or not models:
        raise ApiError(400, "parameter_not_provided", "models is required.")
    clean = []
    for m in models:
        if not isinstance(m, dict) or m.get("model_name") not in MODELS:
            raise ApiError(400, "parameter_invalid", f"model_name must be one of {sorted(MODELS)}.")
        opts = m.get("model_options") or []
        if not isinstance(opts, list) or not opts or set(opts) - MODEL_OPTIONS:
            raise ApiError(400, "parameter_invalid", "model_options must be a non-empty subset of visual, audio.")
        clean.append({"model_name": m["model_name"], "model_options": list(dict.fromkeys(opts))})
    if not isinstance(addons, list) or set(addons) - ADDONS:
        raise ApiError(400, "parameter_invalid", "addons may only contain thumbnail.")
    if addons and not any(m["model_name"].startswith("marengo") for m in clean):
        raise ApiError(400, "parameter_invalid", "Add-ons can only be enabled with a Marengo model.")
    store = rt().store
    with store.lock:
        if any(i.name == name for i in store.indexes.values()):
            raise ApiError(400, "index_name_already_exists", f"An index named {name!r} already exists.")
        now = time.time()
        idx = Index(id=new_id(), name=name, models=clean, addons=list(addons), created_at=now, updated_at=now)
        store.indexes[idx.id] = idx
    return {"_id": idx.id}, 201


@api.get("/indexes")
def list_indexes():
    store = rt().store
    name = request.args.get("index_name")
    with store.lock:
        items = [i for i in store.indexes.values() if name in (None, "", i.name)]
        return _paged(items, _index_json)


@api.get("/indexes/<index_id>")
def get_index(index_id: str):
    with rt().store.lock:
        return _index_json(_index(index_id))


@api.put("/indexes/<index_id>")
def rename_index(index_id: str):
    body = request.get_json(silent=True) or {}
    name = body.get("index_name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "parameter_not_provided", "index_name is required.")
    store = rt().store
    with store.lock:
        idx = _index(index_id)
        if any(i.name == name and i.id != index_id for i in store.indexes.values()):
            raise ApiError(400, "index_name_already_exists", f"An index named {name!r} already exists.")
        idx.name, idx.updated_at = name, time.time()
    return "", 204


@api.delete("/indexes/<index_id>")
def delete_index(index_id: str):
    store = rt().store
    with store.lock:
        _index(index_id)
        store.delete_index(index_id)
    return "", 204


# ---- tasks -----------------------------------------------------------------------------------------------
def _signed(path: str, **params: Any) -> str:
    """Absolute URL of a served file that stops working after THUMB_TTL seconds."""
    exp = int(time.time()) + THUMB_TTL
    parts = [f"{k}={v}" for k, v in params.items()] + [f"exp={exp}"]
    sig = hmac.new(rt().url_key, f"{path}?{'&'.join(parts)}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{base_url()}{path}?{'&'.join(parts)}&sig={sig}"


def thumb_url(video_id: str, at: float | None = None) -> str:
    return _signed(f"/thumbnails/{video_id}.jpg", **({} if at is None else {"t": f"{at:.2f}"}))


def _hls_json(video_id: str, ready: bool, updated_at: float) -> dict:
    return {"video_url": f"{base_url()}/hls/{video_id}/index.m3u8",
            "thumbnail_urls": [thumb_url(video_id)] if ready else [],
            "status": "COMPLETE" if ready else "PROCESSING", "updated_at": rfc3339(updated_at)}


def _task_json(t: Task, detail: bool) -> dict:
    sm = {k: t.system_metadata.get(k) for k in ("duration", "filename", "width", "height")}
    sm["filename"] = sm["filename"] or t.filename
    out: dict[str, Any] = {"_id": t.id, "index_id": t.index_id, "video_id": t.video_id, "status": t.status,
                           "created_at": rfc3339(t.created_at), "updated_at": rfc3339(t.updated_at),
                           "system_metadata": sm}
    if detail and t.enable_video_stream and t.status != "failed":
        out["hls"] = _hls_json(t.video_id, t.status == "ready", t.updated_at)
    if t.status == "failed" and t.error_reason:
        out["error_reason"] = t.error_reason
    return out


@api.post("/tasks")
def create_task():
    form = request.form
    index_id = (form.get("index_id") or "").strip()
    url = (form.get("video_url") or "").strip()
    upload = request.files.get("video_file")
    if not index_id:
        raise ApiError(400, "parameter_not_provided", "The index_id parameter is required.")
    if bool(url) == bool(upload):
        raise ApiError(400, "parameter_not_provided" if not url else "parameter_invalid",
                       "Provide exactly one of video_file or video_url.")
    meta_raw = form.get("user_metadata") or ""
    meta: dict = {}
    if meta_raw:
        try:
            meta = json.loads(meta_raw)
        except ValueError:
            raise ApiError(400, "parameter_invalid", "user_metadata must be a JSON-encoded object.") from None
        if not isinstance(meta, dict) or not all(isinstance(v, (str, int, float, bool)) for v in meta.values()):
            raise ApiError(400, "parameter_invalid", "user_metadata values must be strings, numbers or booleans.")
    r = rt()
    with r.store.lock:
        _index(index_id, status=400)
    upload_path = None
    if upload is not None:
        fd, upload_path = tempfile.mkstemp(prefix="upload-", dir=r.pipeline.config.data_dir)
        os.close(fd)
        upload.save(upload_path)
        filename = os.path.basename(upload.filename or "") or "upload"
    else:
        filename = filename_of(url)
    now = time.time()
    task = Task(id=new_id(), index_id=index_id, video_id=new_id(), created_at=now, updated_at=now,
                filename=filename, enable_video_stream=(form.get("enable_video_stream") or "").lower() == "true",
                user_metadata=meta, system_metadata={"filename": filename, "source_url": url or None})
    with r.store.lock:
        r.store.tasks[task.id] = task
    r.pipeline.start(task, url or None, upload_path)
    return {"_id": task.id, "video_id": task.video_id}, 200


@api.get("/tasks")
def list_tasks():
    store = rt().store
    index_id = request.args.get("index_id")
    statuses = set(request.args.getlist("status"))
    filename = request.args.get("filename")
    with store.lock:
        items = [t for t in store.tasks.values()
                 if (not index_id or t.index_id == index_id) and (not statuses or t.status in statuses)
                 and (not filename or t.filename == filename)]
        return _paged(items, lambda t: _task_json(t, detail=False))


def _task(task_id: str) -> Task:
    t = rt().store.tasks.get(task_id)
    if t is None:
        raise ApiError(404, "resource_not_exist", f"The task {task_id} does not exist.")
    return t


@api.get("/tasks/<task_id>")
def get_task(task_id: str):
    with rt().store.lock:
        return _task_json(_task(task_id), detail=True)


@api.delete("/tasks/<task_id>")
def delete_task(task_id: str):
    store = rt().store
    with store.lock:
        t = _task(task_id)
        if not t.is_terminal():
            raise ApiError(400, "task_cannot_be_deleted", "Only ready or failed tasks can be deleted.")
        if t.status == "ready" and t.video_id in store.videos:
            raise ApiError(400, "task_cannot_be_deleted", "Delete the task's video first.")
        store.tasks.pop(task_id)
    return "", 204


# ---- videos of an index ----------------------------------------------------------------------------------
def _listed_video_json(v: Video) -> dict:
    """A video as the list answers it: a "video vector" (SDK VideoVector) without user metadata or stream."""
    return {"_id": v.id, "created_at": rfc3339(v.created_at), "updated_at": rfc3339(v.updated_at),
            "indexed_at": rfc3339(v.indexed_at), "system_metadata": dict(v.system_metadata)}


def _video_json(v: Video, transcription: bool = False) -> dict:
    """A video as retrieve answers it: with user metadata, the stream when enabled, the transcript on request."""
    out: dict[str, Any] = {**_listed_video_json(v), "user_metadata": dict(v.user_metadata)}
    if v.enable_video_stream:
        out["hls"] = _hls_json(v.id, True, v.indexed_at or v.updated_at)
    if transcription:
        out["transcription"] = list(v.understanding.get("transcript") or [])
    return out


_NUMERIC = ("duration", "fps", "width", "height", "size")
_LIST_KEYS = {"page", "page_limit", "sort_by", "sort_option", "filename", "created_at", "updated_at"}


def _video_filter(v: Video) -> bool:
    for key, raw in request.args.items(multi=True):
        base, _, op = key.partition("[")
        op = op.rstrip("]")
        if base in _NUMERIC:
            try:
                want = float(raw)
            except ValueError:
                raise ApiError(400, "parameter_invalid", f"{key} must be a number.") from None
            have = float(v.system_metadata.get(base) or 0)
            if (op == "gte" and have < want) or (op == "lte" and have > want) or (not op and have != want):
                return False
        elif key == "filename":
            if v.system_metadata.get("filename") != raw:
                return False
        elif key not in _LIST_KEYS:  # the SDK flattens user_metadata filters into top-level keys
            have = v.user_metadata.get(key)
            if have is None or str(have).lower() != raw.lower():
                return False
    return True


@api.get("/indexes/<index_id>/videos")
def list_videos(index_id: str):
    store = rt().store
    with store.lock:
        _index(index_id)
        items = [v for v in store.index_videos(index_id) if _video_filter(v)]
        return _paged(items, _listed_video_json)


def _video(index_id: str, video_id: str) -> Video:
    _index(index_id)
    v = rt().store.videos.get(video_id)
    if v is None or v.index_id != index_id:
        raise ApiError(404, "resource_not_exist", f"The video {video_id} does not exist in index {index_id}.")
    return v


@api.get("/indexes/<index_id>/videos/<video_id>")
def get_video(index_id: str, video_id: str):
    with rt().store.lock:
        return _video_json(_video(index_id, video_id),
                           transcription=(request.args.get("transcription") or "").lower() == "true")


@api.route("/indexes/<index_id>/videos/<video_id>", methods=["PATCH", "PUT"])
def update_video(index_id: str, video_id: str):
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("user_metadata"), dict):
        raise ApiError(400, "parameter_invalid", "Send {\"user_metadata\": {...}}.")
    with rt().store.lock:
        v = _video(index_id, video_id)
        for k, val in body["user_metadata"].items():
            if val is None:
                v.user_metadata.pop(k, None)
            elif isinstance(val, (str, int, float, bool)):
                v.user_metadata[k] = val
            else:
                raise ApiError(400, "parameter_invalid", f"user_metadata {k} has an unsupported value.")
        v.updated_at = time.time()
    return "", 204


@api.delete("/indexes/<index_id>/videos/<video_id>")
def delete_video(index_id: str, video_id: str):
    store = rt().store
    with store.lock:
        v = _video(index_id, video_id)
        store.videos.pop(v.id)
        store.bump(index_id)
    for path in (v.path,):
        try:
            os.remove(path)
        except OSError:
            pass
    return "", 204


# ---- search ----------------------------------------------------------------------------------------------
@api.post("/search")
def search_create():
    r = rt()
    return search_mod.create(r.store, request.form, r.search_ttl, lambda v, at: thumb_url(v.id, at),
                             files=request.files, fetch=_fetch_image)


def _fetch_image(url: str) -> bytes:
    """A query_media_url image, fetched under the task rules (loopback only unless allowed), at most 5 MB."""
    folder = os.path.join(rt().pipeline.config.data_dir, "queries")
    os.makedirs(folder, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="query-", dir=folder)
    os.close(fd)
    try:
        rt().pipeline.download(url, path, limit=5 * 1024**2)
        with open(path, "rb") as fh:
            return fh.read()
    except Rejected as exc:
        code = "parameter_invalid"
        msg = "The query image is larger than 5 MB." if exc.code == "video_filesize_too_large" else \
            f"query_media_url could not be used: {exc.message}"
        raise search_mod.SearchError(code, msg) from None
    finally:
        os.remove(path)


@api.get("/search/<page_token>")
def search_page(page_token: str):
    # per request, as the real API: a page fetched without the flag (the SDK pager's later pages) has no metadata
    wanted = (request.args.get("include_user_metadata") or "").lower() == "true"
    return search_mod.retrieve(rt().store, page_token, wanted)


# ================================ served media ===========================================================
served = Blueprint("served", __name__)


@served.get("/thumbnails/<video_id>.jpg")
def thumbnail(video_id: str):
    r = rt()
    t = request.args.get("t")
    exp = request.args.get("exp", "")
    parts = ([f"t={t}"] if t is not None else []) + [f"exp={exp}"]
    want = hmac.new(r.url_key, f"/thumbnails/{video_id}.jpg?{'&'.join(parts)}".encode(),
                    hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(want, request.args.get("sig", "")) or not exp.isdigit() or int(exp) < time.time():
        raise ApiError(403, "url_expired", "The thumbnail URL is invalid or has expired.")
    with r.store.lock:
        v = r.store.videos.get(video_id)
    if v is None:
        raise ApiError(404, "resource_not_exist", "No such video.")
    path = r.pipeline.thumbnail_file(v, float(t) if t is not None else None)
    if path is None:
        raise ApiError(404, "resource_not_exist", "No thumbnail for this video.")
    return send_file(path, mimetype="image/jpeg", max_age=THUMB_TTL)


@served.get("/hls/<video_id>/<name>")
def hls(video_id: str, name: str):
    r = rt()
    with r.store.lock:
        v = r.store.videos.get(video_id)
    if v is None or not v.enable_video_stream:
        raise ApiError(404, "resource_not_exist", "No stream for this video.")
    folder = r.pipeline.hls_dir(v)
    path = os.path.join(folder or "", os.path.basename(name))
    if folder is None or not os.path.isfile(path):
        raise ApiError(404, "resource_not_exist", "No such stream file.")
    mime = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp2t"
    return send_file(path, mimetype=mime)


# ================================ control plane (tests, benchmarks) ======================================
admin = Blueprint("admin", __name__)


@admin.get("/state")
def admin_state():
    """Tasks (with their status timeline facts) and counts, for tests and benchmarks."""
    store = rt().store
    with store.lock:
        return {"indexes": len(store.indexes), "videos": len(store.videos),
                "tasks": {t.id: {"status": t.status, "video_id": t.video_id, "index_id": t.index_id,
                                 "filename": t.filename, "created_at": t.created_at, "updated_at": t.updated_at,
                                 "error_reason": t.error_reason} for t in store.tasks.values()}}


@admin.get("/stats")
def admin_stats():
    """API calls counted per api-key fingerprint (sha256[:12]) and route."""
    out: dict[str, dict[str, int]] = {}
    for (fp, route), n in rt().calls.items():
        out.setdefault(fp, {})[route] = n
    return {"calls": out, "faults_fired": rt().faults.fired}


@admin.post("/faults")
def admin_add_fault():
    body = request.get_json(silent=True) or {}
    try:
        fault = Fault(path=str(body.get("path", ".*")), method=str(body.get("method", "*")).upper(),
                      status=int(body.get("status", 429)), times=int(body.get("times", 1)),
                      retry_after=None if body.get("retry_after") is None else float(body["retry_after"]),
                      body=str(body.get("body", "json")), code=body.get("code"), message=body.get("message"))
        rt().faults.add(fault)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "parameter_invalid", f"Bad fault: {exc}") from None
    return {"faults": rt().faults.pending()}, 201


@admin.delete("/faults")
def admin_clear_faults():
    rt().faults.clear()
    return "", 204


@admin.post("/failures")
def admin_add_failure():
    """Make tasks whose filename/URL contains `match` fail at the end of indexing with code/message."""
    body = request.get_json(silent=True) or {}
    rule = FailureRule(match=str(body.get("match", "")), code=str(body.get("code", "video_file_broken")),
                       message=str(body.get("message", "The video could not be indexed.")),
                       times=None if body.get("times") is None else int(body["times"]))
    rt().pipeline.failure_rules.append(rule)
    return {"rules": len(rt().pipeline.failure_rules)}, 201


@admin.delete("/failures")
def admin_clear_failures():
    rt().pipeline.failure_rules.clear()
    return "", 204


@admin.post("/tasks/<task_id>/fail")
def admin_fail_task(task_id: str):
    """Fail one task now (before ready) with the given reason."""
    body = request.get_json(silent=True) or {}
    ok = rt().pipeline.fail(task_id, str(body.get("code", "video_file_broken")),
                            str(body.get("message", "The video could not be indexed.")))
    return {"failed": ok}


@admin.put("/config")
def admin_config():
    """Change the time of tasks created from now on: {"index_seconds": N} and/or {"analyze_seconds": N}."""
    body = request.get_json(silent=True) or {}
    out = {}
    for key in ("index_seconds", "analyze_seconds"):
        if key not in body:
            continue
        try:
            seconds = float(body[key])
        except (TypeError, ValueError):
            raise ApiError(400, "parameter_invalid", f"{key} must be a number.") from None
        if not 0 <= seconds <= 86400:
            raise ApiError(400, "parameter_invalid", f"{key} must be between 0 and 86400.")
        out[key] = seconds
    if not out:
        raise ApiError(400, "parameter_invalid", "Send {\"index_seconds\": N} and/or {\"analyze_seconds\": N}.")
    if "index_seconds" in out:
        rt().pipeline.config.index_seconds = out["index_seconds"]
    if "analyze_seconds" in out:
        current_app.extensions["twelvelabs.analyze"].seconds = out["analyze_seconds"]
    return out


@admin.post("/analyze/failures")
def admin_analyze_failure():
    """Make analysis tasks whose video URL contains `match` fail with `message` ({"match","message","times"})."""
    body = request.get_json(silent=True) or {}
    rule = AnalyzeFailureRule(match=str(body.get("match", "")),
                              message=str(body.get("message", "The video could not be analyzed.")),
                              times=None if body.get("times") is None else int(body["times"]))
    tasks = current_app.extensions["twelvelabs.analyze"]
    tasks.failure_rules.append(rule)
    return {"rules": len(tasks.failure_rules)}, 201


@admin.delete("/analyze/failures")
def admin_clear_analyze_failures():
    current_app.extensions["twelvelabs.analyze"].failure_rules.clear()
    return "", 204


@admin.post("/analyze/tasks/<task_id>/fail")
def admin_fail_analyze_task(task_id: str):
    """Fail one analysis task now with {"message"}."""
    body = request.get_json(silent=True) or {}
    ok = current_app.extensions["twelvelabs.analyze"].fail(task_id, str(body.get("message",
                                                                               "The video could not be analyzed.")))
    return {"failed": ok}


@admin.put("/webhook")
def admin_webhook():
    """Set (or clear with {"url": null}) the webhook endpoint and signing secret."""
    body = request.get_json(silent=True) or {}
    rt().webhooks.configure(body.get("url"), body.get("secret"), bool(body.get("enabled", True)))
    return {"url": rt().webhooks.url, "enabled": rt().webhooks.enabled}


@admin.get("/webhook/deliveries")
def admin_deliveries():
    return {"deliveries": [{"event_id": d.event_id, "type": d.type, "task_id": d.task_id, "attempts": d.attempts,
                            "status": d.status, "response": d.response, "delivered_at": d.delivered_at, "history": d.history}
                           for d in list(rt().webhooks.deliveries)]}

"""The iconik API subset (files, assets, collections, jobs, custom actions, users, settings) as iconik answers it."""
from __future__ import annotations

import datetime as dt
from typing import Any

import requests
from flask import Blueprint, Response, current_app, jsonify, request

from .config import JOB_STATUSES
from .model import ApiError, blob_key, now_iso, page_by_cursor, page_by_number
from .transfers import new_job, set_progress

bp = Blueprint("iconik_api", __name__)

CONTEXTS = ("ASSET", "COLLECTION", "BULK", "ASSET_SUBCLIP", "SHARED_ASSET", "SHARED_COLLECTION", "SAVED_SEARCH",
            "NONE")
JOB_TYPES = ("TRANSFER", "COPY", "DELETE", "TRANSCODE", "ANALYZE", "CUSTOM", "ARCHIVE", "RESTORE", "EXPORT",
             "IMPORT", "MOVE", "UNLINK", "DELETE_FILESET", "FACE_RECOGNITION")
BULK_FIELDS = {"object_ids", "object_type", "format_name", "allow_duplicate_transfers", "overwrite",
               "delete_original", "delete_only_from_source_folder", "keep_collection_structure",
               "keep_parent_collection_structure", "file_path", "preferred_original_storage_id"}


def S():
    """The running stand-in (state, blobs, engine, knobs)."""
    return current_app.extensions["iconik"]


def body_json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, ["Request body must be a JSON object"])
    return data


def created(obj: dict, status: int = 201) -> tuple[Response, int]:
    return jsonify(obj), status


def no_content() -> Response:
    return Response(status=204)


# ---- files: storages, bulk -------------------------------------------------------------------------------
@bp.get("/API/files/v1/storages/", strict_slashes=False)
def list_storages():
    items = list(S().store.storages.values())
    return jsonify(page_by_number(items, request.path, request.args, max_per_page=100))


@bp.get("/API/files/v1/storages/<storage_id>/", strict_slashes=False)
def get_storage(storage_id: str):
    return jsonify(S().store.storage(storage_id))


@bp.post("/API/files/v1/storages/<storage_id>/bulk/", strict_slashes=False)
def bulk_copy(storage_id: str):
    st = S()
    st.store.storage(storage_id)
    body = body_json()
    errors: dict[str, str] = {}
    unknown = set(body) - BULK_FIELDS
    if unknown:
        errors.update({k: "Unknown field." for k in sorted(unknown)})
    ids = body.get("object_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        errors["object_ids"] = "A non-empty list of ids is required."
    if body.get("object_type") not in ("assets", "collections", "saved_searches"):
        errors["object_type"] = "Must be one of: assets, collections, saved_searches."
    elif body["object_type"] == "saved_searches":
        errors["object_type"] = "saved_searches is not supported by the local stand-in."
    if "format_name" in body and not (isinstance(body["format_name"], str) and body["format_name"]):
        errors["format_name"] = "Not a valid string."
    if errors:
        raise ApiError(400, errors)
    job = st.engine.submit(storage_id, body, st.user_id_for(request))
    return created({"job_id": job["id"], "success": f"Queued copying of file sets to storage {storage_id}"}, 202)


# ---- files: formats, file sets, files ---------------------------------------------------------------------
@bp.get("/API/files/v1/assets/<asset_id>/formats/", strict_slashes=False)
def list_formats(asset_id: str):
    store = S().store
    with store.lock:
        store.asset(asset_id)
        items = [dict(store.formats[i]) for i in store.formats_by_asset.get(asset_id, [])
                 if store.formats[i]["status"] != "DELETED"]
    return jsonify(page_by_cursor(items, request.path, request.args))


@bp.post("/API/files/v1/assets/<asset_id>/formats/", strict_slashes=False)
def create_format(asset_id: str):
    store = S().store
    body = body_json()
    if not isinstance(body.get("name"), str) or not body["name"]:
        raise ApiError(400, {"name": "Missing data for required field."})
    with store.lock:
        store.asset(asset_id)
        extra = {k: body[k] for k in ("metadata", "storage_methods", "user_id") if k in body}
        return created(dict(store.add_format(asset_id, body["name"], **extra)))


@bp.get("/API/files/v1/assets/<asset_id>/formats/<format_id>/", strict_slashes=False)
def get_format(asset_id: str, format_id: str):
    store = S().store
    with store.lock:
        store.asset(asset_id)
        return jsonify(dict(store.format_of(asset_id, format_id)))


@bp.get("/API/files/v1/assets/<asset_id>/formats/<format_id>/storages/<storage_id>/file_sets/",
        strict_slashes=False)
def list_format_storage_file_sets(asset_id: str, format_id: str, storage_id: str):
    store = S().store
    with store.lock:
        store.asset(asset_id)
        store.storage(storage_id)
        fmt = store.formats.get(format_id)
        if fmt is None or fmt["asset_id"] != asset_id:
            raise ApiError(404, ["FileSets for this asset don't exist"])
        items = [dict(store.file_sets[i]) for i in store.file_sets_by_asset.get(asset_id, [])
                 if store.file_sets[i]["format_id"] == format_id and store.file_sets[i]["storage_id"] == storage_id
                 and store.file_sets[i]["status"] != "DELETED"]
    return jsonify(page_by_cursor(items, request.path, request.args))


@bp.get("/API/files/v1/assets/<asset_id>/file_sets/", strict_slashes=False)
def list_file_sets(asset_id: str):
    store = S().store
    with store.lock:
        store.asset(asset_id)
        items = [dict(store.file_sets[i]) for i in store.file_sets_by_asset.get(asset_id, [])]
    return jsonify(page_by_cursor(items, request.path, request.args))


@bp.post("/API/files/v1/assets/<asset_id>/file_sets/", strict_slashes=False)
def create_file_set(asset_id: str):
    store = S().store
    body = body_json()
    missing = {k: "Missing data for required field." for k in ("format_id", "storage_id", "name", "base_dir")
               if not isinstance(body.get(k), str)}
    if missing:
        raise ApiError(400, missing)
    with store.lock:
        store.asset(asset_id)
        store.storage(body["storage_id"])
        store.format_of(asset_id, body["format_id"])
        rec = store.add_file_set(asset_id, body["format_id"], body["storage_id"], body["name"], body["base_dir"],
                                 component_ids=list(body.get("component_ids") or []))
        return created(dict(rec))


@bp.get("/API/files/v1/assets/<asset_id>/file_sets/<file_set_id>/", strict_slashes=False)
def get_file_set(asset_id: str, file_set_id: str):
    store = S().store
    with store.lock:
        store.asset(asset_id)
        return jsonify(dict(store.file_set(asset_id, file_set_id)))


@bp.delete("/API/files/v1/assets/<asset_id>/file_sets/<file_set_id>/", strict_slashes=False)
def delete_file_set(asset_id: str, file_set_id: str):
    st = S()
    with st.store.lock:
        fs = st.store.file_set(asset_id, file_set_id)
        fs.update(status="DELETED", date_deleted=fs.get("date_deleted") or now_iso(), date_modified=now_iso(),
                  deleted_by_user=st.user_id_for(request))
        for fid in st.store.files_by_set.get(file_set_id, []):
            st.store.files[fid]["file_set_status"] = "DELETED"
        snapshot = dict(fs)
    if request.args.get("immediately", "").lower() == "true":
        st.purge_file_set(file_set_id)
        return no_content()
    return jsonify(snapshot)


@bp.delete("/API/files/v1/assets/<asset_id>/file_sets/<file_set_id>/purge/", strict_slashes=False)
def purge_file_set(asset_id: str, file_set_id: str):
    st = S()
    with st.store.lock:
        fs = st.store.file_set(asset_id, file_set_id)
        if fs["status"] != "DELETED":
            raise ApiError(400, ["File set must be deleted before it can be purged"])
    st.purge_file_set(file_set_id)
    return no_content()


@bp.get("/API/files/v1/assets/<asset_id>/file_sets/<file_set_id>/files/", strict_slashes=False)
def list_file_set_files(asset_id: str, file_set_id: str):
    store = S().store
    with store.lock:
        store.file_set(asset_id, file_set_id)
        items = [dict(store.files[i]) for i in store.files_by_set.get(file_set_id, [])]
    return jsonify(page_by_cursor(items, request.path, request.args))


@bp.get("/API/files/v1/assets/<asset_id>/files/", strict_slashes=False)
def list_files(asset_id: str):
    store = S().store
    with store.lock:
        store.asset(asset_id)
        items = [dict(store.files[i]) for i in store.files_by_asset.get(asset_id, [])]
    return jsonify(page_by_cursor(items, request.path, request.args))


@bp.post("/API/files/v1/assets/<asset_id>/files/", strict_slashes=False)
def create_file(asset_id: str):
    st = S()
    body = body_json()
    missing = {k: "Missing data for required field." for k in ("file_set_id", "original_name")
               if not isinstance(body.get(k), str)}
    if missing:
        raise ApiError(400, missing)
    with st.store.lock:
        st.store.asset(asset_id)
        fs = st.store.file_set(asset_id, body["file_set_id"])
        rec = st.store.add_file(fs, body["original_name"], size=body.get("size"), checksum=body.get("checksum"),
                                status="OPEN", storage_method=st.store.storages[fs["storage_id"]]["method"])
        rec["upload_url"] = f"{request.host_url.rstrip('/')}/_admin/upload/{asset_id}/{rec['id']}"
        rec["upload_method"] = "PUT"
        return created(dict(rec))


@bp.get("/API/files/v1/assets/<asset_id>/files/<file_id>/", strict_slashes=False)
def get_file(asset_id: str, file_id: str):
    store = S().store
    with store.lock:
        return jsonify(dict(store.file(asset_id, file_id)))


@bp.patch("/API/files/v1/assets/<asset_id>/files/<file_id>/", strict_slashes=False)
def patch_file(asset_id: str, file_id: str):
    store = S().store
    body = body_json()
    with store.lock:
        rec = store.file(asset_id, file_id)
        for key in ("status", "size", "checksum", "name"):
            if key in body:
                rec[key] = body[key]
        rec["date_modified"] = now_iso()
        return jsonify(dict(rec))


# ---- assets and collections ------------------------------------------------------------------------------
@bp.post("/API/assets/v1/assets/", strict_slashes=False)
def create_asset():
    store = S().store
    body = body_json()
    if not isinstance(body.get("title"), str) or not body["title"]:
        raise ApiError(400, {"title": "Missing data for required field."})
    with store.lock:
        if body.get("collection_id"):
            store.collection(body["collection_id"])
        return created(dict(store.add_asset(body["title"], collection_id=body.get("collection_id"))))


@bp.get("/API/assets/v1/assets/<asset_id>/", strict_slashes=False)
def get_asset(asset_id: str):
    store = S().store
    with store.lock:
        return jsonify(dict(store.asset(asset_id)))


@bp.delete("/API/assets/v1/assets/<asset_id>/", strict_slashes=False)
def delete_asset(asset_id: str):
    store = S().store
    with store.lock:
        store.asset(asset_id)["status"] = "DELETED"
    return no_content()


@bp.delete("/API/assets/v1/assets/<asset_id>/purge/", strict_slashes=False)
def purge_asset(asset_id: str):
    st = S()
    with st.store.lock:
        asset = st.store.assets.get(asset_id)
        if asset is None or asset["status"] != "DELETED":
            raise ApiError(404, ["Deleted asset doesn't exist"])
        sets = list(st.store.file_sets_by_asset.get(asset_id, []))
    for fs_id in sets:
        st.purge_file_set(fs_id)
    with st.store.lock:
        st.store.assets.pop(asset_id, None)
        for kids in st.store.children.values():
            if ("assets", asset_id) in kids:
                kids.remove(("assets", asset_id))
    return no_content()


@bp.post("/API/assets/v1/collections/", strict_slashes=False)
def create_collection():
    store = S().store
    body = body_json()
    if not isinstance(body.get("title"), str) or not body["title"]:
        raise ApiError(400, {"title": "Missing data for required field."})
    with store.lock:
        if body.get("parent_id"):
            store.collection(body["parent_id"])
        return created(dict(store.add_collection(body["title"], parent_id=body.get("parent_id"))))


@bp.get("/API/assets/v1/collections/<collection_id>/", strict_slashes=False)
def get_collection(collection_id: str):
    store = S().store
    with store.lock:
        return jsonify(dict(store.collection(collection_id)))


@bp.get("/API/assets/v1/collections/<collection_id>/contents/", strict_slashes=False)
def collection_contents(collection_id: str):
    store = S().store
    raw_types = request.args.get("object_types")
    types = {t.strip() for t in raw_types.split(",")} if raw_types else {"assets", "collections"}
    with store.lock:
        store.collection(collection_id)
        items = []
        for kind, oid in store.children.get(collection_id, []):
            if kind not in types:
                continue
            rec = (store.assets if kind == "assets" else store.collections).get(oid)
            if rec is None or rec["status"] == "DELETED":
                continue
            item = {"id": oid, "object_type": kind, "title": rec["title"], "status": rec["status"],
                    "date_created": rec["date_created"], "date_modified": rec["date_modified"]}
            if kind == "assets":
                item.update(type=rec["type"], archive_status=rec["archive_status"])
            items.append(item)
    return jsonify(page_by_number(items, request.path, request.args, max_per_page=1000,
                                  keep=("object_types", "sort", "filter")))


@bp.post("/API/assets/v1/collections/<collection_id>/contents/", strict_slashes=False)
def add_collection_content(collection_id: str):
    store = S().store
    body = body_json()
    kind, oid = body.get("object_type"), body.get("object_id")
    if kind not in ("assets", "collections") or not isinstance(oid, str):
        raise ApiError(400, {"object_type": "Must be assets or collections.", "object_id": "Required."})
    with store.lock:
        (store.asset if kind == "assets" else store.collection)(oid)
        store.add_child(collection_id, kind, oid)
    return created({"object_id": oid, "object_type": kind})


# ---- custom actions --------------------------------------------------------------------------------------
def _context(context: str) -> str:
    if context not in CONTEXTS:
        raise ApiError(400, {"context": f"Must be one of: {', '.join(CONTEXTS)}."})
    return context


def _action(context: str, action_id: str) -> dict:
    act = S().store.custom_actions.get(action_id)
    if act is None or act["context"] != context:
        raise ApiError(404, ["Custom action doesn't exist"])
    return act


@bp.get("/API/assets/v1/custom_actions/", strict_slashes=False)
def list_actions():
    store = S().store
    with store.lock:
        return jsonify({"objects": [dict(a) for a in store.custom_actions.values()]})


@bp.get("/API/assets/v1/custom_actions/<context>/", strict_slashes=False)
def list_actions_in_context(context: str):
    store = S().store
    _context(context)
    with store.lock:
        return jsonify({"objects": [dict(a) for a in store.custom_actions.values() if a["context"] == context]})


@bp.post("/API/assets/v1/custom_actions/<context>/", strict_slashes=False)
def create_action(context: str):
    st = S()
    _context(context)
    body = body_json()
    errors = {k: "Missing data for required field." for k in ("title", "url") if not isinstance(body.get(k), str)}
    if body.get("type", "POST") not in ("POST", "OPEN"):
        errors["type"] = "Must be one of: OPEN, POST."
    if "headers" in body and not isinstance(body["headers"], dict):
        errors["headers"] = "Not a valid mapping type."
    if errors:
        raise ApiError(400, errors)
    ts = now_iso()
    from .model import new_id
    rec = {"id": new_id(), "context": context, "title": body["title"], "url": body["url"],
           "type": body.get("type", "POST"), "headers": dict(body.get("headers") or {}),
           "app_id": body.get("app_id") or request.headers.get("App-ID"), "metadata_view": body.get("metadata_view"),
           "disabled": bool(body.get("disabled", False)), "status": "HEALTHY", "last_error": None,
           "last_error_date": None, "system_domain_id": st.config.system_domain_id, "date_created": ts,
           "date_modified": ts}
    with st.store.lock:
        st.store.custom_actions[rec["id"]] = rec
    return created(dict(rec))


@bp.get("/API/assets/v1/custom_actions/<context>/<action_id>/", strict_slashes=False)
def get_action(context: str, action_id: str):
    with S().store.lock:
        return jsonify(dict(_action(context, action_id)))


@bp.route("/API/assets/v1/custom_actions/<context>/<action_id>/", methods=["PUT", "PATCH"], strict_slashes=False)
def update_action(context: str, action_id: str):
    body = body_json()
    with S().store.lock:
        act = _action(context, action_id)
        for key in ("title", "url", "type", "headers", "app_id", "metadata_view", "disabled"):
            if key in body:
                act[key] = body[key]
        act["date_modified"] = now_iso()
        return jsonify(dict(act))


@bp.delete("/API/assets/v1/custom_actions/<context>/<action_id>/", strict_slashes=False)
def delete_action(context: str, action_id: str):
    store = S().store
    with store.lock:
        _action(context, action_id)
        del store.custom_actions[action_id]
    return no_content()


@bp.post("/API/assets/v1/custom_actions/<context>/<action_id>/callback/", strict_slashes=False)
def action_callback(context: str, action_id: str):
    """iconik 'schedules' the call of the action; the stand-in makes it now and reports what came back."""
    st = S()
    body = body_json()
    with st.store.lock:
        act = dict(_action(context, action_id))
    delivery = st.fire_action(act, body, user_id=st.user_id_for(request))
    return jsonify({"redirect_url": None, "delivery": delivery})


# ---- jobs --------------------------------------------------------------------------------------------------
def _job_updates(body: dict, *, creating: bool) -> dict:
    errors: dict[str, str] = {}
    if creating:
        for key in ("title", "type", "status"):
            if not isinstance(body.get(key), str) or not body[key]:
                errors[key] = "Missing data for required field."
    if "status" in body and body["status"] not in JOB_STATUSES:
        errors["status"] = f"Must be one of: {', '.join(JOB_STATUSES)}."
    if "type" in body and body.get("type") not in JOB_TYPES:
        errors["type"] = f"Must be one of: {', '.join(JOB_TYPES)}."
    for key in ("progress_processed", "progress_total"):
        if key in body and body[key] is not None and (not isinstance(body[key], int) or body[key] < 0):
            errors[key] = "Not a valid integer."
    if errors:
        raise ApiError(400, errors)
    allowed = ("title", "type", "status", "object_type", "object_id", "parent_id", "message", "error_message",
               "metadata", "progress_processed", "progress_total", "job_context", "action_context", "custom_type",
               "related_objects")
    return {k: body[k] for k in allowed if k in body}


@bp.get("/API/jobs/v1/jobs/", strict_slashes=False)
def list_jobs():
    store = S().store
    args = request.args
    with store.lock:
        items = [dict(j) for j in store.jobs.values()]
    for key in ("parent_id", "object_id", "status", "type"):
        if args.get(key):
            wanted = set(args[key].split(","))
            items = [j for j in items if str(j.get(key)) in wanted]
    if args.get("ids"):
        wanted = set(args["ids"].split(","))
        items = [j for j in items if j["id"] in wanted]
    return jsonify(page_by_number(items, request.path, args, max_per_page=100,
                                  keep=("parent_id", "object_id", "status", "type", "ids")))


@bp.post("/API/jobs/v1/jobs/", strict_slashes=False)
def create_job():
    st = S()
    fields = _job_updates(body_json(), creating=True)
    job = new_job(st.store, created_by=st.user_id_for(request), **fields)
    with st.store.lock:
        if fields["status"] == "STARTED":
            job["started_at"] = now_iso()
        set_progress(job)
        return created(dict(job))


@bp.get("/API/jobs/v1/jobs/<job_id>/", strict_slashes=False)
def get_job(job_id: str):
    store = S().store
    with store.lock:
        job = store.jobs.get(job_id)
        if job is None:
            raise ApiError(404, ["Job does not exist"])
        return jsonify(dict(job))


@bp.route("/API/jobs/v1/jobs/<job_id>/", methods=["PATCH", "PUT"], strict_slashes=False)
def update_job(job_id: str):
    store = S().store
    fields = _job_updates(body_json(), creating=request.method == "PUT")
    with store.lock:
        job = store.jobs.get(job_id)
        if job is None:
            raise ApiError(404, ["Job does not exist"])
        job.update(fields)
        if fields.get("status") == "STARTED" and not job.get("started_at"):
            job["started_at"] = now_iso()
        if fields.get("status") in ("FINISHED", "FINISHED_WITH_WARNING", "FAILED", "ABORTED", "SKIPPED"):
            job["completed_at"] = job.get("completed_at") or now_iso()
        set_progress(job)
        return jsonify(dict(job))


# ---- users, settings ---------------------------------------------------------------------------------------
@bp.get("/API/users/v1/users/current/", strict_slashes=False)
def current_user():
    st = S()
    return jsonify({"id": st.user_id_for(request), "email": "editor@example.com", "first_name": "Local",
                    "last_name": "Editor", "status": "ACTIVE", "system_domain_id": st.config.system_domain_id})


@bp.get("/API/settings/v1/system/current/", strict_slashes=False)
def current_system():
    return jsonify({"system_domain_id": S().config.system_domain_id, "name": "local stand-in"})


def custom_action_payload(act: dict, body: dict, *, user_id: str, system_domain_id: str, token: str) -> dict:
    """The JSON body iconik POSTs to a custom action's URL (contracts 1.2)."""
    return {
        "user_id": user_id,
        "system_domain_id": system_domain_id,
        "context": act["context"],
        "action_id": act["id"],
        "asset_ids": list(body.get("asset_ids") or []),
        "collection_ids": list(body.get("collection_ids") or []),
        "saved_search_ids": list(body.get("saved_search_ids") or []),
        "metadata_view_id": body.get("metadata_view_id"),
        "metadata_values": body.get("metadata_values"),
        # iconik sends this one without a timezone
        "date_created": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(),
        "auth_token": token,
    }


def post_action(url: str, headers: dict[str, str], payload: dict, timeout: float) -> dict:
    """POST a custom action payload like iconik does; report status, body and time (never raises)."""
    import time

    started = time.monotonic()
    try:
        resp = requests.post(url, json=payload, headers={**headers, "User-Agent": "iconik-standin"}, timeout=timeout)
        return {"status": resp.status_code, "body": resp.text[:2000], "elapsed_ms": int(1000 * (time.monotonic() - started)),
                "content_type": resp.headers.get("Content-Type"), "headers": dict(resp.headers)}
    except requests.RequestException as exc:
        return {"status": None, "error": type(exc).__name__, "elapsed_ms": int(1000 * (time.monotonic() - started))}


__all__ = ["blob_key", "bp", "custom_action_payload", "post_action"]

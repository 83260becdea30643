"""Admin routes of the stand-in (`/_admin/...`, no auth, never part of iconik): knobs, seeding, counters, state."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from .model import ApiError, blob_key, now_iso
from .seed import Seeder
from .transfers import set_progress

bp = Blueprint("iconik_admin", __name__, url_prefix="/_admin")


def S():
    return current_app.extensions["iconik"]


def body_json() -> dict:
    data = request.get_json(silent=True)
    if data is None and not request.get_data():
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, ["admin body must be a JSON object"])
    return data


@bp.get("/health")
def health():
    return jsonify({"ok": True})


@bp.get("/info")
def info():
    st = S()
    c = st.config
    return jsonify({"b2_storage_id": c.b2_storage_id, "ll_storage_id": c.ll_storage_id,
                    "system_domain_id": c.system_domain_id, "user_id": c.user_id,
                    "bucket": c.bucket, "prefix": st.blobs[c.b2_storage_id].prefix,
                    "s3_endpoint": c.s3_endpoint, "lucidlink_dir": str(st.blobs[c.ll_storage_id].root),
                    "knobs": st.knob_view()})


@bp.route("/config", methods=["GET", "POST"])
def config():
    st = S()
    if request.method == "POST":
        st.apply_knobs(body_json())
    return jsonify(st.knob_view())


@bp.route("/faults", methods=["POST", "DELETE"])
def faults():
    st = S()
    if request.method == "DELETE":
        st.faults.set([])
    else:
        st.faults.add(body_json())
    st.knobs.faults = st.faults.to_list()
    return jsonify(st.faults.to_list())


@bp.route("/copy_faults", methods=["POST", "DELETE"])
def copy_faults():
    st = S()
    merged = {} if request.method == "DELETE" else {**st.knobs.copy_faults, **body_json()}
    st.apply_knobs({"copy_faults": merged})
    return jsonify(st.knobs.copy_faults)


@bp.post("/seed")
def seed():
    st = S()
    return jsonify(Seeder(st.store, st.blobs, st.aliases).run(body_json())), 201


@bp.get("/stats")
def stats():
    return jsonify(S().stats.snapshot())


@bp.post("/stats/reset")
def stats_reset():
    S().stats.reset()
    return jsonify(S().stats.snapshot())


@bp.get("/requests")
def requests_log():
    items = S().stats.requests()
    if request.args.get("path"):
        items = [i for i in items if request.args["path"] in i["path"]]
    if request.args.get("method"):
        items = [i for i in items if i["method"] == request.args["method"].upper()]
    limit = int(request.args.get("limit", 0) or 0)
    return jsonify(items[-limit:] if limit else items)


@bp.post("/reset")
def reset():
    S().reset(wipe_storage=bool(body_json().get("wipe_storage")))
    return jsonify({"ok": True})


@bp.post("/wait_idle")
def wait_idle():
    timeout = float(body_json().get("timeout", 30))
    return jsonify({"idle": S().engine.wait_idle(min(timeout, 600))})


@bp.get("/assets/<asset_id>")
def asset_dump(asset_id: str):
    """Everything about one asset, with whether each file's bytes really exist on its storage and their size."""
    st = S()
    with st.store.lock:
        asset = st.store.assets.get(asset_id)
        if asset is None:
            raise ApiError(404, ["Asset doesn't exist"])
        formats = {fid: dict(st.store.formats[fid]) for fid in st.store.formats_by_asset.get(asset_id, [])}
        sets = [dict(st.store.file_sets[i]) for i in st.store.file_sets_by_asset.get(asset_id, [])]
        files = {i: dict(st.store.files[i]) for s in sets for i in st.store.files_by_set.get(s["id"], [])}
    out = []
    for fs in sets:
        fs["format_name"] = formats.get(fs["format_id"], {}).get("name")
        fs["files"] = []
        for f in files.values():
            if f["file_set_id"] != fs["id"]:
                continue
            blobs = st.blobs.get(f["storage_id"])
            f["blob_size"] = blobs.stat(blob_key(f)) if blobs is not None else None
            fs["files"].append(f)
        out.append(fs)
    return jsonify({"asset": dict(asset), "formats": list(formats.values()), "file_sets": out})


@bp.get("/jobs")
def jobs():
    st = S()
    with st.store.lock:
        return jsonify([dict(j) for j in st.store.jobs.values()])


@bp.post("/jobs/<job_id>")
def force_job(job_id: str):
    """Set a job's status by hand (finish a never-ending job, abort one)."""
    st = S()
    body = body_json()
    with st.store.lock:
        job = st.store.jobs.get(job_id)
        if job is None:
            raise ApiError(404, ["Job does not exist"])
        job.update({k: body[k] for k in ("status", "message", "error_message") if k in body})
        if job["status"] in ("FINISHED", "FINISHED_WITH_WARNING", "FAILED", "ABORTED", "SKIPPED"):
            job["completed_at"] = job.get("completed_at") or now_iso()
        set_progress(job)
        return jsonify(dict(job))


@bp.post("/tokens")
def add_token():
    """Issue an auth token bound to an app id (as iconik does for a custom action call)."""
    st = S()
    body = body_json()
    token = st.store.issue_token(body.get("app_id"))
    return jsonify({"auth_token": token}), 201


@bp.post("/tokens/revoke")
def revoke_token():
    """Make a token invalid from now on (an expired token mid-run)."""
    st = S()
    token = body_json().get("auth_token")
    if not isinstance(token, str) or not token:
        raise ApiError(400, ["auth_token required"])
    st.revoked.add(token)
    return jsonify({"revoked": True})


@bp.put("/upload/<asset_id>/<file_id>")
def upload(asset_id: str, file_id: str):
    """Receive the bytes of a file created through POST .../files/ (the stand-in's upload_url)."""
    st = S()
    with st.store.lock:
        rec = st.store.file(asset_id, file_id)
        blobs = st.blobs[rec["storage_id"]]
    size, md5 = blobs.write(blob_key(rec), iter(lambda: request.stream.read(1024 * 1024), b""))
    with st.store.lock:
        rec.update(size=size, checksum=md5 if st.knobs.checksums else None, status="CLOSED", date_modified=now_iso())
        return jsonify(dict(rec))


@bp.post("/fire")
def fire():
    """Deliver a custom action call to any URL like iconik would (no stored action needed).

    Body: url, headers (e.g. {"x-bz-secret": ...}), context, asset_ids, collection_ids, app_id.
    """
    st = S()
    body = body_json()
    if not isinstance(body.get("url"), str):
        raise ApiError(400, ["url required"])
    from .model import new_id

    act = {"id": body.get("action_id") or new_id(), "context": body.get("context", "BULK"), "url": body["url"],
           "headers": dict(body.get("headers") or {}), "app_id": body.get("app_id")}
    return jsonify(st.fire_action(act, body, user_id=st.config.user_id))


@bp.errorhandler(ValueError)
def _bad(exc: ValueError) -> Response:
    resp = jsonify({"errors": [str(exc)]})
    resp.status_code = 400
    return resp

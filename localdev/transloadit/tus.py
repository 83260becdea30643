"""tus 1.0.0 core + creation (+ creation-with-upload, termination) at /resumable/files/, as tus-js-client uses it."""

from __future__ import annotations

import base64
import binascii
import os

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import ClientDisconnected

from .service import ApiError, Service

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination"
CHUNK = 1 << 20

bp = Blueprint("tus", __name__)


def _service() -> Service:
    return current_app.extensions["transloadit"]


def _tus_headers(resp: Response) -> Response:
    resp.headers["Tus-Resumable"] = TUS_VERSION
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _error(status: int, message: str, code: str = "TUS_ERROR") -> Response:
    resp = jsonify({"error": code, "message": message})
    resp.status_code = status
    if status == 412:
        resp.headers["Tus-Version"] = TUS_VERSION
    return _tus_headers(resp)


def parse_metadata(raw: str) -> dict[str, str]:
    """Decode `Upload-Metadata: key b64,key b64,...` (a key may come without a value)."""
    out: dict[str, str] = {}
    if not raw.strip():
        return out
    for pair in raw.split(","):
        parts = pair.strip().split(" ")
        if not parts[0] or len(parts) > 2:
            raise ValueError("malformed Upload-Metadata")
        value = ""
        if len(parts) == 2:
            value = base64.b64decode(parts[1], validate=True).decode("utf-8")
        out[parts[0]] = value
    return out


def _method() -> str:
    override = request.headers.get("X-HTTP-Method-Override", "").upper()
    return override if request.method == "POST" and override in ("PATCH", "DELETE", "HEAD") else request.method


@bp.route("/resumable/files/", methods=["OPTIONS"], strict_slashes=False)
@bp.route("/resumable/files/<upload_id>", methods=["OPTIONS"])
def options(upload_id: str | None = None) -> Response:
    """Protocol discovery (also answers CORS preflights; app.py adds the CORS headers)."""
    resp = Response(status=204)
    resp.headers["Tus-Version"] = TUS_VERSION
    resp.headers["Tus-Extension"] = TUS_EXTENSIONS
    resp.headers["Tus-Max-Size"] = str(_service().settings.max_upload_bytes)
    return _tus_headers(resp)


@bp.before_request
def require_tus_version() -> Response | None:
    if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
        return _error(412, "Tus-Resumable: 1.0.0 is required", "TUS_VERSION_UNSUPPORTED")
    return None


@bp.route("/resumable/files/", methods=["POST"], strict_slashes=False)
def create() -> Response:
    """Creation: Upload-Length + Upload-Metadata (assembly_url) -> 201 + absolute Location."""
    if _method() != "POST":
        return _error(405, "method override is only allowed on an upload URL")
    svc = _service()
    if request.headers.get("Upload-Defer-Length"):
        return _error(400, "Upload-Defer-Length is not supported; send Upload-Length")
    try:
        length = int(request.headers.get("Upload-Length", ""))
        if length < 0:
            raise ValueError
    except ValueError:
        return _error(400, "Upload-Length must be a non-negative integer")
    if length > svc.settings.max_upload_bytes:
        return _error(413, f"Upload-Length exceeds Tus-Max-Size ({svc.settings.max_upload_bytes})", "MAX_SIZE_EXCEEDED")
    raw_meta = request.headers.get("Upload-Metadata", "")
    try:
        metadata = parse_metadata(raw_meta)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return _error(400, "Upload-Metadata is malformed (key base64,key base64,...)")
    try:
        assembly = svc.assembly_for_upload(metadata)
        upload = svc.new_tus_upload(assembly, length, metadata, raw_meta)
    except ApiError as exc:
        return _error(exc.http_status, exc.message, exc.code)
    resp = Response(status=201)
    resp.headers["Location"] = upload.url
    if request.headers.get("Content-Type") == "application/offset+octet-stream":
        with upload.lock:
            status, message = _append(svc, upload, 0)
        if status != 204:
            return _error(status, message)
        resp.headers["Upload-Offset"] = str(upload.offset)
    elif length == 0:
        svc.tus_progress(upload)  # an empty file is complete as soon as it exists
    return _tus_headers(resp)


def _append(svc: Service, upload, offset: int) -> tuple[int, str]:
    """Write the request body at `offset` (lock held). A dropped connection keeps what arrived."""
    if offset != upload.offset:
        return 409, f"Upload-Offset {offset} does not match the current offset {upload.offset}"
    remaining = upload.length - upload.offset
    written = 0
    too_long = False
    try:
        with open(upload.path, "r+b") as fh:
            fh.seek(upload.offset)
            while True:
                chunk = request.stream.read(CHUNK)
                if not chunk:
                    break
                if written + len(chunk) > remaining:
                    too_long = True
                    break
                fh.write(chunk)
                written += len(chunk)
            if too_long:
                fh.truncate(upload.offset)
                written = 0
            else:
                fh.flush()
                os.fsync(fh.fileno())
    except ClientDisconnected:
        pass
    if too_long:
        return 400, "the body is longer than the remaining Upload-Length"
    upload.offset += written
    svc.tus_progress(upload)
    return 204, ""


@bp.route("/resumable/files/<upload_id>", methods=["HEAD", "PATCH", "DELETE", "POST", "GET"])
def upload_resource(upload_id: str) -> Response:
    svc = _service()
    method = _method()
    upload = svc.registry.get_upload(upload_id)
    if upload is None:
        return _error(404, "unknown or terminated upload", "TUS_UPLOAD_NOT_FOUND")
    if method == "HEAD":
        resp = Response(status=200)
        resp.headers["Upload-Offset"] = str(upload.offset)
        resp.headers["Upload-Length"] = str(upload.length)
        if upload.raw_metadata:
            resp.headers["Upload-Metadata"] = upload.raw_metadata
        return _tus_headers(resp)
    if method == "DELETE":
        svc.tus_terminated(upload)
        return _tus_headers(Response(status=204))
    if method != "PATCH":
        return _error(405, "use HEAD, PATCH or DELETE on an upload URL")
    if request.headers.get("Content-Type") != "application/offset+octet-stream":
        return _error(415, "Content-Type must be application/offset+octet-stream")
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        return _error(400, "Upload-Offset must be an integer")
    assembly = svc.registry.get(upload.assembly_id)
    if assembly is None or assembly.terminal:
        return _error(410, "the assembly of this upload has ended", "TUS_ASSEMBLY_NOT_UPLOADING")
    if not upload.lock.acquire(blocking=False):
        return _error(423, "another request is writing to this upload")
    try:
        status, message = _append(svc, upload, offset)
    finally:
        upload.lock.release()
    if status != 204:
        return _error(status, message)
    resp = Response(status=204)
    resp.headers["Upload-Offset"] = str(upload.offset)
    return _tus_headers(resp)

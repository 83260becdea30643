"""What an Assembly Status means for a video: completed (with stored keys and media facts), failed, or running."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from mam.http import JsonError, parse_json
from mam.media_keys import upload_prefix
from mam.uploads.template import (
    STEP_IMPORTED,
    STORE_ORIGINAL,
    STORE_THUMBNAIL,
    STORE_WEB,
)

COMPLETED, FAILED, RUNNING = "completed", "failed", "running"
RUNNING_OK = {"ASSEMBLY_UPLOADING", "ASSEMBLY_EXECUTING", "ASSEMBLY_REPLAYING"}

# Readable reasons for the errors a user can meet; anything else gets the generic text with TransloadIt's message.
REASONS = {
    "ASSEMBLY_CANCELED": "The upload was canceled.",
    "REQUEST_ABORTED": "The upload was interrupted before the file was complete.",
    "ASSEMBLY_EXPIRED": "The upload expired before the file was complete.",
    "MAX_SIZE_EXCEEDED": "The file is larger than the upload limit.",
    "AUTH_EXPIRED": "The upload link expired; start the upload again.",
    "INVALID_SIGNATURE": "The upload was refused (invalid signature); start the upload again.",
    "VIDEO_ENCODE_VALIDATION": "The video could not be converted for web playback.",
    "VIDEO_ENCODE_ERROR": "The video could not be converted for web playback.",
    "VIDEO_THUMBS_ERROR": "No thumbnail could be made from the video.",
    "BACKBLAZE_STORE_ACCESS_DENIED": "Storing the file in B2 was refused (check the B2 credentials).",
    "BACKBLAZE_STORE_FAILURE": "Storing the file in B2 failed.",
    "BACKBLAZE_STORE_VALIDATION": "Storing the file in B2 failed (invalid storage settings).",
}


@dataclass
class AssemblyOutcome:
    """The parts of an assembly status our video record needs."""

    assembly_id: str
    video_id: str | None
    state: str  # completed | failed | running
    reason: str | None = None
    original_key: str | None = None
    web_key: str | None = None
    thumbnail_key: str | None = None
    duration: float | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    uploading: bool = False  # running and still waiting for the file (ASSEMBLY_UPLOADING), not processing it


def video_id_of(status: dict[str, Any]) -> str | None:
    """The video an assembly belongs to: `fields.video_id` of the params WE signed, else the status' fields.

    `params` is the exact string the assembly was created with (covered by our signature at creation), so it
    cannot be changed by the browser; plain form fields could be.
    """
    raw = status.get("params")
    if isinstance(raw, str) and raw:
        try:
            params = parse_json(raw)
        except JsonError:
            params = None
        if isinstance(params, dict) and isinstance(params.get("fields"), dict):
            vid = params["fields"].get("video_id")
            if isinstance(vid, str) and vid:
                return vid
    fields = status.get("fields")
    vid = fields.get("video_id") if isinstance(fields, dict) else None
    return vid if isinstance(vid, str) and vid else None


def key_from_url(url: Any, video_id: str) -> str | None:
    """The B2 key in a stored file's URL, accepted only inside the video's own prefix.

    Handles path-style S3 (`/bucket/key`), virtual-hosted (`bucket.host/key`), B2 native (`/file/bucket/key`) and
    CDN URLs, by finding our `uploads/<video_id>/` prefix in the decoded path.
    """
    if not isinstance(url, str) or not url:
        return None
    path = unquote(urlparse(url).path)
    prefix = upload_prefix(video_id)
    marker = "/" + prefix
    at = path.find(marker)
    if at < 0:
        return None
    key = path[at + 1:]
    if key == prefix or ".." in key.split("/"):
        return None
    return key


def _first(results: dict[str, Any], step: str) -> dict[str, Any] | None:
    items = results.get(step)
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                return item
    return None


def _stored_key(results: dict[str, Any], step: str, video_id: str) -> str | None:
    item = _first(results, step)
    if item is None:
        return None
    return key_from_url(item.get("ssl_url"), video_id) or key_from_url(item.get("url"), video_id)


def _num(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or value is None:
        return None
    try:
        num = kind(value)
    except (TypeError, ValueError):
        return None
    return num if num >= 0 else None


def failure_reason(status: dict[str, Any]) -> str:
    """A sentence a user can read for a failed/canceled assembly (no stack traces, bounded length)."""
    code = status.get("error") or status.get("ok") or "UNKNOWN"
    if code in REASONS:
        return REASONS[code]
    message = str(status.get("message") or "").strip()
    text = f"Processing failed ({code})" + (f": {message}" if message else ".")
    return text[:300]


def parse(status: dict[str, Any]) -> AssemblyOutcome:
    """Turn an Assembly Status (notification or API GET) into an AssemblyOutcome."""
    assembly_id = str(status.get("assembly_id") or "")
    video_id = video_id_of(status)
    ok = status.get("ok")
    if status.get("error") or ok in ("ASSEMBLY_CANCELED", "REQUEST_ABORTED"):
        return AssemblyOutcome(assembly_id, video_id, FAILED, failure_reason(status))
    if ok != "ASSEMBLY_COMPLETED":
        return AssemblyOutcome(assembly_id, video_id, RUNNING, uploading=ok == "ASSEMBLY_UPLOADING")
    if not video_id:
        return AssemblyOutcome(assembly_id, None, FAILED, "The upload is not linked to a video.")
    results = status.get("results") if isinstance(status.get("results"), dict) else {}
    out = AssemblyOutcome(assembly_id, video_id, COMPLETED,
                  original_key=_stored_key(results, STORE_ORIGINAL, video_id),
                  web_key=_stored_key(results, STORE_WEB, video_id),
                  thumbnail_key=_stored_key(results, STORE_THUMBNAIL, video_id))
    uploads = [u for u in status.get("uploads") or [] if isinstance(u, dict)]
    # a discovered video's assembly imports its original from the bucket: that file's meta is the original's
    uploads = uploads or [u for u in results.get(STEP_IMPORTED) or [] if isinstance(u, dict)]
    web = _first(results, "web") or {}
    upload = next((u for u in uploads if u.get("id") and u.get("id") == web.get("original_id")), uploads[0] if uploads else {})
    meta = upload.get("meta") if isinstance(upload.get("meta"), dict) else {}
    web_meta = web.get("meta") if isinstance(web.get("meta"), dict) else {}
    out.duration = _num(meta.get("duration"), float) or _num(web_meta.get("duration"), float)
    out.width = _num(meta.get("width"), int) or _num(web_meta.get("width"), int)
    out.height = _num(meta.get("height"), int) or _num(web_meta.get("height"), int)
    out.size = _num(upload.get("size"), int)
    if not out.original_key and not out.web_key:
        return AssemblyOutcome(assembly_id, video_id, FAILED, "The upload finished but no file was stored.")
    if not out.web_key:
        # No keys on a failed record: the API would offer the unplayable original as playback_url. The files
        # stay under uploads/<video_id>/, which deleting the video sweeps as a whole.
        return AssemblyOutcome(assembly_id, video_id, FAILED,
                       "The file is not a video that can be played (no video stream was found).",
                       size=out.size)
    return out

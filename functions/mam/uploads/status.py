"""Batched video status for the front end: one Firestore read per call, an ETag, and cached thumbnail URLs."""
from __future__ import annotations

import hashlib
import json
import time
from typing import Any, NamedTuple

from mam import store
from mam.clients import b2
from mam.settings import B2Settings
from mam.store import rest
from mam.uploads.coalesce import BatchReader
from mam.videos import INDEX_IN_FLIGHT

MAX_IDS = 100
# Only what a StatusEntry needs: the emulator (and Firestore's egress) cost grows with the fields returned.
FIELDS = ("status", "status_reason", "b2_thumbnail", "updated_at", "version", "upload_seen_at", "created_at",
          "index_started_at", "index_progress", "index_estimate_seconds")  # the indexing run's clock
# The upload page reports progress every HEARTBEAT_SECONDS (also while paused); an upload not heard from for
# INTERRUPTED_AFTER_SECONDS has lost its page (closed tab, crashed browser, sleeping laptop): "interrupted".
HEARTBEAT_SECONDS = 10
INTERRUPTED_AFTER_SECONDS = 30


def read_uncoalesced(ids: list[str]) -> dict[str, dict[str, Any]]:
    """The status fields of many videos in ONE batched read (field mask); unknown ids are absent."""
    return rest.read_fields(store.VIDEOS, ids, FIELDS)


_reader = BatchReader(read_uncoalesced)


def read(ids: list[str], coalesce: bool = True) -> dict[str, dict[str, Any]]:
    """Status rows of `ids`: at most one batched read per call, shared by concurrent calls in this instance
    (see coalesce.py) unless `coalesce` is off (STATUS_COALESCE=false)."""
    if not coalesce:
        return read_uncoalesced(ids)
    return _reader.get(ids)


def _stamp(row: dict[str, Any]) -> str:
    value = row.get("updated_at")
    if isinstance(value, str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else "")


def _epoch(value: Any) -> float | None:
    return value.timestamp() if hasattr(value, "timestamp") else None


def interrupted(row: dict[str, Any], now: float | None = None) -> bool:
    """An upload whose page stopped reporting progress (or never did) INTERRUPTED_AFTER_SECONDS ago."""
    if row.get("status") != "uploading":
        return False
    seen = _epoch(row.get("upload_seen_at")) or _epoch(row.get("created_at"))
    return seen is not None and (time.time() if now is None else now) - seen > INTERRUPTED_AFTER_SECONDS


class _Derived(NamedTuple):
    """What the answer needs of one row, kept while the store hands out the same row (one document version)."""
    row: dict[str, Any]
    storage: B2Settings
    window: int
    interrupted: bool
    tag: bytes
    member: str  # `"id":StatusEntry` as it goes into the answer's "videos" object


_derived: dict[str, _Derived] = {}  # video id -> its latest _Derived
_DERIVED_MAX = 50_000


def _derive(vid: str, row: dict[str, Any], storage: B2Settings, window: int, now: float | None = None) -> _Derived:
    """Stamp, ETag part and StatusEntry JSON of a row: built once per document version, URL window and
    interrupted state, however many polls and coalesced callers read it (the store shares a row while its document
    is unchanged)."""
    stopped = interrupted(row, now)
    known = _derived.get(vid)
    if known is not None and known.row is row and known.window == window and known.storage is storage and \
            known.interrupted == stopped:
        return known
    tag = f"\x1f{vid}\x1e{row.get('version')}\x1e{row.get('status')}\x1e{_stamp(row)}\x1e{stopped:d}".encode()
    made = _Derived(row, storage, window, stopped, tag,
                    json.dumps(vid) + ":" + json.dumps(entry(row, storage, stopped), separators=(",", ":")))
    if len(_derived) >= _DERIVED_MAX:
        _derived.clear()
    _derived[vid] = made
    return made


def entry(row: dict[str, Any], storage: B2Settings, stopped: bool = False) -> dict[str, Any]:
    """StatusEntry of api/openapi.yaml (`interrupted`: an upload whose page is gone; it can be resumed or
    discarded)."""
    return {
        "status": row.get("status"),
        "status_reason": row.get("status_reason"),
        "thumbnail_url": b2.browser_url(storage, row.get("b2_thumbnail")),
        "updated_at": _stamp(row) or None,
        "interrupted": stopped,
        **_index_clock(row),
    }


def _index_clock(row: dict[str, Any]) -> dict[str, Any]:
    """While indexing is in flight: its start, reported percentage and estimate (the Video JSON's fields)."""
    if row.get("status") not in INDEX_IN_FLIGHT:
        return {}
    started = row.get("index_started_at")
    return {"index_started_at": started.isoformat() if hasattr(started, "isoformat") else started,
            "index_progress": row.get("index_progress"), "index_estimate_seconds": row.get("index_estimate_seconds")}


def etag(ids: list[str], rows: dict[str, dict[str, Any]], storage: B2Settings, now: float | None = None) -> str:
    """Strong ETag over what the answer says (ids, versions, statuses) plus the URL window.

    The window term rotates the tag when cached presigned thumbnail URLs are renewed, so a client holding a
    304'd answer never keeps a URL past its lifetime.
    """
    window = b2.url_window_index(storage, now)
    h = hashlib.sha256(str(window).encode())
    for vid in ids:
        row = rows.get(vid)
        h.update(f"\x1f{vid}\x1emissing".encode() if row is None else _derive(vid, row, storage, window, now).tag)
    return '"' + h.hexdigest()[:32] + '"'


def not_modified(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 If-None-Match: weak comparison over a list of tags, or `*`."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        candidate = candidate.removeprefix("W/")
        if candidate == tag:
            return True
    return False


def body_json(ids: list[str], rows: dict[str, dict[str, Any]], storage: B2Settings) -> str:
    """The answer as JSON text: {"videos": {id: StatusEntry}, "missing": [ids]} in request order (ids unique)."""
    window = b2.url_window_index(storage)
    videos, missing = [], []
    for vid in ids:
        row = rows.get(vid)
        if row is None:
            missing.append(vid)
        else:
            videos.append(_derive(vid, row, storage, window).member)
    return '{"videos":{' + ",".join(videos) + '},"missing":' + json.dumps(missing, separators=(",", ":")) + "}"

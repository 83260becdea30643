"""Batched video status for the front end: one Firestore read per call, an ETag, and cached thumbnail URLs."""
from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

from mam import b2, store
from mam.settings import Settings
from mam.uploads.coalesce import BatchReader

MAX_IDS = 100
# Only what a StatusEntry needs: the emulator (and Firestore's egress) cost grows with the fields returned.
FIELDS = ("status", "status_reason", "b2_thumbnail", "updated_at", "version")
_ENTRY_JSON = "\x00entry"  # where a row keeps its serialised StatusEntry (no Firestore field can be named so)


def read_uncoalesced(ids: list[str]) -> dict[str, dict[str, Any]]:
    """The status fields of many videos in ONE batched read (field mask); unknown ids are absent."""
    rows = store.read_fields(store.VIDEOS, ids, FIELDS)
    for row in rows.values():  # once per read, not twice per caller (etag + body): coalesced callers share rows
        row["updated_at"] = _stamp(row)
    return rows


_reader = BatchReader(read_uncoalesced)


def read(ids: list[str]) -> dict[str, dict[str, Any]]:
    """Status rows of `ids`: at most one batched read per call, shared by concurrent calls in this instance
    (see coalesce.py); STATUS_COALESCE=0 turns the sharing off."""
    if os.environ.get("STATUS_COALESCE", "true").strip().lower() in ("0", "false", "no", "off"):
        return read_uncoalesced(ids)
    return _reader.get(ids)


def _stamp(row: dict[str, Any]) -> str:
    value = row.get("updated_at")
    if isinstance(value, str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else "")


def entry(row: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """StatusEntry of api/openapi.yaml."""
    return {
        "status": row.get("status"),
        "status_reason": row.get("status_reason"),
        "thumbnail_url": b2.browser_url(settings, row.get("b2_thumbnail")),
        "updated_at": _stamp(row) or None,
    }


def etag(ids: list[str], rows: dict[str, dict[str, Any]], settings: Settings, now: float | None = None) -> str:
    """Strong ETag over what the answer says (ids, versions, statuses) plus the URL window.

    The window term rotates the tag when cached presigned thumbnail URLs are renewed, so a client holding a
    304'd answer never keeps a URL past its lifetime.
    """
    now = time.time() if now is None else now
    h = hashlib.sha256()
    h.update(str(int(now // b2.url_window(settings))).encode())
    for vid in ids:
        row = rows.get(vid)
        if row is None:
            h.update(f"\x1f{vid}\x1emissing".encode())
        else:
            h.update(f"\x1f{vid}\x1e{row.get('version')}\x1e{row.get('status')}\x1e{_stamp(row)}".encode())
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


def body_json(ids: list[str], rows: dict[str, dict[str, Any]], settings: Settings) -> str:
    """The answer as JSON text: {"videos": {id: StatusEntry}, "missing": [ids]} in request order (ids unique).

    Each row's entry is serialised once and kept in the row (rows come fresh from each read, and coalesced callers
    share them): a busy instance builds an entry once per read, not once per caller.
    """
    videos, missing = [], []
    for vid in ids:
        row = rows.get(vid)
        if row is None:
            missing.append(vid)
            continue
        text = row.get(_ENTRY_JSON)
        if text is None:
            text = row[_ENTRY_JSON] = json.dumps(entry(row, settings), separators=(",", ":"))
        videos.append(f"{json.dumps(vid)}:{text}")
    return '{"videos":{' + ",".join(videos) + '},"missing":' + json.dumps(missing, separators=(",", ":")) + "}"


def body(ids: list[str], rows: dict[str, dict[str, Any]], settings: Settings) -> dict[str, Any]:
    """The answer of body_json as a dict."""
    return json.loads(body_json(ids, rows, settings))

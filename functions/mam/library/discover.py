"""Discover videos put straight into the bucket's videos prefix (journey J5).

Two ways in, one outcome: a B2 event notification (`handle_events`, signed, each event id claimed once) or a
listing of the prefix (`sync`, for the local S3 server, which sends no events, and as a catch-up after missed
events). A discovered video's record id is derived from its bucket and key, so the two paths, replays and
concurrent deliveries all converge on one record: creating it is idempotent.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from mam import log, store
from mam.clients import b2, transloadit
from mam.http import JsonError, parse_json
from mam.manifest import function_url
from mam.settings import Settings
from mam.store import claims
from mam.uploads.template import build_import_params
from mam.videos import UPLOADED, Video, utcnow

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".ts", ".mts",
                              ".m2ts", ".wmv", ".flv", ".3gp", ".mxf", ".ogv"})
EVENTS = "b2_events"               # Firestore collection of claimed event ids (TTL policy on `expire_at`)
EVENT_TTL = dt.timedelta(days=30)  # far beyond any redelivery
MAX_EVENTS = 1000                  # per notification; B2 batches a handful
MAX_KEY_CHARS = 1024               # S3/B2 key limit (bytes; close enough for a sanity bound)
SYNC_BUDGET_SECONDS = 40.0         # the function's timeout is 60 s; a partial sync says so and can be re-run
CREATED = "b2:ObjectCreated:"


@dataclass
class Discovery:
    """What one notification or sync did."""

    added: list[str] = field(default_factory=list)
    existing: int = 0
    duplicates: int = 0
    ignored: int = 0


def video_id_for(bucket: str, key: str) -> str:
    """Deterministic record id of the object `key` in `bucket` (same shape as `new_video_id`)."""
    return hashlib.sha256(f"{bucket}\x00{key}".encode()).hexdigest()[:20]


def is_video_key(key: str, prefix: str) -> bool:
    """A video file directly or deeper under `prefix` (by extension; folder markers and oddities are not)."""
    if not key.startswith(prefix) or key == prefix or key.endswith("/") or len(key) > MAX_KEY_CHARS:
        return False
    if any(ord(c) < 32 for c in key):
        return False
    return PurePosixPath(key).suffix.lower() in VIDEO_EXTENSIONS


def title_for(key: str) -> str:
    """A readable title from the file name: "videos/Cats_on-the floor.mp4" -> "Cats on-the floor"."""
    stem = PurePosixPath(key).stem.replace("_", " ").strip()
    return " ".join(stem.split())[:200] or PurePosixPath(key).name[:200]


def new_record(settings: Settings, key: str, size: int | None) -> Video:
    """The record of a discovered file: stored (ready to index), no owner."""
    now = utcnow()
    return Video(id=video_id_for(settings.b2.bucket, key), title=title_for(key), owner="", status=UPLOADED,
                 created_at=now, updated_at=now, source="discovered", b2_original=key, size=size)


# ---- processing: the same web MP4 + thumbnail + media facts an upload gets ---------------------------------------
def start_processing(settings: Settings, video_id: str, key: str) -> str | None:
    """Create the TransloadIt assembly that imports `key` from the bucket, encodes the web MP4 and thumbnail and
    stores them under uploads/<id>/; its notification is recorded by transloadit_notify like an upload's.
    Returns the assembly id, or None when TransloadIt could not take it (the video still plays and indexes from
    its original; a later sync does not retry it)."""
    t = settings.transloadit
    if "${" in key:  # TransloadIt would read it as an assembly variable
        log.warning("discovered key not processed: it contains ${", video_id=video_id)
        return None
    signed = build_import_params(auth_key=t.auth_key, auth_secret=t.auth_secret, video_id=video_id,
                                 notify_url=function_url("transloadit_notify"), credentials=t.b2_credentials,
                                 key=key, now=utcnow(), ttl_seconds=t.upload_params_ttl_seconds)
    try:
        status = transloadit.create_assembly(t, signed.params, signed.signature)
    except (transloadit.TransloaditUnavailable, transloadit.AssemblyNotFound) as exc:
        log.warning("discovered video not processed", video_id=video_id, error=str(exc))
        return None
    assembly_id = str(status.get("assembly_id") or "")
    log.info("discovered video processing", video_id=video_id, assembly_id=assembly_id)
    return assembly_id or None


# ---- sync: list the prefix ------------------------------------------------------------------------------------
def sync(settings: Settings, budget: float = SYNC_BUDGET_SECONDS) -> dict[str, Any]:
    """Add a record for every video file under the videos prefix that has none. Returns {"added", "scanned",
    "complete"}; `complete` is False when the time budget ran out (running it again carries on)."""
    started = time.monotonic()
    result = Discovery()
    scanned, complete = 0, True
    batch: list[tuple[str, int | None]] = []
    processing = [True]  # after TransloadIt fails once, the rest of this sync only adds records (stays in budget)

    def flush() -> None:
        ids = {video_id_for(settings.b2.bucket, k): (k, s) for k, s in batch}
        known = store.get_videos(ids)  # one batched read per chunk
        for vid, (key, size) in ids.items():
            if vid in known:
                result.existing += 1
            elif store.create_video(new_record(settings, key, size)):
                result.added.append(vid)
                if processing[0] and start_processing(settings, vid, key) is None and "${" not in key:
                    processing[0] = False
            else:
                result.existing += 1  # created concurrently (an event arrived meanwhile)
        batch.clear()

    for obj in b2.list_keys(settings.b2, settings.b2.videos_prefix):
        key = obj.get("Key", "")
        if not is_video_key(key, settings.b2.videos_prefix) or not obj.get("Size"):
            continue
        scanned += 1
        batch.append((key, int(obj["Size"])))
        if len(batch) >= 200:
            flush()
            if time.monotonic() - started > budget:
                complete = False
                break
    if batch:
        flush()
    log.info("library sync", added=len(result.added), existing=result.existing, scanned=scanned,
             complete=complete)
    return {"added": result.added, "scanned": scanned, "complete": complete}


# ---- B2 event notifications -----------------------------------------------------------------------------------
class EventsError(ValueError):
    """The notification body is not what B2 sends (400)."""


def parse_events(body: bytes) -> list[Any]:
    """The `events` list of a (verified) notification body."""
    try:  # whatever the Content-Type: the signature vouches for the body
        doc = parse_json(body)
    except JsonError as exc:
        raise EventsError(exc.message) from None
    events = doc.get("events") if isinstance(doc, dict) else None
    if not isinstance(events, list):
        raise EventsError('body must be {"events": [...]}')
    if len(events) > MAX_EVENTS:
        raise EventsError(f"at most {MAX_EVENTS} events per notification")
    return events


def _claim_key(event_id: str) -> str:
    # a document id must not contain "/" and stays short: hash the event id
    return hashlib.sha256(event_id.encode()).hexdigest()


def _release(key: str) -> None:
    """Forget a claim whose work failed, so B2's redelivery can do it."""
    try:
        claims.release(EVENTS, key)
    except Exception as exc:  # noqa: BLE001 - the failure being reported matters more
        log.error("could not release b2 event claim", error=type(exc).__name__)


def handle_events(settings: Settings, events: list[Any]) -> dict[str, Any]:
    """Apply verified events: each new ObjectCreated of a video under the prefix adds its record once.

    Other event types, other buckets, other prefixes and non-video files are ignored; a replayed event id is a
    duplicate. When adding fails the claim is released and the error propagates (500: B2 delivers again).
    """
    result = Discovery()
    for event in events:
        if not isinstance(event, dict):
            result.ignored += 1
            continue
        kind, key, bucket = event.get("eventType"), event.get("objectName"), event.get("bucketName")
        event_id = event.get("eventId")
        if not (isinstance(kind, str) and kind.startswith(CREATED) and isinstance(key, str)
                and bucket == settings.b2.bucket and is_video_key(key, settings.b2.videos_prefix)):
            result.ignored += 1
            continue
        if not isinstance(event_id, str) or not event_id or len(event_id) > 512:
            log.warning("b2 event without a usable eventId", type=kind)
            result.ignored += 1
            continue
        claim = _claim_key(event_id)
        if not claims.claim_once(EVENTS, claim, {"event_id": event_id, "type": kind, "key": key,
                                                "expire_at": utcnow() + EVENT_TTL}):
            result.duplicates += 1
            continue
        try:
            added = discover_key(settings, key)
        except Exception:
            _release(claim)
            raise
        if added is None:
            result.ignored += 1
        elif added[1]:
            result.added.append(added[0])
        else:
            result.existing += 1
    log.info("b2 events", events=len(events), added=len(result.added), existing=result.existing,
             duplicates=result.duplicates, ignored=result.ignored)
    return {"added": result.added, "existing": result.existing, "duplicates": result.duplicates,
            "ignored": result.ignored}


def discover_key(settings: Settings, key: str) -> tuple[str, bool] | None:
    """(record id, created now) for the stored object at `key`; None when it is not there (a late event)."""
    meta = b2.head(settings.b2, key)
    if meta is None:
        log.info("b2 event for an object that is gone", key=key)
        return None
    size = int(meta.get("ContentLength") or 0) or None
    record = new_record(settings, key, size)
    created = store.create_video(record)
    if created:
        start_processing(settings, record.id, key)
    return record.id, created

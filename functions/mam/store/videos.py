"""The `videos/{id}` collection: every read and write of video records.

Every write bumps `version` and sets `updated_at` (`_bump`), whether through a transaction (`update`) or a batch of
compare-and-set updates (`patch_batch`): the version makes the status ETag, so no write may skip it.

Pages are cut without Firestore offsets or cursors: the local Firestore emulator ignores both (it would serve
page 1 for every page, and a `start_after` loop would never end), so the skipped part of a page is read as a
projection of `created_at` only and the page starts at that timestamp (ties counted). In Firestore this reads as
many documents as an offset is billed for, while moving only the timestamps of the skipped ones.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any, Callable

from mam.store import find_fields
from mam.store.db import client
from mam.videos import Video, utcnow

VIDEOS = "videos"


class Stamped:
    """A video read with a field mask (unread fields hold their defaults) and the update time of the version read."""

    __slots__ = ("video", "update_time")  # a plain class: a NamedTuple costs more at import (cold start)

    def __init__(self, video: Video, update_time: Any) -> None:
        self.video = video
        self.update_time = update_time  # a write conditioned on it fails when the document changed since


def _collection():
    return client().collection(VIDEOS)


def _doc(video: Video) -> dict[str, Any]:
    """The stored document: the record plus its findability fields (`find_fields`), on every full write."""
    return {**video.to_doc(), **find_fields.derived(video.id, video.title, video.created_at, video.duration)}


def get(video_id: str) -> Video | None:
    """One video, or None."""
    snap = _collection().document(video_id).get()
    return Video.from_doc(snap.id, snap.to_dict()) if snap.exists else None


def get_many(video_ids: Iterable[str]) -> dict[str, Video]:
    """Many videos in ONE batched read (BatchGetDocuments); unknown ids are simply absent."""
    db = client()
    refs = [db.collection(VIDEOS).document(i) for i in dict.fromkeys(video_ids)]
    if not refs:
        return {}
    return {s.id: Video.from_doc(s.id, s.to_dict()) for s in db.get_all(refs) if s.exists}


def create(video: Video) -> bool:
    """Create the record; False if a record with that id already exists (idempotent retries)."""
    from google.api_core.exceptions import AlreadyExists, Conflict

    try:
        _collection().document(video.id).create(_doc(video))
        return True
    except (AlreadyExists, Conflict):
        return False


def update(video_id: str, mutate: Callable[[Video], bool]) -> Video | None:
    """Read-modify-write one video in a transaction.

    `mutate` changes the Video in place and returns True to write, False to leave it as it is (the idempotent
    "already done" case). Returns the video as it now stands, or None if it does not exist.
    The write is an update, which requires the document to exist when the transaction commits: a video deleted
    after the read (a discarded upload whose cancel notification is being recorded) stays deleted.
    """
    from google.api_core.exceptions import NotFound
    from google.cloud import firestore

    db = client()
    ref = db.collection(VIDEOS).document(video_id)

    @firestore.transactional
    def run(tx) -> Video | None:
        snap = ref.get(transaction=tx)
        if not snap.exists:
            return None
        video = Video.from_doc(snap.id, snap.to_dict())
        if mutate(video):
            video.version += 1
            video.updated_at = utcnow()
            tx.update(ref, _doc(video))  # top-level names only: every field is replaced whole, as a set would
        return video

    try:
        return run(db.transaction())
    except NotFound:
        return None


def delete(video_id: str) -> None:
    """Delete the record (no error when already gone)."""
    _collection().document(video_id).delete()


def count() -> int:
    """How many videos there are (one aggregation query)."""
    return int(_collection().count().get()[0][0].value)


def find(field: str, value: Any) -> Video | None:
    """The first video whose `field` equals `value` (one equality query, limit 1), or None.

    A single-field equality needs no composite index, and it avoids cursors, which the local emulator ignores.
    """
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = _collection().where(filter=FieldFilter(field, "==", value)).limit(1)
    for snap in query.stream():
        return Video.from_doc(snap.id, snap.to_dict())
    return None


def newest_page(page: int, page_size: int) -> tuple[list[Video], int]:
    """One page of videos, newest first (ties by id), and the total count (no offsets or cursors: see above)."""
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter
    from google.cloud.firestore_v1.field_path import FieldPath

    col = _collection()
    total = count()
    skip = (page - 1) * page_size
    if skip >= total:
        return [], total
    desc = firestore.Query.DESCENDING
    newest = col.order_by("created_at", direction=desc).order_by(FieldPath.document_id(), direction=desc)
    query, drop = newest, 0
    if skip:
        skipped = list(newest.select(["created_at"]).limit(skip).stream())
        if len(skipped) < skip:  # deleted meanwhile
            return [], total
        boundary = skipped[-1].get("created_at")
        drop = sum(1 for snap in skipped if snap.get("created_at") == boundary)  # the skipped share of a tie
        query = newest.where(filter=FieldFilter("created_at", "<=", boundary))
    snaps = list(query.limit(page_size + drop).stream())[drop:]
    return [Video.from_doc(s.id, s.to_dict()) for s in snaps], total


def up_to(limit: int) -> tuple[list[Video], bool]:
    """Up to `limit` videos (any order) and whether that was all of them. One streamed query, no cursors."""
    snaps = list(_collection().limit(limit + 1).stream())
    return [Video.from_doc(s.id, s.to_dict()) for s in snaps[:limit]], len(snaps) <= limit


def _stamped(snap) -> Stamped:
    return Stamped(Video.from_doc(snap.id, {"title": "", **(snap.to_dict() or {})}), snap.update_time)


def read_masked(video_ids: list[str], fields: list[str]) -> Iterator[Stamped]:
    """The existing videos among `video_ids` with only `fields` read, as they arrive (one masked
    BatchGetDocuments stream)."""
    db = client()
    refs = [db.collection(VIDEOS).document(i) for i in video_ids]
    return (_stamped(s) for s in db.get_all(refs, field_paths=fields) if s.exists)


def scan_masked(fields: list[str]) -> Iterator[Stamped]:
    """Every video with only `fields` read, as it arrives: one streamed query (no cursors: the emulator ignores
    them)."""
    return (_stamped(s) for s in _collection().select(fields).stream())


def _bump(now: dt.datetime) -> dict[str, Any]:
    """The fields every batched write adds: the version counter and the write time."""
    from google.cloud import firestore

    return {"version": firestore.Increment(1), "updated_at": now}


def patch_batch(changes: list[tuple[Stamped, dict[str, Any]]], now: dt.datetime) -> None:
    """Update many videos in ONE commit, each only if unchanged since it was read (its update time); bumps
    `version` and sets `updated_at` = `now`. Raises (FailedPrecondition, ...) and writes nothing on any conflict."""
    db = client()
    wb = db.batch()
    for read, fields in changes:
        derived = find_fields.derived_for_patch(read.video.id, fields)  # a patched title/duration stays findable
        wb.update(db.collection(VIDEOS).document(read.video.id), {**fields, **derived, **_bump(now)},
                  option=db.write_option(last_update_time=read.update_time))
    wb.commit()

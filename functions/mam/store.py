"""Firestore data layer: the one place that reads and writes documents (videos, runs, de-dup records)."""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

from mam.videos import Video, utcnow

VIDEOS = "videos"
_lock = threading.Lock()
_client = None


def client():
    """The process-wide Firestore client (honours FIRESTORE_EMULATOR_HOST locally)."""
    global _client
    with _lock:
        if _client is None:
            import os

            from google.cloud import firestore  # lazy: heavy import

            _client = firestore.Client(project=os.environ.get("GCP_PROJECT") or None)
    return _client


def reset_client() -> None:
    """Drop the cached client (tests point at a different emulator)."""
    global _client
    with _lock:
        _client = None


def get_video(video_id: str) -> Video | None:
    """One video, or None."""
    snap = client().collection(VIDEOS).document(video_id).get()
    return Video.from_doc(snap.id, snap.to_dict()) if snap.exists else None


def get_videos(video_ids: Iterable[str]) -> dict[str, Video]:
    """Many videos in ONE batched read (BatchGetDocuments); unknown ids are simply absent."""
    db = client()
    refs = [db.collection(VIDEOS).document(i) for i in dict.fromkeys(video_ids)]
    if not refs:
        return {}
    return {s.id: Video.from_doc(s.id, s.to_dict()) for s in db.get_all(refs) if s.exists}


def create_video(video: Video) -> bool:
    """Create the record; False if a record with that id already exists (idempotent retries)."""
    from google.api_core.exceptions import AlreadyExists, Conflict

    try:
        client().collection(VIDEOS).document(video.id).create(video.to_doc())
        return True
    except (AlreadyExists, Conflict):
        return False


def update_video(video_id: str, mutate: Callable[[Video], bool]) -> Video | None:
    """Read-modify-write one video in a transaction.

    `mutate` changes the Video in place and returns True to write, False to leave it as it is (the idempotent
    "already done" case). Returns the video as it now stands, or None if it does not exist.
    """
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
            tx.set(ref, video.to_doc())
        return video

    return run(db.transaction())


def delete_video(video_id: str) -> None:
    """Delete the record (no error when already gone)."""
    client().collection(VIDEOS).document(video_id).delete()


def list_videos(page: int, page_size: int) -> tuple[list[Video], int]:
    """One page of videos, newest first, and the total count."""
    from google.cloud import firestore

    col = client().collection(VIDEOS)
    total = int(col.count().get()[0][0].value)
    query = col.order_by("created_at", direction=firestore.Query.DESCENDING).offset((page - 1) * page_size).limit(page_size)
    return [Video.from_doc(s.id, s.to_dict()) for s in query.stream()], total


def iter_videos(where: tuple[str, str, Any] | None = None, batch: int = 300):
    """Every video (optionally filtered), read in pages so memory stays flat."""
    col = client().collection(VIDEOS)
    query = col.where(filter=_field_filter(*where)) if where else col
    query = query.order_by("__name__").limit(batch)
    last = None
    while True:
        page = list((query.start_after(last) if last else query).stream())
        for snap in page:
            yield Video.from_doc(snap.id, snap.to_dict())
        if len(page) < batch:
            return
        last = page[-1]


def _field_filter(path: str, op: str, value: Any):
    from google.cloud.firestore_v1.base_query import FieldFilter

    return FieldFilter(path, op, value)


def claim_once(collection: str, key: str, data: dict[str, Any] | None = None) -> bool:
    """Record that `key` was handled; True the first time, False on every replay (webhook/event de-dup)."""
    from google.api_core.exceptions import AlreadyExists, Conflict

    try:
        client().collection(collection).document(key).create({"at": utcnow(), **(data or {})})
        return True
    except (AlreadyExists, Conflict):
        return False

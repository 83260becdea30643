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


def count_videos() -> int:
    """How many videos there are (one aggregation query)."""
    return int(client().collection(VIDEOS).count().get()[0][0].value)


def find_video(field: str, value: Any) -> Video | None:
    """The first video whose `field` equals `value` (one equality query, limit 1), or None.

    A single-field equality needs no composite index, and it avoids cursors, which the local emulator ignores.
    """
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = client().collection(VIDEOS).where(filter=FieldFilter(field, "==", value)).limit(1)
    for snap in query.stream():
        return Video.from_doc(snap.id, snap.to_dict())
    return None


def claim_once(collection: str, key: str, data: dict[str, Any] | None = None) -> bool:
    """Record that `key` was handled; True the first time, False on every replay (webhook/event de-dup)."""
    from google.api_core.exceptions import AlreadyExists, Conflict

    try:
        client().collection(collection).document(key).create({"at": utcnow(), **(data or {})})
        return True
    except (AlreadyExists, Conflict):
        return False

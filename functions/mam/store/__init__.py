"""Firestore data layer: the one place that reads and writes documents, one module per collection.

`videos` (`videos/{id}`), `claims` (de-dup records: index hops, B2 event ids), `rest` (the status poll's REST
fast path), `db` (the client). The names below are the short forms callers have always used for videos. Import-
light: the client library is imported inside the functions that need it, and `claims` and `rest` are imported by
the few modules that use them (`from mam.store import claims`), as most functions need neither (import cost is
cold-start cost).
"""
from __future__ import annotations

import sys

from mam.store import db, videos
from mam.store.db import client
from mam.store.videos import VIDEOS
from mam.store.videos import count as count_videos
from mam.store.videos import create as create_video
from mam.store.videos import delete as delete_video
from mam.store.videos import find as find_video
from mam.store.videos import get as get_video
from mam.store.videos import get_many as get_videos
from mam.store.videos import update as update_video

__all__ = ["VIDEOS", "client", "count_videos", "create_video", "db", "delete_video", "find_video", "get_video",
           "get_videos", "reset_client", "update_video", "videos"]


def reset_client() -> None:
    """Drop the cached client and REST reader (tests point at a different emulator)."""
    db.reset()
    rest = sys.modules.get("mam.store.rest")
    if rest is not None:
        rest.reset()

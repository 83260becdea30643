"""Firestore data layer: the one place that reads and writes documents, one module per collection.

`videos` (`videos/{id}`), `claims` (de-dup records: index hops, B2 event ids), `rest` (the status poll's REST
fast path), `db` (the client). The names below are the short forms callers have always used. Import-light: the
client library is imported inside the functions that need it, and `claims`/`rest` load on first use, as most
functions need neither (import cost is cold-start cost).
"""
from __future__ import annotations

import sys
from typing import Any

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

__all__ = ["VIDEOS", "claim_once", "claims", "client", "count_videos", "create_video", "db", "delete_video",
           "find_video", "get_video", "get_videos", "read_fields", "reset_client", "rest", "update_video", "videos"]

# name -> (module, attribute or None for the module itself), loaded on first access
_LAZY = {"claims": ("mam.store.claims", None), "claim_once": ("mam.store.claims", "claim_once"),
         "rest": ("mam.store.rest", None), "read_fields": ("mam.store.rest", "read_fields")}


def __getattr__(name: str) -> Any:
    """Load `claims`/`rest` when first asked for (PEP 562); later lookups find the name in the module."""
    spec = _LAZY.get(name)
    if spec is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module = importlib.import_module(spec[0])
    value = module if spec[1] is None else getattr(module, spec[1])
    globals()[name] = value
    return value


def reset_client() -> None:
    """Drop the cached client and REST reader (tests point at a different emulator)."""
    db.reset()
    rest = sys.modules.get("mam.store.rest")
    if rest is not None:
        rest.reset()

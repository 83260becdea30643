"""The process-wide Firestore client of the data layer (only `mam.store` modules use it)."""
from __future__ import annotations

import threading

_lock = threading.Lock()
_client = None


def client():
    """The process-wide Firestore client (honours FIRESTORE_EMULATOR_HOST locally)."""
    global _client
    with _lock:
        if _client is None:
            from google.cloud import firestore  # lazy: heavy import

            from mam.settings import settings

            _client = firestore.Client(project=settings("core").core.project)
    return _client


def reset() -> None:
    """Drop the cached client (tests point at a different emulator)."""
    global _client
    with _lock:
        _client = None

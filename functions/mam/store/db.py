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
            import os

            from google.cloud import firestore  # lazy: heavy import

            _client = firestore.Client(project=os.environ.get("GCP_PROJECT") or None)
    return _client


def reset() -> None:
    """Drop the cached client (tests point at a different emulator)."""
    global _client
    with _lock:
        _client = None

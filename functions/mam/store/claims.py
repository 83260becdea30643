"""De-duplication records: one document per handled key, created once (the caller names the collection, e.g.
indexing's `index_hops`, discovery's `b2_events`; deploy.sh gives both a TTL policy on `expire_at`)."""
from __future__ import annotations

from typing import Any

from mam.store.db import client
from mam.videos import utcnow


def claim_once(collection: str, key: str, data: dict[str, Any] | None = None) -> bool:
    """Record that `key` was handled; True the first time, False on every replay (webhook/event de-dup)."""
    from google.api_core.exceptions import AlreadyExists, Conflict

    try:
        client().collection(collection).document(key).create({"at": utcnow(), **(data or {})})
        return True
    except (AlreadyExists, Conflict):
        return False


def release(collection: str, key: str) -> None:
    """Forget a claim (no error when already gone), so a redelivery can do the work again."""
    client().collection(collection).document(key).delete()

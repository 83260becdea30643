"""De-duplication records: one document per handled key (index hops, B2 event ids), created once."""
from __future__ import annotations

from typing import Any

from mam.store.db import client
from mam.videos import utcnow

# Both collections expire through a TTL policy on `expire_at` (deploy.sh sets it up).
INDEX_HOPS = "index_hops"  # claimed Cloud Tasks hops of indexing
B2_EVENTS = "b2_events"    # claimed B2 event notification ids


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

"""Firestore records of iconik runs: `iconik_runs/{run}` (the state machine) and `iconik_runs/{run}/assets/{asset}`
(per-asset outcome). A step claims the run with a lease in a transaction and commits with the same owner, so a
duplicate task delivery can never run the same step twice at once."""
from __future__ import annotations

import time
from typing import Any, Iterable, Iterator

from mam import store

RUNS = "iconik_runs"
ASSETS = "assets"

# Per-asset states. pending -> confirmed -> done (remove), pending -> done (add); kept/failed are terminal too.
PENDING, CONFIRMED, DONE, KEPT, FAILED = "pending", "confirmed", "done", "kept", "failed"
TERMINAL = frozenset({DONE, KEPT, FAILED})
BATCH = 450  # Firestore allows 500 writes per batch


def _db():
    return store.client()


def run_ref(run_id: str):
    return _db().collection(RUNS).document(run_id)


def assets_ref(run_id: str):
    return run_ref(run_id).collection(ASSETS)


def create_run(doc: dict[str, Any]) -> bool:
    """Create the run; False if a run with that id exists (a retried custom-action delivery)."""
    from google.api_core.exceptions import AlreadyExists, Conflict

    try:
        run_ref(doc["id"]).create(doc)
        return True
    except (AlreadyExists, Conflict):
        return False


def get_run(run_id: str) -> dict[str, Any] | None:
    snap = run_ref(run_id).get()
    return snap.to_dict() if snap.exists else None


def claim(run_id: str, seq: int, owner: str, lease_seconds: float) -> tuple[str, dict[str, Any] | None]:
    """Take the run for step `seq`: ("claimed"|"stale"|"busy"|"missing"|"finished", run)."""
    from google.cloud import firestore

    ref = run_ref(run_id)

    @firestore.transactional
    def tx_claim(tx) -> tuple[str, dict[str, Any] | None]:
        snap = ref.get(transaction=tx)
        if not snap.exists:
            return "missing", None
        run = snap.to_dict()
        if run.get("phase") == "done":
            return "finished", run
        if int(run.get("seq", 0)) != seq:
            return "stale", run
        now = time.time()
        if run.get("lease_owner") and float(run.get("lease_until") or 0) > now:
            return "busy", run
        tx.update(ref, {"lease_owner": owner, "lease_until": now + lease_seconds, "updated_at": now})
        run.update(lease_owner=owner, lease_until=now + lease_seconds)
        return "claimed", run

    return tx_claim(_db().transaction())


def commit(run_id: str, owner: str, updates: dict[str, Any]) -> bool:
    """Write a step's results and release the lease, only if `owner` still holds it; False otherwise."""
    from google.cloud import firestore

    ref = run_ref(run_id)

    @firestore.transactional
    def tx_commit(tx) -> bool:
        snap = ref.get(transaction=tx)
        if not snap.exists or snap.get("lease_owner") != owner:
            return False
        tx.update(ref, {**updates, "lease_owner": None, "lease_until": 0, "updated_at": time.time()})
        return True

    return tx_commit(_db().transaction())


def save_while_leased(run_id: str, owner: str, updates: dict[str, Any]) -> bool:
    """Record something mid-step (e.g. the iconik job id just created) without releasing the lease."""
    from google.cloud import firestore

    ref = run_ref(run_id)

    @firestore.transactional
    def tx_save(tx) -> bool:
        snap = ref.get(transaction=tx)
        if not snap.exists or snap.get("lease_owner") != owner:
            return False
        tx.update(ref, updates)
        return True

    return tx_save(_db().transaction())


def write_assets(run_id: str, rows: dict[str, dict[str, Any]], *, merge: bool = True) -> None:
    """Write per-asset records in batches."""
    col = assets_ref(run_id)
    items = list(rows.items())
    for i in range(0, len(items), BATCH):
        batch = _db().batch()
        for asset_id, data in items[i:i + BATCH]:
            batch.set(col.document(asset_id), {**data, "k": asset_id}, merge=merge)
        batch.commit()


def get_assets(run_id: str, asset_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per-asset records for these ids in one batched read."""
    col = assets_ref(run_id)
    refs = [col.document(a) for a in dict.fromkeys(asset_ids)]
    if not refs:
        return {}
    return {s.id: s.to_dict() for s in _db().get_all(refs) if s.exists}


def asset_page(run_id: str, after: str | None, limit: int) -> list[tuple[str, dict[str, Any]]]:
    """The next `limit` per-asset records in id order after `after`.

    Pages with a range filter on the stored id field `k` rather than a query cursor: the local Firestore emulator
    ignores cursors (start_after) and filters on __name__, while a single-field range works on both.
    """
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = assets_ref(run_id)
    if after:
        query = query.where(filter=FieldFilter("k", ">", after))
    return [(s.id, s.to_dict()) for s in query.order_by("k").limit(limit).stream()]


def iter_assets(run_id: str, batch: int = 500) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every per-asset record, page by page."""
    after = None
    while True:
        page = asset_page(run_id, after, batch)
        yield from page
        if len(page) < batch:
            return
        after = page[-1][0]


def delete_run(run_id: str) -> None:
    """Remove a run and its per-asset records (tests, operators)."""
    for asset_id, _ in list(iter_assets(run_id)):
        assets_ref(run_id).document(asset_id).delete()
    run_ref(run_id).delete()

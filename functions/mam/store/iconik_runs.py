"""Firestore records of iconik runs: `iconik_runs/{run}` (the state machine) and `iconik_runs/{run}/chunks/{n}`
(the run's assets, 500 per document, each with its outcome). A step claims the run with a lease in a transaction
and commits with the same owner, so a duplicate task delivery can never run the same step twice at once; only the
lease holder writes chunks.

Why chunks and not one document per asset: 10,000 assets would be 10,000+ writes per phase, and the local
Firestore emulator copies its whole document map on every new document (O(n^2)); 20 chunk documents are cheap
on both.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from mam.iconik.run import Run
from mam.store import db

RUNS = "iconik_runs"
CHUNKS = "chunks"
CHUNK_SIZE = 500  # assets per chunk document (~100-250 KB; Firestore's limit is 1 MiB)

# Per-asset states. pending -> confirmed -> done (remove), pending -> done (add); kept/failed are terminal too.
PENDING, CONFIRMED, DONE, KEPT, FAILED = "pending", "confirmed", "done", "kept", "failed"
TERMINAL = frozenset({DONE, KEPT, FAILED})


def _db():
    return db.client()


def run_ref(run_id: str):
    """The run's Firestore document reference."""
    return _db().collection(RUNS).document(run_id)


def create_run(run: Run) -> bool:
    """Create the run; False if a run with that id exists (a retried custom-action delivery)."""
    from google.api_core.exceptions import AlreadyExists, Conflict

    try:
        run_ref(run.id).create(run.to_doc())
        return True
    except (AlreadyExists, Conflict):
        return False


def get_run(run_id: str) -> dict[str, Any] | None:
    """The stored run document as it is, or None."""
    snap = run_ref(run_id).get()
    return snap.to_dict() if snap.exists else None


def load_run(run_id: str) -> Run | None:
    """The run record, or None."""
    doc = get_run(run_id)
    return None if doc is None else Run.from_doc(doc)


def claim(run_id: str, seq: int, owner: str, lease_seconds: float) -> tuple[str, Run | None]:
    """Take the run for step `seq`: ("claimed"|"stale"|"busy"|"missing"|"finished", run)."""
    from google.cloud import firestore

    ref = run_ref(run_id)

    @firestore.transactional
    def tx_claim(tx) -> tuple[str, Run | None]:
        snap = ref.get(transaction=tx)
        if not snap.exists:
            return "missing", None
        run = Run.from_doc(snap.to_dict())
        if run.phase == "done":
            return "finished", run
        if run.seq != seq:
            return "stale", run
        now = time.time()
        if run.lease_owner and float(run.lease_until or 0) > now:
            return "busy", run
        tx.update(ref, {"lease_owner": owner, "lease_until": now + lease_seconds, "updated_at": now})
        run.lease_owner, run.lease_until = owner, now + lease_seconds
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


def _chunks_ref(run_id: str):
    return run_ref(run_id).collection(CHUNKS)


def new_chunk(n: int) -> dict[str, Any]:
    """An empty chunk: `ids` in discovery order, `assets` maps an id to its record (absent = pending)."""
    return {"n": n, "ids": [], "assets": {}}


def load_chunks(run_id: str) -> list[dict[str, Any]]:
    """Every chunk of a run, in order (a 10,000-asset run has 20)."""
    chunks = [s.to_dict() for s in _chunks_ref(run_id).stream()]
    return sorted(chunks, key=lambda c: c["n"])


def load_chunk(run_id: str, n: int) -> dict[str, Any] | None:
    """Chunk `n` of a run, or None if it was never written."""
    snap = _chunks_ref(run_id).document(f"{n:06d}").get()
    return snap.to_dict() if snap.exists else None


def save_chunk(run_id: str, chunk: dict[str, Any]) -> None:
    """Write one chunk whole (only the holder of the run's lease writes chunks)."""
    _chunks_ref(run_id).document(f"{chunk['n']:06d}").set(chunk)


def asset_record(chunk: dict[str, Any], asset_id: str) -> dict[str, Any]:
    """An asset's record in its chunk (an asset without one is pending)."""
    return chunk["assets"].get(asset_id) or {"state": PENDING}


def iter_assets(run_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every asset of a run with its record, in discovery order."""
    for chunk in load_chunks(run_id):
        for asset_id in chunk["ids"]:
            yield asset_id, asset_record(chunk, asset_id)


class AssetIndex:
    """The run's asset list during expansion: de-duplicates and appends into chunks, writing only changed ones."""

    def __init__(self, run_id: str, chunks: list[dict[str, Any]]):
        self.run_id = run_id
        self.chunks = chunks
        self.seen = {a for c in chunks for a in c["ids"]}
        self.dirty: set[int] = set()

    @classmethod
    def load(cls, run_id: str) -> AssetIndex:
        """The index over every chunk already written for the run."""
        return cls(run_id, load_chunks(run_id))

    def add(self, asset_ids: Iterable[str]) -> int:
        """Append the assets not seen yet; how many were new."""
        added = 0
        for asset_id in asset_ids:
            if asset_id in self.seen:
                continue
            if not self.chunks or len(self.chunks[-1]["ids"]) >= CHUNK_SIZE:
                self.chunks.append(new_chunk(len(self.chunks)))
            self.chunks[-1]["ids"].append(asset_id)
            self.seen.add(asset_id)
            self.dirty.add(self.chunks[-1]["n"])
            added += 1
        return added

    def flush(self) -> None:
        """Write the chunks changed since the last flush."""
        for n in sorted(self.dirty):
            save_chunk(self.run_id, self.chunks[n])
        self.dirty.clear()

    @property
    def total(self) -> int:
        """Assets recorded so far."""
        return len(self.seen)

"""Request coalescing for batched reads: concurrent status polls in one instance share one BatchGetDocuments.

At most one read is in flight per reader. A caller arriving while a read runs joins the *next* batch, which
starts as soon as the running read ends and fetches the union of the ids its callers asked for. So every answer
comes from a read that started after its request arrived (never staler than an uncoalesced read), an idle
instance adds no latency, and a busy one does one read per "wave" instead of one per request. With Cloud
Functions' default concurrency of 1 it simply degenerates to one read per call.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Fetch = Callable[[list[str]], dict[str, Any]]


class _Batch:
    def __init__(self) -> None:
        self.ids: dict[str, None] = {}
        self.done = threading.Event()
        self.result: dict[str, Any] = {}
        self.error: BaseException | None = None


class BatchReader:
    """Wraps `fetch(ids) -> {id: row}` (one batched read) with coalescing across threads."""

    def __init__(self, fetch: Fetch, max_ids: int = 300, wait_seconds: float = 30.0) -> None:
        self._fetch = fetch
        self._max_ids = max_ids
        self._wait = wait_seconds
        self._lock = threading.Lock()
        self._running = False  # a read is in flight
        self._next: _Batch | None = None  # callers queued behind it
        self._idle = threading.Condition(self._lock)
        self.reads = 0  # batched reads issued (for tests and the benchmark's sanity checks)

    def get(self, ids: list[str]) -> dict[str, Any]:
        """Rows for `ids` (missing ids absent), from one read shared with concurrent callers."""
        if not ids:
            return {}
        with self._lock:
            if not self._running and self._next is None:
                self._running = True
                batch, lead = _Batch(), True
                batch.ids.update(dict.fromkeys(ids))
            elif self._next is not None and len(self._next.ids.keys() | set(ids)) > self._max_ids:
                batch, lead = None, False  # too big to share: read alone, below
            else:
                lead = self._next is None
                if lead:
                    self._next = _Batch()
                batch = self._next
                batch.ids.update(dict.fromkeys(ids))
                if lead:  # wait for the running read to end, then close this batch and read it
                    while self._running:
                        self._idle.wait()
                    self._running = True
                    self._next = None
        if batch is None:
            with self._lock:
                self.reads += 1
            return self._fetch(ids)
        if lead:
            self._run(batch)
        elif not batch.done.wait(self._wait):
            raise TimeoutError("status read did not finish in time")
        if batch.error is not None:
            raise batch.error
        return {i: batch.result[i] for i in ids if i in batch.result}

    def _run(self, batch: _Batch) -> None:
        try:
            batch.result = self._fetch(list(batch.ids))
        except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
            batch.error = exc
        finally:
            with self._lock:
                self.reads += 1
                self._running = False
                self._idle.notify_all()
            batch.done.set()

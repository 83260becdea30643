"""One timer thread per kind of task: runs `advance(task_id, what)` at the time each step was scheduled for."""
from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("twelvelabs")


class Clock:
    """Steps scheduled by time; a step that raises is logged and the clock keeps running."""

    def __init__(self, advance: Callable[[str, str], None], name: str) -> None:
        self._advance = advance
        self._heap: list[tuple[float, int, str, str]] = []
        self._seq = 0  # ties at the same time keep their order
        self._cv = threading.Condition()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def schedule(self, when: float, task_id: str, what: str) -> None:
        """Run `advance(task_id, what)` at unix time `when` (at once if it has passed)."""
        with self._cv:
            self._seq += 1
            heapq.heappush(self._heap, (when, self._seq, task_id, what))
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._heap or self._heap[0][0] > time.time():
                    self._cv.wait(timeout=None if not self._heap else max(0.0, self._heap[0][0] - time.time()))
                _, _, task_id, what = heapq.heappop(self._heap)
            try:
                self._advance(task_id, what)
            except Exception:  # the clock must keep running whatever one task does
                log.exception("advancing task %s (%s) failed", task_id, what)

"""Injected API faults (429 rate limits, 5xx) for testing clients' backoff, set through /_admin/faults."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass


@dataclass
class Fault:
    """Answer `times` requests matching `method` + `path` (regex on the path after /v1.3) with `status`.

    body "json" -> {"code","message"} (+ Retry-After and X-Ratelimit-* headers when retry_after is set);
    body "empty" -> no body, as the docs say a real 429 looks."""

    path: str = ".*"
    method: str = "*"
    status: int = 429
    times: int = 1
    retry_after: float | None = None
    body: str = "json"
    code: str | None = None      # error code in a JSON body (default: too_many_requests / internal_error)
    message: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and re.fullmatch(self.path, path) is not None


class Faults:
    """Ordered list of pending faults; each request consumes at most one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired = 0

    def add(self, fault: Fault) -> None:
        re.compile(fault.path)  # reject a bad regex when it is added, not on every request
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict]:
        with self._lock:
            return [vars(f).copy() for f in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        """The fault to apply to this request (consuming one use), or None."""
        with self._lock:
            for f in self._faults:
                if f.times > 0 and f.matches(method, path):
                    f.times -= 1
                    self.fired += 1
                    if f.times == 0:
                        self._faults.remove(f)
                    return f
        return None

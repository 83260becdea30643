"""Traffic knobs of the iconik stand-in: a token-bucket rate limit, injected failure answers, and call counters."""
from __future__ import annotations

import collections
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any


class TokenBucket:
    """`rate` requests per second with a bucket of `burst`; `take()` says whether one request may pass."""

    def __init__(self, rate: float, burst: float):
        self.rate = rate
        self.burst = burst if burst > 0 else max(1.0, rate)
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, float, int]:
        """(allowed, seconds until the next token, tokens remaining)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True, 0.0, int(self.tokens)
            return False, (1 - self.tokens) / self.rate, 0


@dataclass
class FaultRule:
    """Answer matching API requests with `status` instead of serving them.

    count: how many matching requests to hit (None = every one); skip: let this many pass first;
    path: regex searched in the path; method: only this method; retry_after: seconds for a Retry-After header
    (None = no header); body: "json" (iconik error body), "html" (a proxy's error page) or "empty";
    delay: seconds to hang before answering (a slow iconik / timeout); token: only requests carrying this
    Auth-Token (so traffic of other runs still in flight neither trips nor uses up the rule).
    """

    status: int
    count: int | None = None
    skip: int = 0
    path: str | None = None
    method: str | None = None
    retry_after: float | None = None
    body: str = "json"
    delay: float = 0.0
    token: str | None = None
    hits: int = 0
    seen: int = 0  # matching requests so far, skipped ones included (kept on the rule: it dies with the rule)
    _rx: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaultRule:
        allowed = {"status", "count", "skip", "path", "method", "retry_after", "body", "delay", "token"}
        unknown = set(raw) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        rule = cls(**raw)
        if not 100 <= int(rule.status) <= 599:
            raise ValueError("fault status must be an HTTP status")
        if rule.body not in ("json", "html", "empty"):
            raise ValueError("fault body must be json, html or empty")
        rule._rx = re.compile(rule.path) if rule.path else None
        return rule

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "count": self.count, "skip": self.skip, "path": self.path,
                "method": self.method, "retry_after": self.retry_after, "body": self.body, "delay": self.delay,
                "token": "set" if self.token else None, "hits": self.hits}

    def matches(self, method: str, path: str, token: str = "") -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.token is not None and self.token != token:
            return False
        return not self._rx or bool(self._rx.search(path))


class Faults:
    """The active fault rules; the first live matching rule answers a request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[FaultRule] = []

    def set(self, rules: list[dict[str, Any]]) -> None:
        parsed = [FaultRule.from_dict(dict(r)) for r in rules]
        with self.lock:
            self.rules = parsed

    def add(self, rule: dict[str, Any]) -> None:
        parsed = FaultRule.from_dict(dict(rule))
        with self.lock:
            self.rules.append(parsed)

    def pick(self, method: str, path: str, token: str = "") -> FaultRule | None:
        with self.lock:
            for rule in self.rules:
                if not rule.matches(method, path, token):
                    continue
                rule.seen += 1
                if rule.seen <= rule.skip:
                    continue
                if rule.count is not None and rule.hits >= rule.count:
                    continue
                rule.hits += 1
                return rule
        return None

    def to_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.to_dict() for r in self.rules]


def retry_after_value(mode: str | float | None, wait: float) -> str | None:
    """Retry-After header for a rate-limited answer: whole seconds, as HTTP requires."""
    if mode in (None, "none"):
        return None
    if mode == "auto":
        return str(max(1, math.ceil(wait)))
    return str(max(0, math.ceil(float(mode))))


class Stats:
    """Counters of API calls received, by route and status, plus a log of recent requests."""

    def __init__(self, log_size: int) -> None:
        self.lock = threading.Lock()
        self.log: collections.deque = collections.deque(maxlen=log_size)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.started = time.time()
            self.total = 0
            self.by_route: collections.Counter = collections.Counter()
            self.by_status: collections.Counter = collections.Counter()
            self.rate_limited = 0
            self.injected = 0
            self.in_flight = 0
            self.max_in_flight = 0
            self.first_call: float | None = None
            self.last_call: float | None = None
            self.log.clear()

    def begin(self) -> None:
        with self.lock:
            self.total += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            now = time.time()
            self.first_call = self.first_call or now
            self.last_call = now

    def end(self, route: str, status: int, entry: dict[str, Any]) -> None:
        with self.lock:
            self.in_flight -= 1
            self.by_route[route] += 1
            self.by_status[str(status)] += 1
            self.log.append(entry)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"total": self.total, "by_route": dict(self.by_route), "by_status": dict(self.by_status),
                    "rate_limited": self.rate_limited, "injected": self.injected,
                    "status_429": self.by_status.get("429", 0), "max_in_flight": self.max_in_flight,
                    "first_call": self.first_call, "last_call": self.last_call,
                    "since": self.started}

    def requests(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self.lock:
            items = list(self.log)
        return items[-limit:] if limit else items

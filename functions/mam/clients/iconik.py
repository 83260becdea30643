"""iconik API adapter: App-ID/Auth-Token headers, a client-side rate limit, timeouts, bounded retries with backoff
(429 honouring Retry-After, 5xx, network errors) under a deadline, and the calls the plugin makes (contracts 2)."""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

RETRY_STATUSES = frozenset({500, 502, 503, 504})


class IconikError(Exception):
    """An iconik call failed; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class NotFound(IconikError):
    """404: the object does not exist (or no longer does)."""


class AuthRejected(IconikError):
    """401/403: iconik refused the App-ID/Auth-Token (expired token, wrong app, missing role)."""


class Unavailable(IconikError):
    """iconik kept failing (429/5xx/network) until the attempts or the deadline ran out; worth retrying later."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message, status)
        self.retry_after = retry_after


class BadAnswer(IconikError):
    """Another 4xx, or a 2xx that is not the JSON we need."""


class RateLimiter:
    """Token bucket shared by all threads of a process; `pause()` stops everyone after a 429."""

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.rate = float(rate)
        self.burst = float(burst if burst else max(1.0, min(rate, 10.0)))
        self.tokens = self.burst
        self.clock, self.sleep = clock, sleep
        self.stamp = clock()
        self.paused_until = 0.0
        self.lock = threading.Lock()

    def acquire(self, deadline: float | None = None) -> None:
        """Wait for a token; Unavailable if that would pass `deadline` (a monotonic time)."""
        if self.rate <= 0:
            return
        while True:
            with self.lock:
                now = self.clock()
                self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                wait = max(0.0, self.paused_until - now)
                if not wait and self.tokens >= 1 - 1e-9:  # tolerance: float refills land just below 1
                    self.tokens = max(0.0, self.tokens - 1)
                    return
                if not wait:
                    wait = (1 - self.tokens) / self.rate
            if deadline is not None and self.clock() + wait > deadline:
                raise Unavailable("rate limit: no request slot before the deadline")
            self.sleep(wait)

    def pause(self, seconds: float) -> None:
        """iconik said 429: nobody in this process sends for `seconds`, and the bucket starts empty."""
        with self.lock:
            self.paused_until = max(self.paused_until, self.clock() + seconds)
            self.tokens = 0.0


_limiters: dict[float, RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(rate: float) -> RateLimiter:
    """The process-wide limiter for a rate (one per function instance, as iconik limits per credential set)."""
    with _limiters_lock:
        if rate not in _limiters:
            _limiters[rate] = RateLimiter(rate)
        return _limiters[rate]


@dataclass
class CallStats:
    """What this client did (for logs and the benchmark)."""

    calls: int = 0
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)

    def as_dict(self) -> dict[str, int]:
        return {"calls": self.calls, "retries": self.retries, "throttled": self.throttled,
                "server_errors": self.server_errors}


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            import datetime as dt

            return max(0.0, (parsedate_to_datetime(value) - dt.datetime.now(dt.UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def _message(resp) -> str:
    """iconik's `{"errors": [...]}` / `{"errors": {field: msg}}`, or the start of a non-JSON body."""
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or "")[:200].strip() or resp.reason or ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list):
        return "; ".join(str(e) for e in errors)[:500]
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {v}" for k, v in errors.items())[:500]
    return str(body)[:200]


class IconikClient:
    """One caller identity (App-ID + Auth-Token) talking to iconik under a deadline."""

    def __init__(self, base_url: str, app_id: str, auth_token: str, *, limiter: RateLimiter | None = None,
                 timeout: float = 10.0, attempts: int = 6, deadline: float | None = None,
                 max_retry_after: float = 60.0, session=None, sleep: Callable[[float], None] = time.sleep):
        if app_id is None or auth_token is None:
            raise ValueError("You must supply both app_id and auth_token")
        if not isinstance(app_id, str):
            raise TypeError("app_id must be a string")
        if not isinstance(auth_token, str):
            raise TypeError("auth_token must be a string")
        if not app_id or not auth_token:
            raise ValueError("You must supply both app_id and auth_token")
        self.base = base_url.rstrip("/")
        self.limiter = limiter
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.deadline = deadline
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.stats = CallStats()
        if session is None:
            import requests
            from requests.adapters import HTTPAdapter

            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        session.headers.update({"App-ID": app_id, "Auth-Token": auth_token, "Accept": "application/json"})
        self.session = session

    def close(self) -> None:
        self.session.close()

    # ---- transport -------------------------------------------------------------------------------------
    def _left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _wait(self, seconds: float, why: str, status: int | None) -> None:
        left = self._left()
        if left is not None and seconds >= left:
            raise Unavailable(f"iconik {why}; out of time to retry", status, retry_after=seconds)
        self.sleep(seconds)

    @staticmethod
    def _backoff(attempt: int) -> float:
        return min(8.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json: Any = None) -> Any:
        """Call iconik (`path` like `/API/files/v1/...` or a host-relative next_url); returns parsed JSON or None."""
        import requests

        url = path if path.startswith("http") else urljoin(self.base + "/", path.lstrip("/"))
        last = "no attempt made"
        status: int | None = None
        for attempt in range(1, self.attempts + 1):
            left = self._left()
            if left is not None and left <= 0:
                raise Unavailable(f"iconik deadline passed ({last})", status)
            if self.limiter is not None:
                self.limiter.acquire(self.deadline)
            read_timeout = self.timeout if left is None else max(0.5, min(self.timeout, self._left() or 0.5))
            self.stats.add(calls=1)
            try:
                resp = self.session.request(method, url, params=params, json=json, timeout=(3.05, read_timeout))
            except (requests.ConnectionError, requests.Timeout) as exc:
                last, status = f"{type(exc).__name__}", None
                if attempt < self.attempts:
                    self.stats.add(retries=1)
                    self._wait(self._backoff(attempt), f"unreachable ({last})", None)
                continue
            status = resp.status_code
            if status == 429:
                self.stats.add(throttled=1)
                wait = _retry_after(resp.headers.get("Retry-After"))
                wait = self._backoff(attempt) if wait is None else min(wait, self.max_retry_after)
                if self.limiter is not None:
                    self.limiter.pause(wait)
                last = "rate limited (429)"
                if attempt < self.attempts:
                    self.stats.add(retries=1)
                    self._wait(wait, last, status)
                continue
            if status in RETRY_STATUSES:
                self.stats.add(server_errors=1)
                last = f"HTTP {status} {_message(resp)[:100]}".strip()
                ra = _retry_after(resp.headers.get("Retry-After")) if status == 503 else None
                if attempt < self.attempts:
                    self.stats.add(retries=1)
                    self._wait(min(ra, self.max_retry_after) if ra is not None else self._backoff(attempt),
                               f"error {status}", status)
                continue
            if status in (401, 403):
                raise AuthRejected(f"iconik refused the credentials ({status}: {_message(resp)})", status)
            if status == 404:
                raise NotFound(_message(resp) or "not found", status)
            if status >= 400:
                raise BadAnswer(f"iconik answered {status}: {_message(resp)}", status)
            if status == 204 or not resp.content:
                return None
            try:
                return resp.json()
            except ValueError:
                raise BadAnswer(f"iconik answered {status} with a body that is not JSON", status) from None
        raise Unavailable(f"iconik failed after {self.attempts} attempts: {last}", status)

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict]:
        """Every object of a list, following the host-relative `next_url` until it is empty."""
        body = self.request("GET", path, params=params)
        while True:
            yield from (body or {}).get("objects") or []
            nxt = (body or {}).get("next_url")
            if not nxt:
                return
            body = self.request("GET", nxt)

    # ---- calls -------------------------------------------------------------------------------------------
    def get_storage(self, storage_id: str) -> dict:
        """GET a storage; NotFound if iconik does not know it. A list answer yields its first object."""
        body = self.request("GET", f"/API/files/v1/storages/{storage_id}/")
        if isinstance(body, dict) and body.get("id"):
            return body
        if isinstance(body, dict) and body.get("objects"):
            return body["objects"][0]
        raise NotFound(f"storage {storage_id} answer has no id")

    def bulk_copy(self, target_storage_id: str, object_type: str, object_ids: list[str], format_name: str) -> str:
        """Ask iconik to copy a format of assets/collections to a storage; returns the job id."""
        body = self.request("POST", f"/API/files/v1/storages/{target_storage_id}/bulk/",
                            json={"object_ids": list(object_ids), "object_type": object_type,
                                  "format_name": format_name})
        job_id = (body or {}).get("job_id")
        if not isinstance(job_id, str) or not job_id:
            raise BadAnswer("bulk copy answer has no job_id")
        return job_id

    def get_job(self, job_id: str) -> dict:
        return self.request("GET", f"/API/jobs/v1/jobs/{job_id}/") or {}

    def create_job(self, **fields: Any) -> dict:
        return self.request("POST", "/API/jobs/v1/jobs/", json=fields) or {}

    def update_job(self, job_id: str, **fields: Any) -> dict:
        return self.request("PATCH", f"/API/jobs/v1/jobs/{job_id}/", json=fields) or {}

    def collection_page(self, collection_id: str, page: int, per_page: int) -> tuple[list[dict], bool]:
        """One page of a collection's contents (sub-collections and assets); (objects, more pages follow)."""
        body = self.request("GET", f"/API/assets/v1/collections/{collection_id}/contents/",
                            params={"object_types": "collections,assets", "page": page, "per_page": per_page}) or {}
        objects = body.get("objects") or []
        pages = body.get("pages")
        more = bool(body.get("next_url")) if pages is None else page < int(pages)
        return objects, more and bool(objects)

    def asset_formats(self, asset_id: str) -> list[dict]:
        return list(self.pages(f"/API/files/v1/assets/{asset_id}/formats/", {"per_page": 100}))

    def asset_file_sets(self, asset_id: str) -> list[dict]:
        return list(self.pages(f"/API/files/v1/assets/{asset_id}/file_sets/", {"per_page": 500}))

    def asset_files(self, asset_id: str) -> list[dict]:
        return list(self.pages(f"/API/files/v1/assets/{asset_id}/files/", {"per_page": 500}))

    def delete_file_set(self, asset_id: str, file_set_id: str) -> bool:
        """Mark a file set deleted; False if it is already gone (a replayed step)."""
        try:
            self.request("DELETE", f"/API/files/v1/assets/{asset_id}/file_sets/{file_set_id}/")
            return True
        except NotFound:
            return False

    def purge_file_set(self, asset_id: str, file_set_id: str) -> bool:
        """Purge a deleted file set and its actual files; False if it is already gone."""
        try:
            self.request("DELETE", f"/API/files/v1/assets/{asset_id}/file_sets/{file_set_id}/purge/")
            return True
        except NotFound:
            return False

    # custom actions (admin scripts)
    def list_actions(self) -> list[dict]:
        return (self.request("GET", "/API/assets/v1/custom_actions/") or {}).get("objects") or []

    def create_action(self, context: str, body: dict) -> dict:
        return self.request("POST", f"/API/assets/v1/custom_actions/{context}/", json=body) or {}

    def update_action(self, context: str, action_id: str, body: dict) -> dict:
        return self.request("PUT", f"/API/assets/v1/custom_actions/{context}/{action_id}/", json=body) or {}

    def delete_action(self, context: str, action_id: str) -> bool:
        try:
            self.request("DELETE", f"/API/assets/v1/custom_actions/{context}/{action_id}/")
            return True
        except NotFound:
            return False

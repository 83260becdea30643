"""Webhook delivery of the local Twelve Labs, signed like the real service:
`TL-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from .state import new_id, rfc3339

log = logging.getLogger("twelvelabs.webhooks")
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)  # after the first attempt; then the event is dropped


def signature_header(secret: str, body: bytes, t: int | None = None) -> str:
    """The TL-Signature header value for `body` signed with `secret` at unix time `t` (default now)."""
    t = int(time.time()) if t is None else int(t)
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@dataclass
class Delivery:
    event_id: str
    type: str
    task_id: str
    attempts: int = 0
    status: int | None = None   # last HTTP status (None: connection error)
    response: str = ""          # start of the last response body (for tests)
    delivered_at: float | None = None
    body: bytes = b""
    history: list = field(default_factory=list)
    url: str = ""               # where it goes (shown in an analysis task's `webhooks`)


class Webhooks:
    """Queue of task events posted to the configured URL by one background thread, with bounded retries."""

    def __init__(self, url: str | None = None, secret: str | None = None) -> None:
        self.url = url
        self.secret = secret
        self.enabled = bool(url)
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._queue: queue.PriorityQueue[tuple[float, int, Delivery]] = queue.PriorityQueue()
        self._seq = 0
        self._http = requests.Session()
        # events are delivered concurrently (one slow receiver must not hold up the others), retries on a timer
        self._senders = ThreadPoolExecutor(max_workers=8, thread_name_prefix="tl-webhook")
        threading.Thread(target=self._run, name="tl-webhooks", daemon=True).start()

    def configure(self, url: str | None, secret: str | None, enabled: bool = True) -> None:
        with self._lock:
            self.url, self.secret, self.enabled = url, secret, enabled and bool(url)

    def task_event(self, task: Any, duration: float | None, models: list[dict]) -> None:
        """Queue index.task.ready / index.task.failed for `task` (no-op when webhooks are off)."""
        if not self.enabled or task.status not in ("ready", "failed"):
            return
        event = {
            "id": f"whe_{new_id()}",
            "created_at": rfc3339(time.time()),
            "type": f"index.task.{task.status}",
            "data": {
                "id": task.id,
                "metadata": {"duration": duration},
                "status": task.status,
                "models": [{"name": m.get("model_name"), "options": m.get("model_options") or []} for m in models],
                "tags": [],
            },
        }
        d = Delivery(event["id"], event["type"], task.id, body=json.dumps(event, separators=(",", ":")).encode())
        with self._lock:
            self.deliveries.append(d)
            self.deliveries = self.deliveries[-1000:]
        self._put(time.time(), d)

    def analyze_event(self, status: str, data: dict) -> Delivery | None:
        """Queue analyze.task.<status> (ready, failed, canceled) with `data` (the task snapshot the docs list:
        id, custom_id, created_at, video_source, status, error); None when webhooks are off."""
        if not self.enabled:
            return None
        event = {"id": f"whe_{new_id()}", "created_at": rfc3339(time.time()), "type": f"analyze.task.{status}",
                 "data": data}
        d = Delivery(event["id"], event["type"], data["id"], body=json.dumps(event, separators=(",", ":")).encode())
        with self._lock:
            self.deliveries.append(d)
            self.deliveries = self.deliveries[-1000:]
        self._put(time.time(), d)
        return d

    def _put(self, when: float, d: Delivery) -> None:
        with self._lock:
            self._seq += 1
            self._queue.put((when, self._seq, d))

    def _run(self) -> None:
        while True:
            when, _, d = self._queue.get()
            delay = when - time.time()
            if delay > 0:
                self._queue.put((when, _, d))
                time.sleep(min(delay, 0.05))
                continue
            self._senders.submit(self._attempt, d)

    def _attempt(self, d: Delivery) -> None:
        with self._lock:
            url, secret = self.url, self.secret
        if not url:
            return
        d.attempts += 1
        headers = {"Content-Type": "application/json", "User-Agent": "TwelveLabs-Webhook/local"}
        if secret:
            headers["TL-Signature"] = signature_header(secret, d.body)
        try:
            resp = self._http.post(url, data=d.body, headers=headers, timeout=10)
            d.status, d.response = resp.status_code, resp.text[:500]
        except requests.RequestException as exc:
            d.status = None
            log.warning("webhook %s to %s failed: %s", d.event_id, url, type(exc).__name__)
        d.history.append({"at": rfc3339(time.time()), "status": d.status})
        if d.status is not None and 200 <= d.status < 300:
            d.delivered_at = time.time()
        elif d.attempts <= len(RETRY_DELAYS):
            self._put(time.time() + RETRY_DELAYS[d.attempts - 1], d)

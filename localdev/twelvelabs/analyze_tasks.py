"""Async analysis tasks (`/analyze/tasks`): queued -> pending -> processing -> ready|failed on a clock (or
canceled), the work done in the background, `analyze.task.ready|failed|canceled` webhooks at the end."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .analyze_request import AnalyzeRequest
from .clock import Clock
from .errors import ApiError
from .generate import Generation
from .state import new_id, rfc3339
from .webhooks import Delivery, Webhooks

log = logging.getLogger("twelvelabs.analyze")
ORDER = ("queued", "pending", "processing", "ready", "failed", "canceled")
FINAL = ("ready", "failed", "canceled")
STAGES = (("pending", 0.2), ("processing", 0.4))  # share of the task time before each status


@dataclass
class FailureRule:
    """Fail analysis tasks whose video URL contains `match` (empty: all) with `message`."""

    match: str
    message: str
    times: int | None = None


@dataclass
class AnalyzeTask:
    id: str
    request: AnalyzeRequest
    created_at: float
    status: str = "queued"
    completed_at: float | None = None
    duration: float | None = None
    result: Generation | None = None
    error: dict | None = None
    outcome: tuple | None = None  # ("ok", Generation, duration) | ("failed", message) once the work is done
    due: bool = False             # the clock says the task may finish
    deliveries: list[Delivery] = field(default_factory=list)

    def video_source(self) -> dict | None:
        v = self.request.video or {}
        if not v:
            return None
        out: dict[str, Any] = {"type": v.get("type")}
        if v.get("type") == "url":
            out["url"] = v["url"]
        elif v.get("type") == "asset_id":
            out["asset_id"] = v["asset_id"]
        if self.duration is not None:
            out["system_metadata"] = {"duration": self.duration}
        return out

    def json(self) -> dict:
        """The task as `GET /analyze/tasks/{id}` answers it (SDK 1.3.6 AnalyzeTaskResponse)."""
        out: dict[str, Any] = {"task_id": self.id, "custom_id": self.request.custom_id}
        src = self.video_source()
        if src:
            out["video_source"] = src
        out["request_params"] = self.request.params_json()
        out["status"] = self.status
        out["created_at"] = rfc3339(self.created_at)
        if self.status in FINAL:
            out["completed_at"] = rfc3339(self.completed_at)
        if self.status == "ready" and self.result is not None:
            r = self.result
            out["result"] = {"generation_id": r.id, "data": r.data, "finish_reason": r.finish_reason,
                             "usage": r.usage()}
            if r.warning:
                out["error"] = {"message": r.warning}
        if self.error and self.status in ("failed", "canceled"):
            out["error"] = self.error
        if self.deliveries:
            out["webhooks"] = [{"url": d.url, "delivered": d.delivered_at is not None, "attempts": d.attempts,
                                **({"last_error": f"HTTP {d.status}" if d.status else "connection failed"}
                                   if d.attempts and d.delivered_at is None else {})}
                               for d in self.deliveries]
        return out

    def webhook_data(self) -> dict:
        """The snapshot a webhook carries: no result, request_params or completed_at (SDK docs)."""
        out: dict[str, Any] = {"id": self.id, "custom_id": self.request.custom_id,
                               "created_at": rfc3339(self.created_at)}
        src = self.video_source()
        if src:
            out["video_source"] = src
        out["status"] = self.status
        if self.status == "ready" and self.result is not None and self.result.warning:
            out["error"] = {"message": self.result.warning}
        elif self.error and self.status == "failed":
            out["error"] = {"message": self.error["message"]}
        return out


class AnalyzeTasks:
    """All async analysis tasks of the stand-in; `work(task) -> (Generation, duration)` does the analysis
    (raising ApiError to fail the task) on a small thread pool."""

    def __init__(self, webhooks: Webhooks, work: Callable[[AnalyzeRequest], tuple[Generation, float]],
                 seconds: float = 5.0) -> None:
        self.webhooks, self.work, self.seconds = webhooks, work, seconds
        self.tasks: dict[str, AnalyzeTask] = {}
        self.failure_rules: list[FailureRule] = []
        self.lock = threading.RLock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tl-analyze")
        self._clock = Clock(self._advance, "tl-analyze-clock")

    # ---- API --------------------------------------------------------------------------------------------
    def create(self, req: AnalyzeRequest) -> AnalyzeTask:
        now = time.time()
        task = AnalyzeTask(id=new_id(), request=req, created_at=now)
        with self.lock:
            self.tasks[task.id] = task
        total = max(0.0, self.seconds)
        for status, share in STAGES:
            self._clock.schedule(now + share * total, task.id, status)
        self._clock.schedule(now + total, task.id, "due")
        self._pool.submit(self._run, task.id)
        return task

    def get(self, task_id: str) -> AnalyzeTask:
        with self.lock:
            task = self.tasks.get(task_id)
        if task is None:
            raise ApiError(404, "resource_not_exist", f"The analysis task {task_id} does not exist.")
        return task

    def delete(self, task_id: str) -> None:
        with self.lock:
            task = self.get(task_id)
            if task.status not in FINAL:
                raise ApiError(409, "task_cannot_be_deleted",
                               f"The analysis task {task_id} is {task.status}; cancel it or wait until it ends.")
            self.tasks.pop(task_id)

    def cancel(self, task_id: str) -> AnalyzeTask:
        with self.lock:
            task = self.get(task_id)
            if task.status == "canceled":
                return task
            if task.status in FINAL:
                raise ApiError(409, "task_cannot_be_canceled", f"The analysis task {task_id} is already {task.status}.")
            task.status, task.completed_at = "canceled", time.time()
            task.error = {"code": "user_canceled", "message": "The task was canceled by the user."}
        self._notify(task)
        return task

    def listing(self, status: str | None, video_url: str | None, asset_id: str | None,
                analysis_mode: str | None) -> list[AnalyzeTask]:
        with self.lock:
            items = [t for t in self.tasks.values()
                     if (not status or t.status == status)
                     and (not video_url or (t.request.video or {}).get("url") == video_url)
                     and (not asset_id or (t.request.video or {}).get("asset_id") == asset_id)
                     and (not analysis_mode or t.request.analysis_mode == analysis_mode)]
        return sorted(items, key=lambda t: (t.created_at, t.id), reverse=True)

    def fail(self, task_id: str, message: str) -> bool:
        """Fail a task that has not finished (control plane)."""
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None or task.status in FINAL:
                return False
            task.status, task.completed_at, task.error = "failed", time.time(), {"message": message}
        self._notify(task)
        return True

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ---- work and clock ---------------------------------------------------------------------------------
    def _run(self, task_id: str) -> None:
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None or task.status in FINAL:
                return
        try:
            gen, duration = self.work(task.request)
            outcome: tuple = ("ok", gen, duration)
        except ApiError as exc:
            outcome = ("failed", exc.message)
        except Exception as exc:  # a crash must end the task, not leave it processing
            log.exception("analysis task %s crashed", task_id)
            outcome = ("failed", f"The video could not be analyzed ({type(exc).__name__}).")
        rule = self._rule(task)
        if rule is not None:
            outcome = ("failed", rule.message)
        with self.lock:
            task.outcome = outcome
            due = task.due
        if due:
            self._finish(task)

    def _rule(self, task: AnalyzeTask) -> FailureRule | None:
        url = (task.request.video or {}).get("url") or ""
        with self.lock:
            for rule in self.failure_rules:
                if rule.match in url and (rule.times is None or rule.times > 0):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    def _finish(self, task: AnalyzeTask) -> None:
        with self.lock:
            if task.status in FINAL or task.outcome is None:
                return
            if task.outcome[0] == "ok":
                task.result, task.duration = task.outcome[1], task.outcome[2]
                task.status = "ready"
            else:
                task.status, task.error = "failed", {"message": task.outcome[1]}
            task.completed_at = time.time()
        log.info("analysis task %s %s", task.id, task.status)
        self._notify(task)

    def _notify(self, task: AnalyzeTask) -> None:
        d = self.webhooks.analyze_event(task.status, task.webhook_data())
        if d is not None:
            d.url = self.webhooks.url or ""
            with self.lock:
                task.deliveries.append(d)

    def _advance(self, task_id: str, what: str) -> None:
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None or task.status in FINAL:
                return
            if what != "due":
                if ORDER.index(what) > ORDER.index(task.status):
                    task.status = what
                return
            task.due = True
            task.status = "processing"
            done = task.outcome is not None
        if done:
            self._finish(task)


def data_dir_for(root: str) -> str:
    """Where fetched analyze videos go (removed once understood)."""
    path = os.path.join(root, "analyze")
    os.makedirs(path, exist_ok=True)
    return path

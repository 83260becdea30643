"""Cloud Tasks: enqueue HTTP tasks to our private functions with deterministic names and schedule times.

A named task is created once: Cloud Tasks refuses a second create with the same name with ALREADY_EXISTS while
the task exists and for ~1 hour after it ran or was deleted. `enqueue` reports that as the outcome
`already_queued` (the same hop was queued before, e.g. by a retried caller: nothing to do). The other side of
that rule: a chain must give every *later* hop a name of its own (a hop/attempt/sequence number in the key),
or the next hop is refused and the chain silently stops. Locally the strict emulator (`localdev/tasks`,
CLOUD_TASKS_EMULATOR_HOST) refuses reused names the same way.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

import flask

from mam import log
from mam.manifest import function_url
from mam.runtime import tasks_emulator
from mam.settings import settings

_lock = threading.Lock()
_client = None


def _tasks_client():
    global _client
    with _lock:
        if _client is None:
            from google.cloud import tasks_v2  # lazy: heavy import

            host = tasks_emulator()
            if host:
                import grpc
                from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

                _client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(host)))
            else:
                _client = tasks_v2.CloudTasksClient()
    return _client


def reset_client() -> None:
    """Drop the cached client (tests point at another emulator)."""
    global _client
    with _lock:
        _client = None


def queue_path(queue: str) -> str:
    """Full resource name of one of our queues."""
    core = settings("core").core
    return f"projects/{core.project}/locations/{core.region}/queues/{queue}"


def task_id(*key: Any) -> str:
    """Deterministic task id from a key. Hashed, as Cloud Tasks advises, so ids spread and stay in [A-Za-z0-9_-]."""
    raw = "\x1f".join(str(k) for k in key)
    return "t-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


CREATED = "created"
ALREADY_QUEUED = "already_queued"


@dataclass(frozen=True)
class Enqueued:
    """What `enqueue` did: the task id it used ("" if unnamed) and how the create ended (CREATED or ALREADY_QUEUED)."""

    name: str
    outcome: str

    @property
    def already_queued(self) -> bool:
        """True if Cloud Tasks already had (or recently ran) a task of this name: this hop was queued before."""
        return self.outcome == ALREADY_QUEUED


def enqueue(queue: str, target: str, path: str, payload: dict[str, Any], *, key: tuple[Any, ...] | None = None,
            delay_seconds: float = 0, deadline_seconds: int = 120) -> Enqueued:
    """Create an HTTP POST task calling function `target` at `path` with a JSON `payload`.

    `key` makes the task name deterministic: the same key within ~1 hour gives outcome ALREADY_QUEUED instead of a
    second task (logged at debug; not an error). Include a hop/attempt number in `key` for each new hop of a chain.
    The task carries an OIDC token of TASKS_SERVICE_ACCOUNT with the target's URL as audience, which the target
    checks (`mam.task_auth`); without TASKS_SERVICE_ACCOUNT it has none and the target refuses it.
    """
    from google.api_core.exceptions import AlreadyExists
    from google.cloud import tasks_v2
    from google.protobuf import duration_pb2, timestamp_pb2

    base = function_url(target)
    http_request: dict[str, Any] = {
        "http_method": tasks_v2.HttpMethod.POST,
        "url": base + path,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload, separators=(",", ":")).encode(),
    }
    sa = settings("core").core.tasks_service_account
    if sa:  # the local Cloud Tasks signs it too, so the target's check (mam.task_auth) is the same everywhere
        http_request["oidc_token"] = {"service_account_email": sa, "audience": base}  # bare URL: no path/query
    task: dict[str, Any] = {"http_request": http_request,
                            "dispatch_deadline": duration_pb2.Duration(seconds=max(15, min(1800, deadline_seconds)))}
    qpath = queue_path(queue)
    name = ""
    if key is not None:
        name = task_id(queue, target, path, *key)
        task["name"] = f"{qpath}/tasks/{name}"
    if delay_seconds > 0:
        ts = timestamp_pb2.Timestamp()
        ts.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay_seconds))
        task["schedule_time"] = ts
    try:
        _tasks_client().create_task(parent=qpath, task=task)
    except AlreadyExists:
        # Only a named task can collide, and only with itself: this hop is queued (or ran within the hour).
        log.debug("task already queued", queue=queue, target=target, path=path, task=name)
        return Enqueued(name, ALREADY_QUEUED)
    return Enqueued(name, CREATED)


def ensure_queues(queues: dict[str, dict[str, Any]]) -> None:
    """Create the named queues if missing (local stack and tests; deploy.sh manages cloud queues)."""
    from google.api_core.exceptions import AlreadyExists

    client = _tasks_client()
    for queue in queues:
        parent = queue_path(queue).rsplit("/queues/", 1)[0]
        try:
            client.create_queue(parent=parent, queue={"name": queue_path(queue)})
        except AlreadyExists:
            pass


@dataclass(frozen=True)
class TaskContext:
    """What Cloud Tasks says about the delivery being handled."""

    name: str
    queue: str
    retry_count: int
    execution_count: int


def task_context(request: flask.Request) -> TaskContext:
    """Read the X-CloudTasks-* headers (empty values when called directly)."""
    h = request.headers

    def num(name: str) -> int:
        try:
            return int(h.get(name, "0"))
        except ValueError:
            return 0

    return TaskContext(name=h.get("X-CloudTasks-TaskName", ""), queue=h.get("X-CloudTasks-QueueName", ""),
                       retry_count=num("X-CloudTasks-TaskRetryCount"), execution_count=num("X-CloudTasks-TaskExecutionCount"))

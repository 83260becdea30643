"""gcloud-tasks-emulator with Cloud Tasks' refusals: reused task names, malformed names, out-of-range fields.

The emulator accepts any CreateTask; real Cloud Tasks does not, and code that only ever met the emulator breaks
in the cloud (a polling chain re-using its task name is silently dropped there for ~1 hour). This module
subclasses the installed emulator's queue state and API thread (nothing in site-packages is changed) so that
CreateTask answers what the real service answers. Each refusal and its source is listed in README.md; the
messages are the real service's, as recorded against a live project by aertje/cloud-tasks-emulator
(conformance/golden/realcloud.json, internal/server/protohelpers.go).
"""
from __future__ import annotations

import logging
import re
import threading
import time
from concurrent import futures
from datetime import UTC, datetime, timedelta
from urllib import request as urlrequest

import grpc
from gcloud_tasks_emulator import server as upstream
from gcloud_tasks_emulator.cloudtasks_pb2_grpc import add_CloudTasksServicer_to_server
from google.api_core.exceptions import AlreadyExists, InvalidArgument, NotFound
from google.cloud.tasks_v2 import HttpMethod, Queue, Task

from .oidc import LocalKey, id_token_claims

log = logging.getLogger("localdev.tasks")

DEFAULT_WINDOW = 3600.0  # "~1 hour" for queues created through the Cloud Tasks API (CreateTaskRequest docs)
MAX_SCHEDULE_AHEAD = timedelta(days=30)  # quotas page: "Maximum schedule time for a task: 30 days"
DEADLINE_MIN, DEADLINE_MAX = timedelta(seconds=15), timedelta(minutes=30)  # Task.dispatch_deadline, HTTP targets
DEFAULT_DEADLINE = timedelta(minutes=10)
MAX_STORED_TASK_BYTES = (1 << 20) - 7  # quotas page "1 MB"; exact boundary measured by aertje (tasksize.go)

_TASK_NAME = re.compile(r"^(projects/[^/]+/locations/[^/]+/queues/[^/]+)/tasks/([^/]*)$")
_TASK_ID = re.compile(r"^[A-Za-z0-9_-]{1,500}$")

# The real service's words (see the module docstring for where they were recorded).
ALREADY_EXISTS = "Requested entity already exists"
QUEUE_EXISTS = "Queue already exists"
QUEUE_NOT_FOUND = ("Queue does not exist. If you just created the queue, wait at least a minute for the queue to "
                   "initialize.")
BAD_NAME = ('Task name must be formatted: '
            '"projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>/tasks/<TASK_ID>"')
BAD_ID = ('Task ID "{}" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or underscores (_). '
          'Task ID must between 1 and 500 characters.')
QUEUE_MISMATCH = ("The queue name from request ('{}') must be the same as the queue name in the named task "
                  "('{}').")
BAD_DEADLINE = "Task.dispatchDeadline must be between [15s, 30m]."
TOO_FAR = ("The Task.scheduleTime, {}, is too far in the future. Schedule time must be no more than 720h in the "
           "future.")
TOO_LARGE = "Task size too large"
URL_REQUIRED = "HttpRequest.url is required."
URL_SCHEME = "HttpTarget.url must start with 'http://' or 'https://'."


def check_task(parent: str, task: Task, now: datetime) -> None:
    """Raise InvalidArgument, worded as Cloud Tasks words it, for a task the real CreateTask refuses."""
    if task.name:
        m = _TASK_NAME.match(task.name)
        if not m:
            raise InvalidArgument(BAD_NAME)
        if m.group(1) != parent:
            raise InvalidArgument(QUEUE_MISMATCH.format(parent, m.group(1)))
        if not _TASK_ID.match(m.group(2)):
            raise InvalidArgument(BAD_ID.format(m.group(2)))
    deadline = task.dispatch_deadline
    if deadline and not DEADLINE_MIN <= deadline <= DEADLINE_MAX:  # zero means unset: the 10 min default
        raise InvalidArgument(BAD_DEADLINE)
    if task.schedule_time is not None and task.schedule_time > now + MAX_SCHEDULE_AHEAD:
        raise InvalidArgument(TOO_FAR.format(task.schedule_time.isoformat()))
    if "http_request" in task:
        url = task.http_request.url
        if not url:
            raise InvalidArgument(URL_REQUIRED)
        if not url.startswith(("http://", "https://")):
            raise InvalidArgument(URL_SCHEME)
    if stored_size(parent, task, now) > MAX_STORED_TASK_BYTES:
        raise InvalidArgument(TOO_LARGE)


def stored_size(parent: str, task: Task, now: datetime) -> int:
    """Bytes of the task as Cloud Tasks stores it (name, times, default deadline and method filled in)."""
    pb = type(Task.pb(task))()
    pb.CopyFrom(Task.pb(task))
    if not pb.name:
        pb.name = f"{parent}/tasks/{'0' * 19}"  # the service picks a numeric id of about this length
    if not pb.HasField("schedule_time"):
        pb.schedule_time.FromDatetime(now)
    pb.create_time.FromDatetime(now)
    if not pb.HasField("dispatch_deadline"):
        pb.dispatch_deadline.FromTimedelta(DEFAULT_DEADLINE)
    if pb.HasField("http_request") and not pb.http_request.http_method:
        pb.http_request.http_method = HttpMethod.POST
    return pb.ByteSize()


class StrictQueueState(upstream.QueueState):
    """The emulator's in-memory queues, plus the task names Cloud Tasks would still refuse to reuse."""

    def __init__(self, target_host: str, target_port: int, max_retries: int, window: float = DEFAULT_WINDOW):
        super().__init__(target_host, target_port, max_retries)
        self.window = window
        self._names = threading.Lock()
        self._live: set[str] = set()        # named tasks still in a queue
        self._gone: dict[str, float] = {}   # name -> monotonic time it was executed, given up or purged
        self._next_prune = 0.0

    def create_queue(self, parent, queue: Queue):
        if queue.name in self._queues:  # the emulator answers the existing queue; the service refuses
            raise AlreadyExists(QUEUE_EXISTS)
        return super().create_queue(parent, queue)

    def create_task(self, queue: str, task: Task):
        if queue not in self._queue_tasks:  # the emulator says FAILED_PRECONDITION; the service NOT_FOUND
            raise NotFound(QUEUE_NOT_FOUND)
        check_task(queue, task, datetime.now(UTC))
        name = task.name
        if name:
            with self._names:
                now = time.monotonic()
                self._prune(now)
                gone_at = self._gone.get(name)
                if name in self._live or (gone_at is not None and now - gone_at < self.window):
                    log.info("CreateTask refused: ALREADY_EXISTS %s (%s)", name, task.http_request.url)
                    raise AlreadyExists(ALREADY_EXISTS)
                self._live.add(name)
                self._gone.pop(name, None)
        try:
            return super().create_task(queue, task)
        except Exception:  # re-raised; only the name reservation is undone
            self._retire([name] if name else [], record=False)
            raise

    def submit_task(self, task_name: str, force_run: bool = False) -> Task:
        task = super().submit_task(task_name, force_run)
        queue = self._queue_tasks.get(task.name.rsplit("/tasks/", 1)[0], [])
        # The emulator puts a task it keeps (not due yet, or failed with retries left) back at the end of the list.
        kept = bool(queue) and (queue[-1] is task or any(t is task for t in queue))
        if not kept:
            self._retire([task.name])
        return task

    def purge_queue(self, queue_name: str):
        self._retire([t.name for t in self._queue_tasks.get(queue_name, [])])  # deleted names stay taken too
        return super().purge_queue(queue_name)

    def delete_queue(self, name: str):
        self._retire([t.name for t in self._queue_tasks.get(name, [])])
        return super().delete_queue(name)

    def _retire(self, names: list[str], record: bool = True) -> None:
        """The tasks left their queue: their names stay refused for `window` seconds from now."""
        with self._names:
            now = time.monotonic()
            for name in names:
                self._live.discard(name)
                if record:
                    self._gone[name] = now

    def _prune(self, now: float) -> None:
        if now < self._next_prune:
            return
        self._next_prune = now + min(60.0, self.window)
        self._gone = {n: t for n, t in self._gone.items() if now - t < self.window}


_oidc_key: LocalKey | None = None  # set by StrictServer: the key the ID tokens of dispatches are signed with


def oidc_header(task: Task, key: LocalKey | None) -> dict[str, str]:
    """`Authorization: Bearer <ID token>` for a task with an `oidc_token`, as Cloud Tasks sends it (the token's
    audience defaults to the task's URL); {} for a task without one."""
    if "oidc_token" not in task.http_request:
        return {}
    if key is None:  # StrictServer always has one; a bare QueueState in a unit test may not
        raise RuntimeError("the local Cloud Tasks has no OIDC key")
    token = task.http_request.oidc_token
    claims = id_token_claims(token.service_account_email, token.audience or task.http_request.url)
    return {"Authorization": f"Bearer {key.sign(claims)}"}


def _dispatch(queue_name: str, task: Task, host: str, port: int):
    """The emulator's HTTP dispatch, bounded by the task's dispatch deadline as Cloud Tasks bounds it, with the
    task's OIDC token (a fresh one per attempt, as Cloud Tasks mints them)."""
    if not task.http_request.url:
        return _upstream_dispatch(queue_name, task, host, port)
    schedule = task.schedule_time
    headers = dict(task.http_request.headers)
    headers.update(oidc_header(task, _oidc_key))  # replaces an Authorization header of the task, as Cloud Tasks does
    headers.update({
        "User-Agent": "Google-Cloud-Tasks",
        "X-CloudTasks-QueueName": queue_name,  # as the emulator sends it (the full queue path)
        "X-CloudTasks-TaskName": task.name.rsplit("/", 1)[-1],
        "X-CloudTasks-TaskRetryCount": str(task.dispatch_count - 1),
        "X-CloudTasks-TaskExecutionCount": str(task.dispatch_count - 1),
        "X-CloudTasks-TaskETA": str(schedule.timestamp()) if schedule else "",
    })
    req = urlrequest.Request(task.http_request.url, method=task.http_request.http_method.name,
                             data=task.http_request.body or None, headers=headers)
    # A socket timeout is per read, so a handler that trickles bytes can outlast it; close enough for local use.
    timeout = (task.dispatch_deadline or DEFAULT_DEADLINE).total_seconds()
    return urlrequest.urlopen(req, timeout=timeout)


_upstream_dispatch = upstream._make_task_request
upstream._make_task_request = _dispatch  # QueueState.submit_task looks the function up in its module


class LoopbackAPIThread(upstream.APIThread):
    """The emulator's gRPC API, bound to one loopback address instead of every interface ([::]).

    It binds in `start()` itself rather than in a thread, so a taken port fails the start-up instead of leaving a
    process that listens nowhere."""

    def __init__(self, state: StrictQueueState, host: str, port: int):
        super().__init__(state, host, port)
        self._host = host

    def start(self) -> None:
        self._httpd = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        add_CloudTasksServicer_to_server(upstream.Greeter(self._state), self._httpd)
        if not self._httpd.add_insecure_port(f"{self._host}:{self._port}"):
            raise OSError(f"cannot listen on {self._host}:{self._port}")
        self._httpd.start()


class StrictServer(upstream.Server):
    """The emulator's server (API thread + dispatching processor) on the strict queue state."""

    def __init__(self, port: int, *, host: str = "127.0.0.1", window: float = DEFAULT_WINDOW, max_retries: int = -1,
                 oidc_key: LocalKey | None = None):
        global _oidc_key
        _oidc_key = oidc_key
        self._state = StrictQueueState(upstream.DEFAULT_TARGET_HOST, upstream.DEFAULT_TARGET_PORT, max_retries,
                                       window)
        self._api = LoopbackAPIThread(self._state, host, port)
        self._processor = upstream.Processor(self._state)

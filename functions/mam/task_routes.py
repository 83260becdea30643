"""Every Cloud Tasks route of the system, each declared once: queue, target function, path and payload dataclass.

The producing side calls `ROUTE.enqueue(Payload(...), key=(...), delay_seconds=...)`; the target function serves
the route with `@ROUTE.serve(router)` and its handler gets `(payload, TaskContext)`, the payload already typed and
checked. Only deliveries with Cloud Tasks' OIDC token for the target get that far (`mam.task_auth`: 401/403
before the body is read). A malformed body gets a 400 `ApiError` naming the bad field, never a 500. Payload fields may be `str`,
`int`, `float` or `dict[str, Any]`, each optionally `| None`: a field with a default may be missing (a task queued
before the field existed) and unknown fields are ignored (a task queued by a newer version). Rules on values (an id's
shape, a positive attempt) live in the payload's `__post_init__` and raise `InvalidPayload`.

Task names come from (queue, target, path, *key) in `mam.tasks.enqueue`, so the triples below must not change while
tasks are in flight. How deliveries stay idempotent: `mam.idempotency`.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import flask

from mam import task_auth, tasks
from mam.http import ApiError, Router, json_body
from mam.tasks import TaskContext

P = TypeVar("P")
# what a field's type may be, and how a 400 names it
_KINDS: dict[type, str] = {str: "a string", int: "an integer", float: "a number", dict: "an object"}


class InvalidPayload(ValueError):
    """A payload value breaking its field's rule (raised by a payload's `__post_init__`); becomes a 400."""

    def __init__(self, field: str, message: str):
        super().__init__(f"task payload field `{field}` {message}")
        self.field = field


class _Field:
    """One payload field as the loader checks it (a slotted class: cheaper to define at import than a NamedTuple)."""

    __slots__ = ("name", "kind", "nullable", "required")

    def __init__(self, name: str, kind: type, nullable: bool, required: bool):
        self.name, self.kind, self.nullable, self.required = name, kind, nullable, required


@functools.cache
def _fields_of(payload_type: type) -> tuple[_Field, ...]:
    """The checkable fields of a payload dataclass; TypeError for a type the loader does not support."""
    if not dataclasses.is_dataclass(payload_type):
        raise TypeError(f"{payload_type.__name__} is not a dataclass")
    hints = typing.get_type_hints(payload_type)
    out = []
    for f in dataclasses.fields(payload_type):
        hint = hints[f.name]
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(hint) if a is not type(None)]
            nullable = len(members) < len(typing.get_args(hint))
        else:
            members, nullable = [hint], False
        kind = (typing.get_origin(members[0]) or members[0]) if len(members) == 1 else None
        if kind not in _KINDS:
            raise TypeError(f"{payload_type.__name__}.{f.name}: a task payload field is str, int, float or dict")
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out.append(_Field(f.name, kind, nullable, required))
    return tuple(out)


def _checked(field: _Field, value: Any) -> Any:
    """`value` as the field's type, or InvalidPayload."""
    if value is None:
        if field.nullable:
            return None
        raise InvalidPayload(field.name, f"must be {_KINDS[field.kind]}, not null")
    if isinstance(value, bool):  # JSON true/false is never one of our numbers (bool is an int in Python)
        raise InvalidPayload(field.name, f"must be {_KINDS[field.kind]}")
    if field.kind is float and isinstance(value, (int, float)):
        if not math.isfinite(value):  # json.loads accepts NaN and Infinity
            raise InvalidPayload(field.name, "must be a finite number")
        return float(value)
    if not isinstance(value, field.kind):
        raise InvalidPayload(field.name, f"must be {_KINDS[field.kind]}")
    return value


def load_payload(payload_type: type[P], body: dict[str, Any]) -> P:
    """The payload dataclass of a task body; InvalidPayload naming the first missing or malformed field."""
    values: dict[str, Any] = {}
    for field in _fields_of(payload_type):
        if field.name in body:
            values[field.name] = _checked(field, body[field.name])
        elif field.required:
            raise InvalidPayload(field.name, "is missing")
    return payload_type(**values)


def require_video_id(field: str, value: str) -> None:
    """The shape of a video id (as `mam.http.id_list` accepts it): 1-200 characters, no '/' (a Firestore path)."""
    if not value or len(value) > 200 or "/" in value:
        raise InvalidPayload(field, "must be a video id")


def require_count(field: str, value: int, low: int, high: int) -> None:
    """An attempt/hop/run/seq number in [low, high]: JSON integers are unbounded, Firestore's are 64-bit."""
    if not low <= value <= high:
        raise InvalidPayload(field, f"must be an integer from {low} to {high}")


def require_token(field: str, value: str, longest: int, *, empty: bool = False) -> None:
    """An id-like value of 1 to `longest` letters, digits, '_' and '-' ("" too if `empty`): it goes into task
    names and Firestore keys."""
    if empty and value == "":
        return
    if len(value) > longest or not _TOKEN.fullmatch(value):
        raise InvalidPayload(field, f"must be 1 to {longest} letters, digits, '_' or '-'")


_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class TaskRoute(Generic[P]):
    """One Cloud Tasks route: tasks go to `queue`, are sent to function `target` at `path` with a `payload_type`.

    `deadline_seconds` is the dispatch deadline (keep it under the target's timeout); `error_code` is the code of
    a 400 for a malformed payload. (A plain class, not a dataclass: every function imports these at cold start.)
    """

    def __init__(self, queue: str, target: str, path: str, payload_type: type[P], *, deadline_seconds: int = 60,
                 error_code: str = "invalid_task"):
        self.queue = queue
        self.target = target
        self.path = path
        self.payload_type = payload_type
        self.deadline_seconds = deadline_seconds
        self.error_code = error_code
        _fields_of(payload_type)  # an unsupported field type fails at import, not on the first task

    def __repr__(self) -> str:
        return f"TaskRoute({self.queue!r}, {self.target!r}, {self.path!r}, {self.payload_type.__name__})"

    def body(self, payload: P) -> dict[str, Any]:
        """The JSON body of a task carrying `payload` (its fields, in declaration order)."""
        if not isinstance(payload, self.payload_type):
            raise TypeError(f"{self.path} carries {self.payload_type.__name__}, not {type(payload).__name__}")
        return dataclasses.asdict(payload)

    def enqueue(self, payload: P, *, key: tuple[Any, ...], delay_seconds: float = 0) -> tasks.Enqueued:
        """Queue one task of this route, named from `key` (give every hop of a chain a key of its own)."""
        return tasks.enqueue(self.queue, self.target, self.path, self.body(payload), key=key,
                             delay_seconds=delay_seconds, deadline_seconds=self.deadline_seconds)

    def load(self, body: dict[str, Any]) -> P:
        """The typed payload of a task body already parsed, or a 400 ApiError naming the bad field."""
        try:
            return load_payload(self.payload_type, body)
        except InvalidPayload as exc:
            raise ApiError(400, self.error_code, str(exc)) from None

    def parse(self, request: flask.Request) -> P:
        """The typed payload of a task request (JSON object body), or a 400/413 ApiError."""
        return self.load(json_body(request))

    def serve(self, router: Router) -> Callable[[Callable[[P, TaskContext], Any]], Callable[[P, TaskContext], Any]]:
        """Decorator: serve POST `path` on `router` (the target function's) with `handler(payload, ctx)`; only
        deliveries carrying Cloud Tasks' OIDC token for the target reach it (`mam.task_auth`: 401/403 otherwise)."""
        if router.name != self.target:
            raise ValueError(f"{self.path} is a route of {self.target}, not of {router.name}")

        def register(handler: Callable[[P, TaskContext], Any]) -> Callable[[P, TaskContext], Any]:
            def run(request: flask.Request) -> Any:
                task_auth.require_task_caller(request, self.target)  # before the body is even read
                return handler(self.parse(request), tasks.task_context(request))

            router.route("POST", self.path)(run)
            return handler

        return register


# ---- uploads ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UploadCheck:
    """Check number `attempt` (1, 2, ...) of an upload whose TransloadIt notification may have been lost."""

    video_id: str
    attempt: int = 1
    policy: dict[str, Any] | None = None  # CheckPolicy.to_payload(); missing parts fall back to the current knobs

    def __post_init__(self) -> None:
        require_video_id("video_id", self.video_id)
        require_count("attempt", self.attempt, 1, MAX_ATTEMPT)
        for key in _POLICY_KEYS & set(self.policy or {}):  # other keys are ignored (a newer version's)
            value = (self.policy or {})[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e12:
                raise InvalidPayload("policy", f"`{key}` must be a number of seconds")


_POLICY_KEYS = frozenset({"first", "max", "grace_until", "deadline", "idle"})  # uploads.policy.CheckPolicy.to_payload
MAX_ATTEMPT = 10_000  # far above any retry budget of ours; a bound, not a policy
MAX_STEP = 1_000_000_000  # hops and step numbers: far above any real chain


# `invalid_field`: the code this route has always answered for a bad payload
UPLOAD_CHECK = TaskRoute("uploads", "upload_tasks", "/check", UploadCheck, error_code="invalid_field")


# ---- indexing ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexSubmit:
    """Attempt `attempt` to create the Twelve Labs task of run `run` of a video."""

    video_id: str
    run: int
    attempt: int = 0
    nonce: str = ""  # drawn per run (see indexing.worker.enqueue_submit); "" in tasks queued before nonces

    def __post_init__(self) -> None:
        require_video_id("video_id", self.video_id)
        require_count("run", self.run, 0, MAX_STEP)
        require_count("attempt", self.attempt, 0, MAX_ATTEMPT)
        require_token("nonce", self.nonce, 64, empty=True)


@dataclass(frozen=True)
class IndexFollow:
    """Poll number `hop` of Twelve Labs task `task_id`, created at `started` (unix seconds); `errors` in a row."""

    video_id: str
    task_id: str
    hop: int
    started: float
    errors: int = 0

    def __post_init__(self) -> None:
        require_video_id("video_id", self.video_id)
        require_token("task_id", self.task_id, 128)
        require_count("hop", self.hop, 0, MAX_STEP)
        if not 0 <= self.started < 1e11:  # unix seconds (finite: the loader refuses NaN and infinities)
            raise InvalidPayload("started", "must be a time in unix seconds")
        require_count("errors", self.errors, 0, MAX_ATTEMPT)


INDEX_SUBMIT = TaskRoute("index", "index_tasks", "/tasks/submit", IndexSubmit)
INDEX_FOLLOW = TaskRoute("index", "index_tasks", "/tasks/follow", IndexFollow)

# ---- video intelligence -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InsightGenerate:
    """Attempt `attempt` of run `run` of a video's insights for Twelve Labs video `tl_video_id` (the version they
    are generated for); `errors` = failed Twelve Labs calls in a row (the back-off)."""

    video_id: str
    tl_video_id: str
    run: int
    attempt: int = 0
    errors: int = 0

    def __post_init__(self) -> None:
        require_video_id("video_id", self.video_id)
        require_token("tl_video_id", self.tl_video_id, 128)
        require_count("run", self.run, 1, MAX_STEP)
        require_count("attempt", self.attempt, 0, MAX_ATTEMPT)
        require_count("errors", self.errors, 0, MAX_ATTEMPT)


@dataclass(frozen=True)
class InsightFollow:
    """Poll number `hop` of the asynchronous analyze task `task_id` (videos over the sync limit) of run `run`."""

    video_id: str
    task_id: str
    run: int
    hop: int
    started: float
    errors: int = 0

    def __post_init__(self) -> None:
        require_video_id("video_id", self.video_id)
        require_token("task_id", self.task_id, 128)
        require_count("run", self.run, 1, MAX_STEP)
        require_count("hop", self.hop, 0, MAX_STEP)
        if not 0 <= self.started < 1e11:
            raise InvalidPayload("started", "must be a time in unix seconds")
        require_count("errors", self.errors, 0, MAX_ATTEMPT)


# an analyze call of a long video may take a while: the dispatch deadline leaves room under the 300 s timeout
INSIGHT_GENERATE = TaskRoute("insights", "insight_tasks", "/insights/generate", InsightGenerate, deadline_seconds=280)
INSIGHT_FOLLOW = TaskRoute("insights", "insight_tasks", "/insights/follow", InsightFollow)

# ---- iconik -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IconikStep:
    """Step `seq` of iconik run `run_id`; `token` is the custom action's iconik auth token. `sig` (an HMAC of the
    three that tasks queued before task-route auth carry) is accepted and ignored: the OIDC token of the delivery
    (`mam.task_auth`) is what proves a step comes from us."""

    run_id: str
    seq: int
    token: str
    sig: str = ""

    def __post_init__(self) -> None:
        if not self.run_id or len(self.run_id) > 200 or "/" in self.run_id:
            raise InvalidPayload("run_id", "must be a run id")
        require_count("seq", self.seq, 0, MAX_STEP)
        if not self.token.strip() or len(self.token) > 8192 or any(c in self.token for c in "\r\n"):
            raise InvalidPayload("token", "must be an iconik auth token")  # never echo the token itself
        if len(self.sig) > 256:
            raise InvalidPayload("sig", "must be at most 256 characters")


# `bad_task`: the code this route has always answered for a bad payload
ICONIK_STEP = TaskRoute("iconik", "iconik_tasks", "/step", IconikStep, deadline_seconds=180, error_code="bad_task")

ROUTES: tuple[TaskRoute[Any], ...] = (UPLOAD_CHECK, INDEX_SUBMIT, INDEX_FOLLOW, ICONIK_STEP, INSIGHT_GENERATE,
                                      INSIGHT_FOLLOW)

"""The run record: one custom-action call, as the phases read and change it (`iconik_runs/{run_id}`).

`Run.from_doc` / `Run.to_doc` are the only places that know the stored shape; it is the shape runs have always
had, so runs in flight keep working. A few keys are stored only once they mean something (`final`,
`iconik_job_error`, a copy job's `seen_*`, the wait state's `progress`, `overlap_done`, `caught_up`): `to_doc`
leaves them out until then, so a stored document reads back and writes out unchanged.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from mam.iconik.request import ActionBody, ActionQuery, plan_formats

ADD, REMOVE = "add", "remove"


@dataclass
class CopyJob:
    """One bulk copy request: its iconik job and what we last saw of it."""

    key: str                      # "<format>/<object_type>/<n>": a resumed submit skips the keys it already has
    format: str
    object_type: str              # "assets" | "collections"
    count: int
    id: str | None                # iconik's job id; None when iconik refused the request
    status: str | None            # iconik's job status, "REFUSED" (ours) or jobs.MISSING
    error: str | None
    seen_done: Any = None         # progress_processed at our last look (as iconik sent it) ...
    seen_at: float | None = None  # ... and when; both stored once the job has been looked at

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> CopyJob:
        """Read a stored copy-job entry."""
        return cls(key=doc["key"], format=doc["format"], object_type=doc["object_type"], count=doc["count"],
                   id=doc.get("id"), status=doc.get("status"), error=doc.get("error"),
                   seen_done=doc.get("seen_done"), seen_at=doc.get("seen_at"))

    def to_doc(self) -> dict[str, Any]:
        """The stored entry."""
        doc = {"key": self.key, "format": self.format, "object_type": self.object_type, "count": self.count,
               "id": self.id, "status": self.status, "error": self.error}
        if self.seen_at is not None:
            doc.update(seen_done=self.seen_done, seen_at=self.seen_at)
        return doc


@dataclass
class Frontier:
    """A collection still to be walked, and the contents page to read next."""

    collection_id: str
    page: int = 1


@dataclass
class Expansion:
    """The walk over the selected collections (stored as `expand`)."""

    frontier: list[Frontier]
    seen: list[str]               # every collection queued so far (cycles and shared sub-collections once)
    pages: int = 0
    missing: list[str] = field(default_factory=list)
    odd_ids: int = 0              # listed objects with a malformed id, skipped

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Expansion:
        """Read the stored walk."""
        return cls(frontier=[Frontier(f["c"], f["p"]) for f in doc["frontier"]], seen=list(doc["seen"]),
                   pages=doc["pages"], missing=list(doc["missing"]), odd_ids=doc["odd_ids"])

    def to_doc(self) -> dict[str, Any]:
        """The stored walk (frontier items as {"c", "p"})."""
        return {"frontier": [{"c": f.collection_id, "p": f.page} for f in self.frontier], "seen": list(self.seen),
                "pages": self.pages, "missing": list(self.missing), "odd_ids": self.odd_ids}


@dataclass
class WaitState:
    """Following the copy jobs (stored as `wait`)."""

    started: float
    deadline: float               # after this every asset is judged, finished copies or not
    checks: int = 0
    timed_out: bool = False
    progress: Any = None          # summed progress_processed at the last check; stored from the first check on
    overlap_done: bool = False    # every asset was seen while copying; stored once true
    caught_up: int = 0            # process steps that caught up with the copy; stored once counted

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> WaitState:
        """Read the stored wait state."""
        return cls(started=doc["started"], deadline=doc["deadline"], checks=doc["checks"],
                   timed_out=doc["timed_out"], progress=doc.get("progress"),
                   overlap_done=doc.get("overlap_done", False), caught_up=doc.get("caught_up", 0))

    def to_doc(self) -> dict[str, Any]:
        """The stored wait state."""
        doc: dict[str, Any] = {"started": self.started, "deadline": self.deadline, "checks": self.checks,
                               "timed_out": self.timed_out}
        if self.checks:
            doc["progress"] = self.progress
        if self.overlap_done:
            doc["overlap_done"] = True
        if self.caught_up:
            doc["caught_up"] = self.caught_up
        return doc


@dataclass
class Cursor:
    """Where the process phase resumes: chunk number and position in it."""

    chunk: int = 0
    pos: int = 0

    def to_doc(self) -> dict[str, int]:
        """The stored cursor."""
        return {"chunk": self.chunk, "pos": self.pos}


@dataclass
class Run:
    """An iconik run as the state machine sees it. `phase`/`seq`/`lease_*` drive the step protocol (machine.py)."""

    id: str
    op: str                                   # ADD | REMOVE
    status: str = "running"                   # running -> succeeded | partial | failed
    phase: str = "submit"                     # submit, expand, wait, process, finish, done
    seq: int = 0
    lease_owner: str | None = None
    lease_until: float = 0
    next_at: float = 0.0
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None
    # what was asked
    context: str | None = None
    b2_storage_id: str = ""
    ll_storage_id: str = ""
    formats: list[str] = field(default_factory=list)
    copy_formats: list[str] = field(default_factory=list)
    verify_formats: list[str] = field(default_factory=list)
    asset_ids: list[str] = field(default_factory=list)
    collection_ids: list[str] = field(default_factory=list)
    user_id: str | None = None
    action_id: str | None = None
    date_created: str | None = None
    saved_searches_ignored: int = 0
    # progress
    iconik_job_id: str | None = None
    iconik_job_error: str | None = None       # creating the visible job failed; stored only then
    copy_jobs: list[CopyJob] = field(default_factory=list)
    expand: Expansion | None = None
    wait: WaitState | None = None
    final: bool = False                       # the final pass over every asset has begun; stored once true
    cursor: Cursor | None = None
    assets_total: int | None = None
    chunks: int = 0
    processed: int = 0
    steps: int = 0
    step_failures: int = 0
    last_error: str | None = None
    # outcome
    error: str | None = None
    summary: dict[str, int] | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    message: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Run:
        """Read a stored run; the document is not kept or changed."""
        doc = copy.deepcopy(doc)
        plain = {k: doc[k] for k in _PLAIN if k in doc}
        cursor = doc.get("cursor")
        return cls(**plain,
                   final=doc.get("final", False),
                   copy_jobs=[CopyJob.from_doc(j) for j in doc.get("copy_jobs") or []],
                   expand=Expansion.from_doc(doc["expand"]) if doc.get("expand") else None,
                   wait=WaitState.from_doc(doc["wait"]) if doc.get("wait") else None,
                   cursor=Cursor(cursor["chunk"], cursor["pos"]) if cursor else None)

    def to_doc(self) -> dict[str, Any]:
        """The stored document (a new one on every call: nothing in it is shared with the record)."""
        doc = copy.deepcopy({k: getattr(self, k) for k in _PLAIN})
        doc.update(copy_jobs=[j.to_doc() for j in self.copy_jobs],
                   expand=self.expand.to_doc() if self.expand else None,
                   wait=self.wait.to_doc() if self.wait else None,
                   cursor=self.cursor.to_doc() if self.cursor else None)
        if self.iconik_job_error is None:
            del doc["iconik_job_error"]
        if self.final:
            doc["final"] = True
        return doc

    def changes(self, since: dict[str, Any]) -> dict[str, Any]:
        """The stored fields whose value differs from `since` (an earlier `to_doc()`): what a step commits."""
        return {k: v for k, v in self.to_doc().items() if k not in since or since[k] != v}

    def report(self) -> dict[str, Any]:
        """What an operator (or the fire script) sees of a run: never a token, never the lease fields."""
        out = {k: getattr(self, k) for k in _REPORTED}
        out["copy_jobs"] = [{"id": j.id, "format": j.format, "object_type": j.object_type, "count": j.count,
                             "status": j.status, "error": j.error} for j in self.copy_jobs]
        return out


# Fields stored as they are (everything but the nested records and the keys stored only once set).
_PLAIN = ("id", "op", "status", "phase", "seq", "lease_owner", "lease_until", "next_at", "created_at", "updated_at",
          "finished_at", "context", "b2_storage_id", "ll_storage_id", "formats", "copy_formats", "verify_formats",
          "asset_ids", "collection_ids", "user_id", "action_id", "date_created", "saved_searches_ignored",
          "iconik_job_id", "iconik_job_error", "assets_total", "chunks", "processed", "steps", "step_failures",
          "last_error", "error", "summary", "problems", "message")
_REPORTED = ("id", "op", "status", "phase", "context", "formats", "copy_formats", "verify_formats", "b2_storage_id",
             "ll_storage_id", "iconik_job_id", "assets_total", "processed", "summary", "problems", "message", "error",
             "last_error", "step_failures", "steps", "created_at", "updated_at", "finished_at")


def new_run(run_id: str, op: str, query: ActionQuery, body: ActionBody) -> Run:
    """The initial record of a run (the token is never part of it)."""
    copy_formats, verify_formats = plan_formats(op, query.formats)
    now = time.time()
    return Run(id=run_id, op=op, next_at=now, created_at=now, updated_at=now, context=body.context,
               b2_storage_id=query.b2_storage_id, ll_storage_id=query.ll_storage_id, formats=list(query.formats),
               copy_formats=list(copy_formats), verify_formats=list(verify_formats),
               asset_ids=list(body.asset_ids), collection_ids=list(body.collection_ids), user_id=body.user_id,
               action_id=body.action_id, date_created=body.date_created,
               saved_searches_ignored=len(body.saved_search_ids))

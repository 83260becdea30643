"""The `insights/{video_id}` record: what was generated for which version of a video, and how its run stands."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from typing import Any

NONE = "none"            # never asked for (no record)
QUEUED = "queued"        # a run is queued
GENERATING = "generating"  # Twelve Labs is working on it
READY = "ready"
FAILED = "failed"
SKIPPED = "skipped"      # too short to analyse: nothing was asked
WAITING = "waiting"      # today's cap is spent: the run goes on the next UTC day
STATES = (NONE, QUEUED, GENERATING, READY, FAILED, SKIPPED, WAITING)
RUNNING = frozenset({QUEUED, GENERATING, WAITING})  # a run is under way (waiting included: it resumes by itself)


@dataclass
class Insight:
    """One video's insights as stored in `insights/{video_id}`."""

    video_id: str
    state: str = NONE
    message: str | None = None  # a sentence for people: why skipped, failed or waiting, and what to do
    generated_for: str | None = None  # the Twelve Labs video id (the indexed version) the run is for
    run: int = 0  # bumped per run (a new version, a regenerate): names its tasks, makes stale tasks stop
    attempts: int = 0  # analyze calls made in this run
    last_attempt: int = 0  # the generate hop that made the last analyze call (a retry takes the next number)
    bad_outputs: int = 0  # answers of this run that did not follow the schema
    started_at: dt.datetime | None = None  # the run's clock (its deadline counts from here)
    counted_day: str | None = None  # the UTC day this run was counted against the daily cap
    analyze_task_id: str | None = None  # the asynchronous analysis of a long video
    generated_at: dt.datetime | None = None
    summary: str | None = None
    title_suggestion: str | None = None
    topics: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    chapters: list[dict[str, Any]] = field(default_factory=list)
    highlights: list[dict[str, Any]] = field(default_factory=list)
    transcript: list[dict[str, Any]] | None = None  # [{start, end, text}]; None: not fetched in this run yet
    duration: float | None = None  # as Twelve Labs reported it with the transcript
    usage: dict[str, int] = field(default_factory=dict)  # tokens of the last analysis
    calls: dict[str, int] = field(default_factory=dict)  # Twelve Labs calls of the last run: analyze, retrieve, poll
    updated_at: dt.datetime | None = None
    version: int = 0

    def to_doc(self) -> dict[str, Any]:
        """Firestore fields (the id is the document name)."""
        doc = asdict(self)
        doc.pop("video_id")
        return doc

    @classmethod
    def from_doc(cls, video_id: str, doc: dict[str, Any]) -> "Insight":
        """Build from Firestore fields, ignoring fields this version does not know."""
        known = {f.name for f in fields(cls)} - {"video_id"}
        return cls(video_id=video_id, **{k: v for k, v in doc.items() if k in known})

"""The insight state machine: who may move a record where. Pure functions over `Insight`; each mutator changes it
in place and returns True when something must be written (False: already so, or a stale task), so it can run
inside `store.insights.update`'s transaction and be replayed safely."""
from __future__ import annotations

import datetime as dt
from typing import Any

from mam.insights.record import FAILED, GENERATING, NONE, QUEUED, READY, RUNNING, SKIPPED, WAITING, Insight
from mam.insights.schema import Content

TOO_SHORT = "This video is shorter than 4 seconds, too short for Twelve Labs to summarise; nothing was generated."
TIMED_OUT = ("Twelve Labs did not finish the summary in time. Use Regenerate to try again; if it keeps failing, "
             "try again later.")
UNREADABLE = ("Twelve Labs twice answered in a form we could not read, so nothing was saved. Use Regenerate to try "
              "again.")
REFUSED = ("Twelve Labs could not analyse this video, so nothing was generated. Check that the video plays, then "
           "use Regenerate to try again.")
NOT_IN_INDEX = "This video is no longer in the Twelve Labs index. Index it again; its summary follows by itself."
GAVE_UP = "Twelve Labs was unavailable, so the summary could not be made. Use Regenerate to try again later."


def start_run(ins: Insight, tl_video_id: str, now: dt.datetime, force: bool) -> bool:
    """Queue a new run for the indexed version `tl_video_id`: once per version (a video that becomes Ready again
    with the same version gets nothing), or on demand (`force`: regenerate) unless one is already under way."""
    if ins.state in RUNNING and (force or ins.generated_for == tl_video_id):
        return False
    if not force and ins.generated_for == tl_video_id and ins.state != NONE:
        return False
    ins.generated_for = tl_video_id
    ins.run += 1
    ins.state, ins.message = QUEUED, None
    ins.attempts = ins.bad_outputs = 0
    ins.started_at, ins.counted_day, ins.analyze_task_id = now, None, None
    ins.transcript, ins.calls = None, {}
    return True


def is_current(ins: Insight | None, run: int, tl_video_id: str | None = None) -> bool:
    """The task of `run` still has work to do (the record waits on exactly this run)."""
    return (ins is not None and ins.run == run and ins.state in RUNNING
            and (tl_video_id is None or ins.generated_for == tl_video_id))


def past_deadline(ins: Insight, now: dt.datetime, deadline_seconds: int) -> bool:
    """The run has been spending (counted against a day) for longer than the deadline; waiting does not count."""
    return ins.counted_day is not None and ins.started_at is not None and \
        (now - ins.started_at).total_seconds() > deadline_seconds


def note_transcript(ins: Insight, run: int, segments: list[dict[str, Any]], duration: float | None) -> bool:
    """The transcript of this run arrived (one retrieve)."""
    if not is_current(ins, run):
        return False
    ins.transcript, ins.duration = segments, duration
    ins.calls = {**ins.calls, "retrieve": ins.calls.get("retrieve", 0) + 1}
    return True


def begin_analysis(ins: Insight, run: int, day: str, now: dt.datetime, attempt: int = 0) -> bool:
    """An analyze call is about to be made: Generating; the run counted against `day` (its clock starts then)."""
    if not is_current(ins, run):
        return False
    if ins.counted_day is None:
        ins.counted_day, ins.started_at = day, now
    ins.state, ins.message = GENERATING, None
    ins.attempts += 1
    ins.last_attempt = attempt
    ins.calls = {**ins.calls, "analyze": ins.calls.get("analyze", 0) + 1}
    return True


def wait(ins: Insight, run: int, message: str) -> bool:
    """Today's cap is spent: Waiting (the task resumes on the next UTC day)."""
    if not is_current(ins, run):
        return False
    ins.state, ins.message = WAITING, message
    return True


def note(ins: Insight, run: int, message: str | None, state: str | None = None) -> bool:
    """A readable line while the run goes on (e.g. Twelve Labs busy, retrying)."""
    if not is_current(ins, run) or (ins.message == message and (state is None or ins.state == state)):
        return False
    ins.message = message
    if state is not None:
        ins.state = state
    return True


def record_task(ins: Insight, run: int, task_id: str) -> bool:
    """The asynchronous analysis task of this run exists."""
    if not is_current(ins, run):
        return False
    ins.analyze_task_id = task_id
    return True


def count_poll(ins: Insight, run: int) -> bool:
    if not is_current(ins, run):
        return False
    ins.calls = {**ins.calls, "poll": ins.calls.get("poll", 0) + 1}
    return True


def bad_output(ins: Insight, run: int) -> bool:
    """The answer did not follow the schema: counted (one more attempt is allowed)."""
    if not is_current(ins, run):
        return False
    ins.bad_outputs += 1
    ins.analyze_task_id = None
    return True


def finish_ready(ins: Insight, run: int, content: Content, usage: dict[str, int], now: dt.datetime) -> bool:
    """Ready: the checked content replaces what was there."""
    if not is_current(ins, run):
        return False
    ins.state, ins.message, ins.generated_at = READY, None, now
    ins.summary, ins.title_suggestion = content.summary, content.title_suggestion
    ins.topics, ins.hashtags = list(content.topics), list(content.hashtags)
    ins.chapters = [s.as_json() for s in content.chapters]
    ins.highlights = [s.as_json() for s in content.highlights]
    ins.usage = {k: int(v) for k, v in usage.items() if v is not None}
    return True


def finish_failed(ins: Insight, run: int, message: str) -> bool:
    """Failed, with a sentence for people (what happened, what to do)."""
    if not is_current(ins, run):
        return False
    ins.state, ins.message = FAILED, message[:500]
    return True


def skip(ins: Insight, run: int, message: str = TOO_SHORT) -> bool:
    """Skipped: nothing is asked of Twelve Labs."""
    if not is_current(ins, run):
        return False
    ins.state, ins.message = SKIPPED, message
    return True


__all__ = ["FAILED", "GENERATING", "QUEUED", "READY", "SKIPPED", "WAITING", "start_run", "is_current"]

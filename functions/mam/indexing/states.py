"""The index state machine of a video record: who may move it where. Pure functions over `Video`; each mutator
changes the video in place and returns True when something must be written (False: already so, or stale), so it
can run inside `store.update_video`'s transaction and be replayed safely."""
from __future__ import annotations

import datetime as dt

from mam.indexing import progress as run_progress
from mam.videos import (
    FAILED,
    INDEX_IN_FLIGHT,
    INDEXING,
    PENDING,
    QUEUED,
    READY,
    SENDING,
    UPLOADING,
    VALIDATING,
    Video,
)

# Twelve Labs task status -> our status while in flight
FROM_TWELVELABS = {"uploading": VALIDATING, "validating": VALIDATING, "pending": PENDING, "queued": QUEUED,
                   "indexing": INDEXING}
ORDER = (SENDING, VALIDATING, PENDING, QUEUED, INDEXING)  # in-flight statuses only ever move forward
RUN = "index_run"        # attempts[RUN]: number of the current indexing run (names its tasks)
SUBMITS = "index_submit"  # attempts[SUBMITS]: submit attempts in the current run

# skip reasons of POST /index (shown to the user next to each skipped video)
NOT_FOUND = "not_found"
IN_FLIGHT = "in_flight"
ALREADY_INDEXED = "already_indexed"
NOT_STORED = "not_stored"
TIMED_OUT = "Indexing timed out."


def stale_in_flight(video: Video, now: dt.datetime, deadline_seconds: int) -> bool:
    """In flight for longer than the deadline plus a margin: its follow chain is gone, so it may start again."""
    started = video.index_started_at
    return started is not None and (now - started).total_seconds() > deadline_seconds + 600


def skip_reason(video: Video | None, reindex: bool, now: dt.datetime, deadline_seconds: int) -> str | None:
    """Why POST /index must not (re)start this video, or None when it may."""
    if video is None:
        return NOT_FOUND
    if video.status in INDEX_IN_FLIGHT and not stale_in_flight(video, now, deadline_seconds):
        return IN_FLIGHT
    if video.status == UPLOADING or not video.stored_key:
        return NOT_STORED
    if video.status == READY and not reindex:
        return ALREADY_INDEXED
    return None


def mark_sending(video: Video, reindex: bool, now: dt.datetime, deadline_seconds: int) -> bool:
    """Start a new indexing run: Sending, a new run number, the clock started. False if no longer eligible."""
    if skip_reason(video, reindex, now, deadline_seconds) is not None:
        return False
    video.status = SENDING
    video.status_reason = None
    video.tl_task_id = None
    video.index_started_at = now
    run_progress.start(video)
    video.attempts = {**video.attempts, RUN: video.attempts.get(RUN, 0) + 1, SUBMITS: 0}
    return True


def current_run(video: Video) -> int:
    return int(video.attempts.get(RUN, 0))


def is_current_submit(video: Video, run: int) -> bool:
    """The submit task of `run` still has work to do: the video waits in Sending for exactly this run."""
    return video.status == SENDING and current_run(video) == run and not video.tl_task_id


def count_submit(video: Video, run: int) -> bool:
    """Count one more submit attempt of `run` (bounds the retries)."""
    if not is_current_submit(video, run):
        return False
    video.attempts = {**video.attempts, SUBMITS: video.attempts.get(SUBMITS, 0) + 1}
    return True


def record_task(video: Video, run: int, task_id: str) -> bool:
    """The Twelve Labs task of `run` exists: remember it and show Validating."""
    if not is_current_submit(video, run):
        return False
    video.tl_task_id = task_id
    video.tl_video_id = None  # a re-index deleted the previous index entry before creating this task
    video.status = VALIDATING
    return True


def is_following(video: Video, task_id: str) -> bool:
    """The video is in flight on exactly this Twelve Labs task."""
    return video.tl_task_id == task_id and video.status in INDEX_IN_FLIGHT


def progress(video: Video, task_id: str, tl_status: str, percentage: float | None = None,
             duration: float | None = None) -> bool:
    """Show the task's in-flight status; only forward (a late poll never undoes a newer webhook). Also records the
    reported percentage and the run's estimate (`mam.indexing.progress.note`)."""
    if not is_following(video, task_id):
        return False
    noted = run_progress.note(video, percentage, duration)
    new = FROM_TWELVELABS.get(tl_status)
    if new is None or video.status == new:
        return noted
    if video.status in ORDER and ORDER.index(new) < ORDER.index(video.status):
        return noted
    video.status = new
    return True


def finish_ready(video: Video, task_id: str, tl_video_id: str, thumbnail_key: str | None,
                 duration: float | None = None, width: int | None = None, height: int | None = None) -> bool:
    """Ready: keep the Twelve Labs video id and the copied thumbnail (the upload's stays when there is none)."""
    if not is_following(video, task_id):
        return False
    video.status = READY
    video.status_reason = None
    video.tl_video_id = tl_video_id
    if thumbnail_key:
        video.b2_thumbnail = thumbnail_key
    for attr, value in (("duration", duration), ("width", width), ("height", height)):
        if getattr(video, attr) is None and value is not None:
            setattr(video, attr, value)
    return True


def finish_failed(video: Video, reason: str, task_id: str | None = None, run: int | None = None) -> bool:
    """Failed with a readable reason: for the task being followed, or (task_id None) the submit of `run`."""
    if task_id is not None:
        if not is_following(video, task_id):
            return False
    elif run is None or not is_current_submit(video, run):
        return False
    video.status = FAILED
    video.status_reason = reason[:500]
    return True


def past_deadline(video: Video, now: dt.datetime, deadline_seconds: int) -> bool:
    """The run started longer ago than the deadline."""
    started = video.index_started_at
    return started is not None and (now - started).total_seconds() > deadline_seconds


"""The index state machine and poll schedule (pure rules, no I/O)."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from mam.indexing import schedule, states
from mam.videos import Video

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
DEADLINE = 7200


def video(status="uploaded", **kw) -> Video:
    kw.setdefault("b2_original", "uploads/v1/original/a.mp4")
    return Video(id="v1", title="t", status=status, **kw)


@pytest.mark.parametrize("v,reindex,reason", [
    (None, False, states.NOT_FOUND),
    (video("uploading", b2_original=None), False, states.NOT_STORED),
    (video("failed", b2_original=None), False, states.NOT_STORED),  # an upload that never stored a file
    (video("sending", index_started_at=NOW), False, states.IN_FLIGHT),
    (video("indexing", index_started_at=NOW), True, states.IN_FLIGHT),
    (video("ready"), False, states.ALREADY_INDEXED),
    (video("ready"), True, None),
    (video("uploaded"), False, None),
    (video("failed"), False, None),
    # in flight far beyond the deadline: its chain is gone, it may start again
    (video("indexing", index_started_at=NOW - dt.timedelta(seconds=DEADLINE + 601)), False, None),
])
def test_skip_reason(v, reindex, reason):
    assert states.skip_reason(v, reindex, NOW, DEADLINE) == reason


def test_mark_sending_starts_a_new_run_and_forgets_the_old_task():
    v = video("failed", tl_task_id="old", status_reason="boom", attempts={states.RUN: 2, states.SUBMITS: 3})
    assert states.mark_sending(v, False, NOW, DEADLINE)
    assert (v.status, v.status_reason, v.tl_task_id, v.index_started_at) == ("sending", None, None, NOW)
    assert v.attempts == {states.RUN: 3, states.SUBMITS: 0}
    assert not states.mark_sending(v, False, NOW, DEADLINE)  # now in flight: a second press does nothing


def test_record_task_only_for_the_current_run_once():
    v = video("sending", attempts={states.RUN: 4}, tl_video_id="previous")
    assert not states.record_task(v, 3, "t-stale")
    assert states.record_task(v, 4, "t1")
    assert (v.status, v.tl_task_id, v.tl_video_id) == ("validating", "t1", None)
    assert not states.record_task(v, 4, "t2")  # a duplicate submit cannot replace the task


def test_progress_moves_forward_only_and_reports_no_change():
    v = video("validating", tl_task_id="t1")
    assert states.progress(v, "t1", "queued") and v.status == "queued"
    assert not states.progress(v, "t1", "queued")  # unchanged: nothing to write
    assert not states.progress(v, "t1", "pending")  # a late poll never moves it back
    assert not states.progress(v, "other", "indexing")  # not the task being followed
    assert states.progress(v, "t1", "indexing") and v.status == "indexing"
    assert not states.progress(v, "t1", "ready")  # finishing is finish_ready's job


def test_finish_ready_keeps_upload_thumbnail_when_none_copied_and_is_idempotent():
    v = video("indexing", tl_task_id="t1", b2_thumbnail="uploads/v1/thumbnail.jpg", duration=12.0)
    assert states.finish_ready(v, "t1", "tlv1", None, duration=99.0, width=640, height=360)
    assert (v.status, v.tl_video_id, v.b2_thumbnail) == ("ready", "tlv1", "uploads/v1/thumbnail.jpg")
    assert (v.duration, v.width, v.height) == (12.0, 640, 360)  # known facts are not overwritten
    assert not states.finish_ready(v, "t1", "tlv1", "thumbnails/v1.jpg")  # replay: already ready
    w = video("indexing", tl_task_id="t1")
    assert states.finish_ready(w, "t1", "tlv1", "thumbnails/v1.jpg") and w.b2_thumbnail == "thumbnails/v1.jpg"


def test_finish_failed_for_task_or_submit_run():
    v = video("queued", tl_task_id="t1")
    assert not states.finish_failed(v, "x", task_id="t0")
    assert states.finish_failed(v, "too low" * 200, task_id="t1")
    assert v.status == "failed" and len(v.status_reason) == 500
    assert not states.finish_failed(v, "again", task_id="t1")
    s = video("sending", attempts={states.RUN: 2})
    assert not states.finish_failed(s, "x", run=1)
    assert states.finish_failed(s, "queue down", run=2) and s.status_reason == "queue down"


def test_past_deadline():
    v = video("indexing", index_started_at=NOW - dt.timedelta(seconds=100))
    assert not states.past_deadline(v, NOW, 100)
    assert states.past_deadline(v, NOW, 99)


# ---- schedule ---------------------------------------------------------------------------------------------------
def test_poll_delays_grow_and_are_capped():
    rng = random.Random(1)
    assert schedule.poll_delay(0, rng) == pytest.approx(5, rel=0.11)
    assert schedule.poll_delay(5, rng) == pytest.approx(8, rel=0.11)
    assert schedule.poll_delay(100, rng) == pytest.approx(20, rel=0.11)
    assert schedule.poll_delay(10_000, rng) <= schedule.CAP * 1.1
    assert all(schedule.poll_delay(t) >= 4.5 for t in range(0, 3000, 7))
    # a first poll that came a little early waits a full step (no creeping towards FIRST_POLL)
    assert schedule.poll_delay(4.6, rng) >= schedule.MIN_STEP * 0.9


def test_schedule_budget_for_a_one_minute_job():
    # a 60 s job is seen done after at most 8 polls (the benchmark's target is <= 10 calls per video)...
    assert schedule.polls_until(60) <= 8
    # ...and at most a fifth of the elapsed time (or 8 s) late, whatever the jitter
    for seed in range(20):
        rng, t = random.Random(seed), 0.0
        polls = 0
        while t < 60:
            t += schedule.poll_delay(t, rng)
            polls += 1
        assert polls <= 9
        assert t - 60 <= max(schedule.MIN_STEP, schedule.GROWTH * 60) * 1.1 + 0.5
    # a two-hour job: polls every two minutes at most, so about a minute late on average
    assert schedule.polls_until(7200) < 90


def test_error_delay_backs_off_and_honours_retry_after():
    rng = random.Random(2)
    delays = [schedule.error_delay(n, None, rng) for n in range(1, 8)]
    assert delays[0] == pytest.approx(5, rel=0.11) and delays[1] == pytest.approx(10, rel=0.11)
    assert max(delays) <= schedule.CAP * 1.1
    assert schedule.error_delay(1, 42.0, rng) == 42.0
    assert schedule.error_delay(1, 10_000.0, rng) == schedule.CAP * 5  # a silly Retry-After is bounded

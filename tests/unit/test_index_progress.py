"""Indexing progress: the estimate from the duration, the percentage read from a task answer, what a poll records,
and the Video JSON's clock fields (only while indexing is in flight)."""
from __future__ import annotations

import datetime as dt

import pytest
from mam.clients.twelvelabs import _task_info
from mam.indexing import progress, states
from mam.library import views
from mam.settings import load_settings
from mam.videos import INDEXING, QUEUED, READY, UPLOADED, Video

ENV = {"GCP_PROJECT": "p", "FRONTEND_ORIGIN": "https://media.example.com", "B2_ENDPOINT": "http://127.0.0.1:1",
       "B2_REGION": "us-west-004", "B2_BUCKET": "bucket", "B2_KEY_ID": "k", "B2_APPLICATION_KEY": "s",
       "B2_PUBLIC_BASE_URL": "https://cdn.example.com/bucket", "VIDEOS_PREFIX": "videos/",
       "B2_EVENT_SIGNING_SECRET": "shh"}
T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _task(body: dict):
    """A task answer parsed by the official SDK the way `tasks.retrieve` parses it."""
    from twelvelabs.core.pydantic_utilities import parse_obj_as
    from twelvelabs.tasks.types.tasks_retrieve_response import TasksRetrieveResponse

    return parse_obj_as(TasksRetrieveResponse, body)


def _following(**fields) -> Video:
    return Video(id="v", title="t", status=QUEUED, tl_task_id="task1", index_started_at=T0, **fields)


@pytest.mark.parametrize("duration, want", [
    (None, None), (0, None), (-3, None),
    (10, progress.INDEX_BASE_SECONDS + 10 * progress.INDEX_SECONDS_PER_VIDEO_SECOND),
    (3600, progress.INDEX_BASE_SECONDS + 3600 * progress.INDEX_SECONDS_PER_VIDEO_SECOND),
])
def test_the_estimate_grows_with_the_duration(duration, want):
    assert progress.estimate_seconds(duration) == want


def test_a_longer_video_is_expected_to_take_longer():
    assert progress.estimate_seconds(600) > progress.estimate_seconds(60) > progress.estimate_seconds(6)


@pytest.mark.parametrize("raw, want", [(40, 40.0), ("12.34", 12.3), (140, 100.0), (-5, 0.0), (None, None),
                                       (True, None), ("lots", None), (float("nan"), None), (float("inf"), None)])
def test_reported_percentages_are_clamped_or_ignored(raw, want):
    assert progress.clamp_percentage(raw) == want


def test_the_adapter_reads_a_reported_percentage_and_none_when_v13_reports_none():
    reported = _task({"_id": "t1", "status": "indexing", "index_id": "i",
                      "process": {"percentage": 40, "remain_seconds": 12}})
    assert _task_info(reported).percentage == 40.0
    # what API v1.3 (and the local stand-in) answers: status and system_metadata, no progress
    plain = _task({"_id": "t1", "status": "indexing", "index_id": "i", "system_metadata": {"duration": 12.5}})
    info = _task_info(plain)
    assert info.percentage is None and info.duration == 12.5
    assert _task_info(_task({"_id": "t1", "status": "indexing", "process": {"percentage": "soon"}})).percentage is None


def test_a_new_run_starts_with_no_progress_and_an_estimate_from_the_uploads_duration():
    video = Video(id="v", title="t", status=UPLOADED, b2_original="k", duration=20.0, index_progress=80.0,
                  index_estimate_seconds=5.0)
    assert states.mark_sending(video, reindex=False, now=T0, deadline_seconds=3600)
    assert video.index_started_at == T0
    assert video.index_progress is None
    assert video.index_estimate_seconds == progress.estimate_seconds(20.0)


def test_a_poll_records_progress_forward_only_and_the_estimate_from_twelve_labs_duration():
    video = _following()
    assert states.progress(video, "task1", "indexing", percentage=40, duration=12.0)
    assert (video.status, video.index_progress) == (INDEXING, 40.0)
    assert video.index_estimate_seconds == progress.estimate_seconds(12.0)
    assert not states.progress(video, "task1", "indexing", percentage=30, duration=12.0)  # never backwards
    assert video.index_progress == 40.0
    assert states.progress(video, "task1", "indexing", percentage=55, duration=12.0)
    assert video.index_progress == 55.0
    assert not states.progress(video, "other-task", "indexing", percentage=90, duration=12.0)
    assert video.index_progress == 55.0


def test_the_uploads_duration_wins_over_twelve_labs_and_a_poll_without_news_is_not_written():
    video = _following(duration=100.0)
    assert progress.worth_a_write(video, None, 12.0)  # the run's first estimate: worth a write
    assert states.progress(video, "task1", "queued", None, 12.0)
    assert video.index_estimate_seconds == progress.estimate_seconds(100.0)
    assert not progress.worth_a_write(video, None, 12.0)  # same status, no percentage, estimate known
    assert progress.worth_a_write(video, 10, 12.0)


def test_the_video_json_carries_the_clock_only_while_in_flight():
    storage = load_settings("http", "b2", environ=ENV)
    video = _following(index_progress=40.0, index_estimate_seconds=36.0)
    got = views.video_json(video, storage)
    assert (got["index_started_at"], got["index_progress"], got["index_estimate_seconds"]) == (
        "2026-01-02T03:04:05+00:00", 40.0, 36.0)
    video.status = READY
    got = views.video_json(video, storage)
    assert (got["index_started_at"], got["index_progress"], got["index_estimate_seconds"]) == (None, None, None)

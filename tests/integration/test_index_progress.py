# ruff: noqa: F811 - the fixtures imported from test_index_videos are parameters here, as pytest passes them
"""Indexing progress against the real local parts: index_videos + index_tasks + library under functions-framework,
the emulators, moto as B2 and the local Twelve Labs (which, like API v1.3, reports no percentage on a task).

While a run is in flight, the record and the Video JSON carry when it began, the estimate of the whole run (from
the upload's duration, or Twelve Labs' once the follow hop sees it) and no invented percentage.
"""
from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
from conftest import wait_for
from mam.indexing import progress
from standins.tasks import headers as cloud_tasks_token
from test_index_videos import (  # noqa: F401 - module fixtures: this module's own functions and stand-in
    _reset_standin,
    clip_bytes,
    fns,
    index,
    new_video,
    twelvelabs,
    video,
)

pytestmark = pytest.mark.timeout(240)
IN_FLIGHT = ("sending", "validating", "pending", "queued", "indexing")


def _task(twelvelabs, task_id: str) -> dict:
    """The task as the Twelve Labs API answers it (GET /tasks/{id})."""
    resp = requests.get(f"{twelvelabs.base_url}/tasks/{task_id}", headers={"x-api-key": twelvelabs.api_key}, timeout=10)
    resp.raise_for_status()
    return resp.json()


@pytest.fixture(scope="module")
def library(start_function, emulators) -> str:
    return start_function("library")


@pytest.fixture(scope="module")
def status_fn(start_function, emulators) -> str:
    return start_function("upload_status")


def test_the_follow_hop_records_the_estimate_from_twelve_labs_duration(fns, stack, twelvelabs, demo_token,
                                                                         clip_bytes, clean_firestore, library, status_fn):
    twelvelabs.admin("PUT", "/config", json={"index_seconds": 60})
    vid = new_video(clip_bytes)  # like a video found in the bucket: no duration on the record yet
    before = dt.datetime.now(dt.UTC)
    assert index(fns, demo_token, ids=[vid]).status_code == 202
    v = video(vid)
    assert v.status in IN_FLIGHT and v.index_started_at is not None
    assert abs((v.index_started_at - before).total_seconds()) < 5
    assert v.index_estimate_seconds is None and v.index_progress is None

    v = wait_for(lambda: (x := video(vid)) and x.tl_task_id and x, what="task recorded")
    task_duration = wait_for(lambda: _task(twelvelabs, v.tl_task_id).get("system_metadata", {}).get("duration"),
                             what="Twelve Labs probed the video")
    assert "process" not in _task(twelvelabs, v.tl_task_id)  # API v1.3 reports no progress; nor does the stand-in
    # one follow hop, as Cloud Tasks delivers it (OIDC token), sees the task's duration and records the estimate
    hop = requests.post(f"{fns.private}/tasks/follow", timeout=30,
                        json={"video_id": vid, "task_id": v.tl_task_id, "hop": 40, "started": time.time()},
                        headers={"X-CloudTasks-TaskRetryCount": "0", "X-CloudTasks-TaskName": "t-progress",
                                 **cloud_tasks_token(stack, fns.private)})
    assert hop.status_code == 200, hop.text
    assert hop.json()["status"] in ("validating", "pending", "queued", "indexing") and "percentage" not in hop.json()
    v = video(vid)
    assert v.status in IN_FLIGHT
    assert v.index_estimate_seconds == progress.estimate_seconds(task_duration) > progress.INDEX_BASE_SECONDS
    assert v.index_progress is None  # the stand-in, like API v1.3, reports no percentage: none is invented

    got = requests.get(f"{library}/videos/{vid}", timeout=10).json()
    assert got["index_started_at"] == v.index_started_at.isoformat()
    assert got["index_estimate_seconds"] == v.index_estimate_seconds and got["index_progress"] is None
    elapsed = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(got["index_started_at"])).total_seconds()
    assert 0 <= elapsed < 60

    # the status poll carries the same clock, so the pages update it without reloading the video
    entry = requests.post(f"{status_fn}/status", json={"ids": [vid]}, timeout=10).json()["videos"][vid]
    assert entry["status"] in IN_FLIGHT
    assert (entry["index_started_at"], entry["index_estimate_seconds"], entry["index_progress"]) == (
        got["index_started_at"], got["index_estimate_seconds"], None)


def test_an_uploaded_duration_gives_the_estimate_from_the_start(fns, twelvelabs, demo_token, clip_bytes,
                                                                 clean_firestore, library):
    twelvelabs.admin("PUT", "/config", json={"index_seconds": 60})
    vid = new_video(clip_bytes, duration=90.0)
    assert index(fns, demo_token, ids=[vid]).status_code == 202
    got = requests.get(f"{library}/videos/{vid}", timeout=10).json()
    assert got["status"] in IN_FLIGHT
    assert got["index_estimate_seconds"] == progress.estimate_seconds(90.0)
    assert got["index_started_at"] and got["index_progress"] is None

"""Task names against the strict local Cloud Tasks (localdev/tasks): a reused name is refused as in the cloud.

`mam.tasks.enqueue` reports the refusal as the outcome `already_queued`; a chain still moves on because every
later hop has a name of its own. The last case is the chain the strict emulator caught: a video record deleted
and created again under the same id (a discovered file has a deterministic id) restarts at run 1.
"""
from __future__ import annotations

import time
import uuid

import pytest
import test_index_videos as indexing
from conftest import wait_for
from task_receiver import TaskReceiver

pytestmark = pytest.mark.timeout(180)
PROBE = "task_names_probe"  # not a manifest function: FUNCTION_URL_TASK_NAMES_PROBE points at the receiver below

# The indexing module's fixtures, set up again for this module (its own Twelve Labs stand-in and functions).
twelvelabs, fns, clip_bytes, _reset_standin = (indexing.twelvelabs, indexing.fns, indexing.clip_bytes,
                                               indexing._reset_standin)


@pytest.fixture(scope="module")
def receiver():
    server = TaskReceiver()
    yield server
    server.shutdown()


@pytest.fixture
def probe(receiver, cloud_tasks, monkeypatch):
    monkeypatch.setenv(f"FUNCTION_URL_{PROBE.upper()}", f"http://127.0.0.1:{receiver.server_address[1]}")
    return receiver


def test_the_same_key_twice_is_one_task_and_one_delivery(probe):
    from mam import tasks

    marker = uuid.uuid4().hex
    first = tasks.enqueue("uploads", PROBE, "/hop", {"marker": marker}, key=("names", marker, 1))
    second = tasks.enqueue("uploads", PROBE, "/hop", {"marker": marker}, key=("names", marker, 1))
    assert (first.outcome, second.outcome) == (tasks.CREATED, tasks.ALREADY_QUEUED)
    assert first.name == second.name and first.name.startswith("t-") and second.already_queued and not first.already_queued

    wait_for(lambda: probe.of(marker), what="the delivery")
    # executed: the name stays taken (the real service keeps it ~1 hour), so a late retry of the caller is absorbed
    third = tasks.enqueue("uploads", PROBE, "/hop", {"marker": marker}, key=("names", marker, 1))
    assert third.already_queued
    time.sleep(1.5)  # room for a wrong second delivery to arrive
    assert [d["headers"]["x-cloudtasks-taskname"] for d in probe.of(marker)] == [first.name]


def test_each_hop_of_a_chain_has_a_name_of_its_own(probe):
    from mam import tasks

    marker = uuid.uuid4().hex
    hops = [tasks.enqueue("uploads", PROBE, "/hop", {"marker": marker, "hop": n}, key=("names", marker, n))
            for n in range(3)]
    assert [h.outcome for h in hops] == [tasks.CREATED] * 3 and len({h.name for h in hops}) == 3
    wait_for(lambda: len(probe.of(marker)) == 3, what="three hops delivered")
    assert sorted(d["body"]["hop"] for d in probe.of(marker)) == [0, 1, 2]


def test_unnamed_tasks_are_always_created(probe):
    from mam import tasks

    marker = uuid.uuid4().hex
    outcomes = [tasks.enqueue("uploads", PROBE, "/hop", {"marker": marker}) for _ in range(2)]
    assert [o.name for o in outcomes] == ["", ""] and all(o.outcome == tasks.CREATED for o in outcomes)
    wait_for(lambda: len(probe.of(marker)) == 2, what="both unnamed tasks delivered")


def test_a_video_recreated_under_the_same_id_indexes_again_within_the_hour(fns, twelvelabs, demo_token, clip_bytes,
                                                                            clean_firestore):
    """Delete the record of an indexed video and create it again with the same id (what deleting a discovered file
    and finding it again does): its new run is run 1 again, and must not meet the old run's task names."""
    from mam import store
    from mam.videos import Video

    vid = indexing.new_video(clip_bytes)
    assert indexing.index(fns, demo_token, ids=[vid]).json()["queued"] == [vid]
    first = indexing.wait_status(vid, ("ready", "failed"))
    assert first.status == "ready", first.status_reason

    store.delete_video(vid)
    store.create_video(Video(id=vid, title="again", owner="demo@example.com", status="uploaded",
                             b2_original=first.b2_original))
    assert indexing.index(fns, demo_token, ids=[vid]).json()["queued"] == [vid]
    second = indexing.wait_status(vid, ("ready", "failed"))
    assert second.status == "ready", second.status_reason
    assert second.attempts.get("index_run") == first.attempts.get("index_run") == 1
    assert second.tl_task_id != first.tl_task_id

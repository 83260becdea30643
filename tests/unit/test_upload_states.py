"""Upload state rules: idempotent, out-of-order safe, never touching a video that moved on."""
from __future__ import annotations

from mam.uploads import states as tr
from mam.uploads.outcome import COMPLETED, FAILED, RUNNING, AssemblyOutcome
from mam.videos import FAILED as V_FAILED
from mam.videos import INDEXING, READY, UPLOADED, UPLOADING, Video

A1, A2 = "a" * 32, "b" * 32


def done(aid: str = A1) -> AssemblyOutcome:
    return AssemblyOutcome(aid, "v1", COMPLETED, original_key="uploads/v1/original/x.mov", web_key="uploads/v1/web.mp4",
                   thumbnail_key="uploads/v1/thumbnail.jpg", duration=3.0, size=10, width=640, height=480)


def failed(aid: str = A1) -> AssemblyOutcome:
    return AssemblyOutcome(aid, "v1", FAILED, reason="The upload was canceled.")


def test_completion_records_everything_and_a_replay_changes_nothing():
    v = Video(id="v1", title="t")
    assert tr.apply_outcome(v, done()) == (True, tr.RECORDED)
    assert (v.status, v.assembly_id, v.b2_web, v.b2_thumbnail, v.duration, v.size) == (
        UPLOADED, A1, "uploads/v1/web.mp4", "uploads/v1/thumbnail.jpg", 3.0, 10)
    assert v.status_reason is None
    assert tr.apply_outcome(v, done()) == (False, tr.ALREADY)


def test_failure_records_reason_and_replay_is_a_no_op():
    v = Video(id="v1", title="t")
    assert tr.apply_outcome(v, failed()) == (True, tr.RECORDED)
    assert v.status == V_FAILED and v.status_reason == "The upload was canceled."
    assert tr.apply_outcome(v, failed()) == (False, tr.ALREADY)


def test_late_running_or_error_after_completion_is_ignored():
    v = Video(id="v1", title="t")
    tr.apply_outcome(v, done())
    for late in (AssemblyOutcome(A1, "v1", RUNNING), failed()):
        assert tr.apply_outcome(v, late)[0] is False
    assert v.status == UPLOADED


def test_running_only_notes_the_assembly_id_once():
    v = Video(id="v1", title="t")
    assert tr.apply_outcome(v, AssemblyOutcome(A1, "v1", RUNNING)) == (True, tr.NOTED)
    assert v.status == UPLOADING and v.assembly_id == A1
    assert tr.apply_outcome(v, AssemblyOutcome(A1, "v1", RUNNING)) == (False, tr.UNCHANGED)


def test_completion_after_our_own_timeout_wins_but_not_after_indexing_failure():
    v = Video(id="v1", title="t")
    tr.give_up(v, "The upload did not finish within 24 hours.")
    assert tr.apply_outcome(v, done()) == (True, tr.RECORDED) and v.status == UPLOADED
    # A video that failed later (indexing) already has its files: an upload replay must not revive it.
    v2 = Video(id="v1", title="t", status=V_FAILED, assembly_id=A1, b2_web="uploads/v1/web.mp4")
    assert tr.apply_outcome(v2, done())[0] is False and v2.status == V_FAILED


def test_other_assemblies_and_later_states_are_left_alone():
    v = Video(id="v1", title="t")
    tr.apply_outcome(v, done(A1))
    assert tr.apply_outcome(v, done(A2)) == (False, tr.OTHER_ASSEMBLY)
    for status in (INDEXING, READY):
        later = Video(id="v1", title="t", status=status, assembly_id=A1, b2_web="k")
        assert tr.apply_outcome(later, failed())[0] is False and later.status == status
    # a discovered video's processing adds its web copy and media facts, never changes its status (it may be
    # indexed already), keeps the thumbnail indexing copied, and is recorded once
    discovered = Video(id="v1", title="t", status=READY, source="discovered", b2_thumbnail="thumbnails/v1.jpg")
    assert tr.apply_outcome(discovered, done()) == (True, tr.RECORDED) and discovered.status == READY
    assert (discovered.b2_web, discovered.b2_thumbnail, discovered.width) == (
        "uploads/v1/web.mp4", "thumbnails/v1.jpg", 640)
    assert tr.apply_outcome(discovered, done()) == (False, tr.ALREADY)
    assert tr.apply_outcome(discovered, done(A2)) == (False, tr.OTHER_ASSEMBLY)
    assert tr.apply_outcome(Video(id="v1", title="t", source="discovered"), failed())[1] == tr.PROCESSING_FAILED


def test_give_up_and_count_only_while_uploading():
    v = Video(id="v1", title="t")
    assert tr.count_check(v) == (True, tr.NOTED) and v.attempts["upload_check"] == 1
    tr.count_check(v)
    assert v.attempts["upload_check"] == 2
    assert tr.give_up(v, "gone") == (True, tr.RECORDED) and v.status_reason == "gone"
    assert tr.give_up(v, "again")[0] is False and v.status_reason == "gone"
    assert tr.count_check(v)[0] is False

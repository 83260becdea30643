"""The run record at the Firestore boundary: documents stored before it existed read back and write out unchanged."""
from __future__ import annotations

import copy
import uuid

from mam.iconik.request import ActionQuery, parse_body
from mam.iconik.run import CopyJob, Cursor, Run, new_run

A, B, C = (str(uuid.uuid4()) for _ in range(3))

# A run document as the dict-based machine wrote it when a run started (every key of its `new_run`).
STARTED = {
    "id": "r1", "op": "remove", "status": "running", "phase": "submit", "seq": 0, "lease_owner": None,
    "lease_until": 0, "next_at": 1700000000.5, "created_at": 1700000000.5, "updated_at": 1700000000.5,
    "finished_at": None, "context": "BULK", "b2_storage_id": B, "ll_storage_id": C,
    "formats": ["ORIGINAL", "PPRO_PROXY"], "copy_formats": ["ORIGINAL"], "verify_formats": ["ORIGINAL"],
    "asset_ids": [A], "collection_ids": [B], "user_id": None, "action_id": A, "date_created": "2024-01-02T03:04:05",
    "saved_searches_ignored": 0, "iconik_job_id": None, "copy_jobs": [], "expand": None, "wait": None,
    "cursor": None, "assets_total": None, "chunks": 0, "processed": 0, "step_failures": 0, "last_error": None,
    "error": None, "summary": None, "problems": [], "message": None, "steps": 0,
}

# The same run mid-way through the process phase, with every key a step may add along the way.
IN_FLIGHT = {
    **STARTED, "phase": "process", "seq": 7, "lease_owner": "0f" * 16, "lease_until": 1700000120.25,
    "iconik_job_id": A, "steps": 7, "step_failures": 1, "last_error": "iconik answered 503",
    "copy_jobs": [
        {"key": "ORIGINAL/assets/0", "format": "ORIGINAL", "object_type": "assets", "count": 1, "id": B,
         "status": "STARTED", "error": None, "seen_done": None, "seen_at": 1700000010.0},
        {"key": "ORIGINAL/collections/0", "format": "ORIGINAL", "object_type": "collections", "count": 1,
         "id": C, "status": "STARTED", "error": None, "seen_done": 40, "seen_at": 1700000010.0},
        {"key": "PPRO_PROXY/assets/0", "format": "PPRO_PROXY", "object_type": "assets", "count": 1, "id": None,
         "status": "REFUSED", "error": "format not found"},
    ],
    "expand": {"frontier": [{"c": C, "p": 3}], "seen": [B, C], "pages": 4, "missing": [A], "odd_ids": 2},
    "wait": {"started": 1700000005.0, "deadline": 1700021605.0, "checks": 3, "timed_out": False, "progress": None,
             "overlap_done": True, "caught_up": 2},
    "cursor": {"chunk": 1, "pos": 40}, "assets_total": 620, "chunks": 2, "processed": 120,
}

# Finished: the final pass ran (`final`), the visible job could not be created, the summary is in.
FINISHED = {
    **IN_FLIGHT, "status": "partial", "phase": "done", "seq": 12, "lease_owner": None, "lease_until": 0,
    "finished_at": 1700000300.0, "final": True, "iconik_job_id": None, "iconik_job_error": "iconik answered 400",
    "wait": {"started": 1700000005.0, "deadline": 1700021605.0, "checks": 0, "timed_out": True},
    "summary": {"pending": 0, "confirmed": 0, "done": 619, "kept": 1, "failed": 0, "total": 620},
    "problems": [{"asset_id": A, "state": "kept", "reason": "B2 copy is 500 bytes"}],
    "message": "Removed the LucidLink copies of 619 of 620 assets", "step_failures": 0, "last_error": None,
}


def test_stored_documents_round_trip_unchanged():
    for doc in (STARTED, IN_FLIGHT, FINISHED):
        stored = copy.deepcopy(doc)
        run = Run.from_doc(stored)
        assert run.to_doc() == doc
        assert stored == doc  # reading never changes the document
        assert run.changes(doc) == {}


def test_fields_are_typed():
    run = Run.from_doc(IN_FLIGHT)
    assert isinstance(run.copy_jobs[0], CopyJob) and run.copy_jobs[1].seen_done == 40
    assert run.copy_jobs[2].seen_at is None and "seen_at" not in run.copy_jobs[2].to_doc()
    assert run.expand is not None and run.expand.frontier[0].collection_id == C and run.expand.frontier[0].page == 3
    assert run.wait is not None and run.wait.caught_up == 2 and run.wait.overlap_done
    assert run.cursor == Cursor(1, 40) and run.seq == 7 and not run.final
    assert Run.from_doc(FINISHED).final and Run.from_doc(FINISHED).iconik_job_error == "iconik answered 400"


def test_a_new_run_is_stored_as_before():
    body = parse_body({"context": "BULK", "asset_ids": [A], "collection_ids": [B], "auth_token": "tok",
                       "action_id": A, "date_created": "2024-01-02T03:04:05"}, max_ids=10)
    run = new_run("r1", "remove", ActionQuery(B, C, ("ORIGINAL", "PPRO_PROXY")), body)
    doc = run.to_doc()
    assert set(doc) == set(STARTED)
    assert {**doc, "next_at": 0, "created_at": 0, "updated_at": 0} == {
        **STARTED, "next_at": 0, "created_at": 0, "updated_at": 0}
    assert doc["created_at"] == doc["updated_at"] == doc["next_at"]


def test_changes_are_the_fields_a_step_changed_in_place():
    claimed = copy.deepcopy(IN_FLIGHT)
    run = Run.from_doc(claimed)
    base = run.to_doc()
    run.copy_jobs[0].status = "FINISHED"
    run.wait.checks += 1  # type: ignore[union-attr]
    run.final = True
    run.processed += 3
    changes = run.changes(base)
    assert set(changes) == {"copy_jobs", "wait", "final", "processed"}
    assert changes["copy_jobs"][0]["status"] == "FINISHED" and changes["wait"]["checks"] == 4
    assert changes["final"] is True and changes["processed"] == 123
    assert base == IN_FLIGHT  # the base is a copy: changing the record never changes it


def test_report_shows_no_lease_and_no_token():
    report = Run.from_doc(IN_FLIGHT).report()
    assert "lease_owner" not in report and "lease_until" not in report
    assert report["copy_jobs"][0] == {"id": B, "format": "ORIGINAL", "object_type": "assets", "count": 1,
                                      "status": "STARTED", "error": None}
    assert report["phase"] == "process" and report["assets_total"] == 620

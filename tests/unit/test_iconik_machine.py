"""Pure parts of the run state machine: the run record, job ETA, titles (a step's caller is checked by
mam.task_auth: tests/unit/test_task_auth.py)."""
from __future__ import annotations

import dataclasses
import time
import uuid

from mam.iconik.phases import submit, wait
from mam.iconik.request import ActionQuery, parse_body
from mam.iconik.run import CopyJob, Run, new_run

A = str(uuid.uuid4())


def test_new_run_record_never_holds_the_token():
    body = parse_body({"context": "ASSET", "asset_ids": [A], "auth_token": "very-secret-token"}, max_ids=10)
    run = new_run("r1", "remove", ActionQuery("b2", "ll", ("PPRO_PROXY", "ORIGINAL")), body)
    assert run.copy_formats == ["PPRO_PROXY", "ORIGINAL"] and run.verify_formats == ["PPRO_PROXY", "ORIGINAL"]
    assert run.phase == "submit" and run.seq == 0 and run.asset_ids == [A]
    assert "very-secret-token" not in repr(run)
    assert "very-secret-token" not in repr(run.to_doc())


def _job(**over) -> CopyJob:
    return CopyJob(**{"key": "ORIGINAL/assets/0", "format": "ORIGINAL", "object_type": "assets", "count": 1,
                      "id": A, "status": "STARTED", "error": None, **over})


def test_eta_from_job_progress():
    job = _job()
    assert wait.estimate(job, {"progress_processed": 10, "progress_total": 110}) == 0.0  # first look: unknown
    job.seen_at -= 2.0  # two seconds later, 10 more done: 90 left at 5/s
    eta = wait.estimate(job, {"progress_processed": 20, "progress_total": 110})
    assert 17 < eta < 19
    job.seen_at = time.time() - 1
    assert wait.estimate(job, {"progress_processed": 20, "progress_total": 110}) == 0.0  # no progress
    assert wait.estimate(_job(), {"status": "STARTED"}) == 0.0


def test_titles_name_the_selection():
    base = Run(id="r1", op="remove", asset_ids=[A], collection_ids=[A, A], formats=["ORIGINAL"])
    assert submit.title(base) == "Remove from LucidLink: 1 asset, 2 collections (ORIGINAL)"
    added = dataclasses.replace(base, op="add", collection_ids=[])
    assert submit.title(added).startswith("Add to LucidLink: 1 asset (")

"""submit: create the iconik job people see in iconik's Jobs view, then request the bulk copies (/add: every
format to LucidLink; /remove: the first format, plus ORIGINAL when it is removed, to B2), `bulk_chunk` ids per
request. Resumable: a copy already requested (by its key) is not requested again."""
from __future__ import annotations

from collections.abc import Iterator

from mam.clients.iconik import BadAnswer, NotFound
from mam.iconik.run import ADD, CopyJob, Run
from mam.iconik.step import PhaseResult, Step
from mam.store import iconik_runs as runs


def title(run: Run) -> str:
    """The iconik job's title: the operation, what was selected and the formats."""
    verb = "Add to LucidLink" if run.op == ADD else "Remove from LucidLink"
    parts = []
    if run.asset_ids:
        parts.append(f"{len(run.asset_ids)} asset{'s' if len(run.asset_ids) != 1 else ''}")
    if run.collection_ids:
        n = len(run.collection_ids)
        parts.append(f"{n} collection{'s' if n != 1 else ''}")
    return f"{verb}: {', '.join(parts) or 'nothing selected'} ({', '.join(run.formats)})"


def _chunks(items: list[str], size: int) -> Iterator[tuple[int, list[str]]]:
    for i in range(0, len(items), max(1, size)):
        yield i // max(1, size), items[i:i + size]


def advance(step: Step) -> PhaseResult:
    """Create the visible job, then request the bulk copies (resumable: done keys are skipped)."""
    run, client = step.run, step.client
    if not run.iconik_job_id and not run.iconik_job_error:
        try:
            job = client.create_job(title=title(run), type="TRANSFER", status="STARTED", object_type="assets",
                                    progress_total=0, progress_processed=0, message="Starting",
                                    metadata={"run_id": run.id, "operation": run.op,
                                              "b2_storage_id": run.b2_storage_id,
                                              "ll_storage_id": run.ll_storage_id})
            run.iconik_job_id = job.get("id")
            # Stored at once: a step that dies later must not create a second visible job.
            runs.save_while_leased(run.id, step.owner, {"iconik_job_id": run.iconik_job_id})
        except BadAnswer as exc:  # the run goes on; only the progress display in iconik is lost
            run.iconik_job_error = str(exc)[:300]
    target = run.ll_storage_id if run.op == ADD else run.b2_storage_id
    done = {j.key for j in run.copy_jobs}
    for fmt in run.copy_formats:
        for object_type, ids in (("assets", run.asset_ids), ("collections", run.collection_ids)):
            for n, chunk in _chunks(list(ids), step.tune.bulk_chunk):
                key = f"{fmt}/{object_type}/{n}"
                if key in done:
                    continue
                if step.time_left() <= 0:
                    return "submit", 0.0
                try:
                    job_id, status, error = client.bulk_copy(target, object_type, chunk, fmt), "READY", None
                except (BadAnswer, NotFound) as exc:
                    job_id, status, error = None, "REFUSED", str(exc)[:300]
                run.copy_jobs.append(CopyJob(key=key, format=fmt, object_type=object_type, count=len(chunk),
                                             id=job_id, status=status, error=error))
    return "expand", 0.0

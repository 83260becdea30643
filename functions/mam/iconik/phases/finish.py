"""finish: count the per-asset outcomes and report them on the run and on the iconik job (FINISHED,
FINISHED_WITH_WARNING when some were kept, FAILED), with a message and the first problems. A run that fails
(refused token, too many failed steps) ends through `fail`, with the same report."""
from __future__ import annotations

import time

from mam import log
from mam.clients.iconik import IconikError
from mam.iconik import jobs
from mam.iconik.run import REMOVE
from mam.iconik.step import PhaseResult, Step
from mam.store import iconik_runs as runs

MAX_PROBLEMS = 50


def advance(step: Step) -> PhaseResult:
    """Count the per-asset outcomes and report them on the run and on the iconik job."""
    summarise(step, failed_reason=None)
    return "done", 0.0


def fail(step: Step, reason: str) -> None:
    """End the run as failed with `reason` (the caller commits it as the last step)."""
    log.warning("iconik run failed", run_id=step.run.id, reason=reason[:300])
    summarise(step, failed_reason=reason[:500])


def summarise(step: Step, failed_reason: str | None) -> None:
    """Set the run's final status, counts, problems and message, and show them on the iconik job."""
    run = step.run
    counts = {s: 0 for s in (runs.PENDING, runs.CONFIRMED, runs.DONE, runs.KEPT, runs.FAILED)}
    problems: list[dict[str, str]] = []
    try:
        for asset_id, data in runs.iter_assets(run.id):
            state = data.get("state", runs.PENDING)
            counts[state] = counts.get(state, 0) + 1
            if state != runs.DONE and len(problems) < MAX_PROBLEMS:
                problems.append({"asset_id": asset_id, "state": state,
                                 "reason": data.get("reason") or "not processed"})
    except Exception as exc:  # noqa: BLE001 - reporting must not keep a failed run from ending
        log.warning("iconik run summary incomplete", run_id=run.id, error=type(exc).__name__)
    total = sum(counts.values())
    ok = counts[runs.DONE]
    removing = run.op == REMOVE
    notes = []
    ex = run.expand
    if ex and ex.missing:
        notes.append(f"{len(ex.missing)} collection(s) not found")
    if ex and ex.odd_ids:
        notes.append(f"{ex.odd_ids} item(s) with a malformed id skipped")
    if run.wait and run.wait.timed_out:
        notes.append("copy jobs did not finish before the deadline")
    bad_jobs = [j for j in run.copy_jobs if jobs.outcome(j.status, step.tune.warning_is_success)
                in ("failure", "warning") or j.status == "REFUSED"]
    if bad_jobs:
        notes.append(f"{len(bad_jobs)} iconik copy job(s) ended {', '.join(sorted({str(j.status) for j in bad_jobs}))}")
    if run.saved_searches_ignored:
        notes.append("saved searches are not supported and were ignored")
    if failed_reason:
        status = "failed"
    elif total == 0 or ok == total:
        status = "succeeded"
    elif ok == 0:
        status = "failed"
    else:
        status = "partial"
    if run.assets_total is None and failed_reason:
        message = f"Nothing was {'removed from' if removing else 'copied to'} LucidLink"
    elif removing:
        message = f"Removed the LucidLink copies of {ok} of {total} assets"
        if total - ok:
            message += f"; {total - ok} kept on LucidLink (B2 copy not confirmed or not processed)"
    else:
        message = f"Copied {ok} of {total} assets to LucidLink"
        if total - ok:
            message += f"; {total - ok} not copied"
    if failed_reason:
        message = f"{message}. Stopped: {failed_reason}"
    if notes:
        message += ". " + "; ".join(notes)
    error_message = "; ".join(f"{p['asset_id']}: {p['reason']}" for p in problems[:5]) or failed_reason
    run.status, run.summary, run.problems = status, {**counts, "total": total}, problems
    run.message, run.finished_at, run.error = message[:1500], time.time(), failed_reason
    if run.iconik_job_id:
        job_status = {"succeeded": jobs.FINISHED, "partial": jobs.FINISHED_WITH_WARNING}.get(status, jobs.FAILED)
        try:
            client = step.client
            if client.deadline is not None and client.deadline - time.monotonic() < 10:
                client.deadline = time.monotonic() + 10  # the final report gets a short grace period of its own
            client.update_job(run.iconik_job_id, status=job_status, progress_total=total, progress_processed=total,
                              message=message[:1000], error_message=(error_message or None) and error_message[:1000])
        except IconikError as exc:
            log.warning("iconik job report failed", run_id=run.id, error=str(exc)[:200])

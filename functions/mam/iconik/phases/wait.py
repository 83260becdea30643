"""wait: follow the copy jobs with scheduled re-checks (never a sleeping function) until they are done or the
deadline passes, then start the final pass. While the jobs still run and report progress, hand over to process
for the assets whose copy has already landed."""
from __future__ import annotations

import time
from typing import Any

from mam.clients.iconik import BadAnswer, NotFound
from mam.iconik import jobs
from mam.iconik.run import CopyJob, Cursor
from mam.iconik.step import PhaseResult, Step, StepFailed


def advance(step: Step) -> PhaseResult:
    """Check the copy jobs; re-check later with growing gaps, or move on when all are done or time is up."""
    run, client, tune = step.run, step.client, step.tune
    eta = 0.0
    progress: int | None = None
    for job in run.copy_jobs:
        if not job.id or jobs.is_done(job.status):
            continue
        if step.time_left() <= 0:
            break
        try:
            info = client.get_job(job.id)
            job.status = info.get("status") or job.status
            job.error = (info.get("error_message") or None) and str(info["error_message"])[:300]
            eta = max(eta, estimate(job, info))
            if isinstance(info.get("progress_processed"), int):
                progress = (progress or 0) + info["progress_processed"]
        except NotFound:
            job.status, job.error = jobs.MISSING, "job no longer exists in iconik"
        except BadAnswer as exc:
            job.status, job.error = jobs.MISSING, str(exc)[:300]
    if all(not j.id or jobs.is_done(j.status) for j in run.copy_jobs):
        return final_pass(step)
    wait = run.wait
    if wait is None:  # expand always sets it before this phase
        raise StepFailed("internal error: the run has no wait state")
    if time.time() >= float(wait.deadline or 0):
        wait.timed_out = True
        return final_pass(step)  # verification decides per asset; an unfinished copy is simply not confirmed
    wait.checks += 1
    moved = progress is None or progress != wait.progress
    wait.progress = progress
    if tune.overlap and run.assets_total and moved and not wait.overlap_done:
        return "process", 0.0  # meanwhile, handle the assets whose copy has already landed
    backoff = tune.job_poll_min_seconds * 1.6 ** (wait.checks - 1)
    # A job that reports progress is looked at again about when it should be done, not a backoff later.
    delay = eta if eta > 0 else backoff
    return "wait", max(tune.job_poll_min_seconds, min(tune.job_poll_max_seconds, delay))


def final_pass(step: Step) -> PhaseResult:
    """All copy jobs are over (or out of time): one last pass over every asset gives each its verdict."""
    if not step.run.final:
        step.run.final = True
        step.run.cursor = Cursor(0, 0)
    return "process", 0.0


def estimate(job: CopyJob, info: dict[str, Any]) -> float:
    """Seconds until the job should finish, from its progress since our last look (0 = unknown)."""
    now = time.time()
    done, total = info.get("progress_processed"), info.get("progress_total")
    previous, seen_at = job.seen_done, job.seen_at
    job.seen_done, job.seen_at = done, now
    if not isinstance(done, int) or not isinstance(total, int) or total <= 0 or previous is None or not seen_at:
        return 0.0
    rate = (done - previous) / max(1e-3, now - seen_at)
    return (total - done) / rate if rate > 0 else 0.0

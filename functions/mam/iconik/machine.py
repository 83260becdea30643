"""The run state machine: one custom-action call = one run, advanced by Cloud Tasks in bounded steps.

    submit   create the visible iconik job; ask iconik for the bulk copies (all formats to LucidLink for /add;
             the first format, plus ORIGINAL when it is being removed, to B2 for /remove)
    expand   walk the selected collections recursively, one contents page at a time, recording every asset
    wait     follow the copy jobs with scheduled re-checks (never a sleeping function) until done or the deadline
    process  per asset, in batches: verify (remove: the copy on B2; add: the copy on LucidLink), persist the verdict,
             then (remove, confirmed only) delete + purge that asset's LucidLink file sets. While the jobs still
             run, wait and process alternate: assets whose copy has landed are handled at once, the others stay
             pending; once the jobs are over, a final pass from the start gives every asset its verdict
    finish   count outcomes, report them on the run and on the iconik job

Each phase is a module of `mam.iconik.phases`; this module owns the step protocol around them. Every task carries
(run_id, seq). A step runs only if the run's seq equals the task's and it wins the lease in a Firestore
transaction; it commits with seq+1 and only then enqueues the next task (deterministic name). So a duplicate
delivery is acknowledged without effect, a crash after the commit is repaired by the retried task re-enqueueing
the next one, and a per-asset verdict is stored before anything is deleted.
"""
from __future__ import annotations

import time
import traceback
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mam import log
from mam.clients.iconik import AuthRejected, IconikError, Unavailable
from mam.iconik.phases import expand, finish, process, submit, wait
from mam.iconik.request import ActionBody, ActionQuery
from mam.iconik.run import Run, new_run
from mam.iconik.step import PhaseResult, Step, StepFailed
from mam.store import iconik_runs as runs

if TYPE_CHECKING:  # typing only: mam.tasks imports flask and the Cloud Tasks client lazily
    from mam.settings import Settings
    from mam.task_routes import IconikStep
    from mam.tasks import Enqueued

MAX_STEP_DELAY = 300.0

PHASES: dict[str, Callable[[Step], PhaseResult]] = {
    "submit": submit.advance, "expand": expand.advance, "wait": wait.advance, "process": process.advance,
    "finish": finish.advance,
}


# ---- task payloads -------------------------------------------------------------------------------------------
# A step carries no HMAC any more: the route checks each delivery's OIDC token (`mam.task_auth`), which only
# Cloud Tasks acting as TASKS_SERVICE_ACCOUNT can present for iconik_tasks' URL, and which expires within the hour.
def enqueue_step(settings: Settings, run_id: str, seq: int, token: str, delay: float = 0.0,
                 extra: tuple = ()) -> Enqueued:
    """Schedule step `seq` of a run. The task name is derived from (run, seq[, extra]): created once."""
    from mam.task_routes import ICONIK_STEP, IconikStep

    step = IconikStep(run_id, seq, token)
    return ICONIK_STEP.enqueue(step, key=(run_id, seq, *extra), delay_seconds=max(0.0, delay))


# ---- starting a run ----------------------------------------------------------------------------------------
def start_run(settings: Settings, op: str, query: ActionQuery, body: ActionBody, run_id: str) -> tuple[str, bool]:
    """Record the run and schedule its first step; (run_id, created). A replayed call re-schedules step 0 only
    while the run has not started, so the chain is repaired if the first attempt died before enqueueing."""
    created = runs.create_run(new_run(run_id, op, query, body))
    if not created:
        existing = runs.load_run(run_id)
        if existing is not None and (existing.phase == "done" or existing.seq != 0):
            return run_id, False
    enqueue_step(settings, run_id, 0, body.auth_token)
    return run_id, created


# ---- one step -------------------------------------------------------------------------------------------------
def handle_step(task: IconikStep, settings: Settings) -> dict[str, Any]:
    """Run one delivery of a step task; what it did (the task entry answers it with 200). Raises only on an
    unexpected failure outside the step (Firestore or Cloud Tasks down), which Cloud Tasks should retry."""
    owner = uuid.uuid4().hex
    state, run = runs.claim(task.run_id, task.seq, owner, settings.iconik.tuning.lease_seconds)
    if state in ("missing", "finished") or run is None:
        return {"run_id": task.run_id, "result": state}
    if state == "stale":
        # The step after this one may never have been enqueued (a crash between commit and enqueue): do it now.
        if run.seq == task.seq + 1:
            enqueue_step(settings, task.run_id, task.seq + 1, task.token, float(run.next_at or 0) - time.time())
        return {"run_id": task.run_id, "result": "duplicate"}
    if state == "busy":
        # Another delivery holds the lease (or crashed holding it): look again once the lease has expired.
        until = float(run.lease_until or 0)
        enqueue_step(settings, task.run_id, task.seq, task.token, until - time.time() + 1, extra=("busy", int(until)))
        return {"run_id": task.run_id, "result": "busy"}
    return _run_claimed(run, task, settings, owner)


def _run_claimed(run: Run, task: IconikStep, settings: Settings, owner: str) -> dict[str, Any]:
    claimed = run.to_doc()  # what the commit compares against: it writes only the fields the step changed
    step = Step(run, task.token, settings.iconik, owner)
    tune = step.tune
    seq, phase = task.seq, run.phase
    next_phase, delay, terminal = phase, 0.0, False
    try:
        next_phase, delay = PHASES[phase](step)
        run.step_failures, run.last_error = 0, None
        terminal = next_phase == "done"
        if not terminal:
            step.report_progress(next_phase)
    except AuthRejected as exc:
        finish.fail(step, f"iconik refused our credentials (the custom action's auth token may have expired): {exc}")
        terminal, next_phase = True, "done"
    except StepFailed as exc:
        finish.fail(step, str(exc))
        terminal, next_phase = True, "done"
    except Exception as exc:  # noqa: BLE001 - iconik down, a Firestore hiccup, a bug: bounded retries with backoff, then fail
        failures = int(run.step_failures or 0) + 1
        transient = isinstance(exc, (Unavailable, IconikError))
        detail = str(exc)[:300] if transient else f"{type(exc).__name__}: {str(exc)[:200]}"
        log.warning("iconik step failed", run_id=run.id, seq=seq, phase=phase, failures=failures, error=detail,
                    **({} if transient else {"stack": traceback.format_exc()[-3000:]}))
        if failures > tune.step_retries:
            finish.fail(step, f"gave up after {failures} failed attempts in phase {phase}: {detail}")
            terminal, next_phase = True, "done"
        else:
            run.step_failures, run.last_error = failures, detail
            retry_after = getattr(exc, "retry_after", None) or 0.0
            delay = min(MAX_STEP_DELAY, max(retry_after, tune.step_retry_base_seconds * 2 ** (failures - 1)))
    run.phase, run.seq, run.next_at, run.steps = next_phase, seq + 1, time.time() + delay, int(run.steps or 0) + 1
    elapsed = round(time.monotonic() - step.started, 2)
    if not runs.commit(run.id, owner, run.changes(claimed)):
        log.warning("iconik step lost its lease", run_id=run.id, seq=seq, phase=phase)
        return {"run_id": run.id, "result": "lease lost"}
    log.info("iconik step", run_id=run.id, seq=seq, phase=phase, next_phase=next_phase, seconds=elapsed,
             delay=round(delay, 1), **step.client.stats.as_dict())
    if not terminal:
        enqueue_step(settings, run.id, seq + 1, task.token, delay)
    return {"run_id": run.id, "phase": phase, "next_phase": next_phase, "seconds": elapsed,
            **step.client.stats.as_dict()}


def run_status(run_id: str) -> dict[str, Any] | None:
    """What an operator (or the fire script) sees of a run: never the token, never internal lease fields."""
    run = runs.load_run(run_id)
    return None if run is None else run.report()

"""What one task delivery works with once it holds a run's lease: the run record, an iconik client with the
caller's token, the tuning and a time budget. The phases (`mam.iconik.phases`) change `step.run` in place; the
machine commits the changed fields when the phase returns."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mam import log
from mam.clients.iconik import AuthRejected, IconikClient, IconikError, shared_limiter
from mam.iconik.run import ADD, REMOVE, Run

if TYPE_CHECKING:
    from mam.settings import IconikSettings

# The next phase and how long to wait before it runs (seconds); "done" ends the run.
PhaseResult = tuple[str, float]


class StepFailed(Exception):
    """Ends the run as failed with a reason the user can read."""


class Step:
    """One invocation's work on a claimed run: its iconik client and time budget."""

    def __init__(self, run: Run, token: str, iconik: IconikSettings, owner: str):
        self.run, self.owner = run, owner
        self.tune = tune = iconik.tuning
        self.started = time.monotonic()
        self.budget_end = self.started + tune.step_seconds
        # Calls may run a little past the budget (one in flight), never past budget + 15 s.
        self.client = IconikClient(iconik.url, iconik.app_id, token,
                                   limiter=shared_limiter(float(iconik.rate_limit or 0)),
                                   timeout=tune.http_timeout, attempts=tune.http_attempts,
                                   deadline=self.budget_end + 15.0, max_retry_after=tune.max_retry_after)

    def time_left(self) -> float:
        """Seconds left of this invocation's work budget (negative once spent)."""
        return self.budget_end - time.monotonic()

    def report_progress(self, phase: str) -> None:
        """Show where the run is on its iconik job (best effort: only a refused token fails the step)."""
        run = self.run
        if not run.iconik_job_id:
            return
        text = {"submit": "Requesting copies", "expand": "Listing collections",
                "wait": f"Copying to {'LucidLink' if run.op == ADD else 'B2'}",
                "process": "Verifying copies" + (" and removing LucidLink files" if run.op == REMOVE else ""),
                }.get(phase, phase)
        try:
            self.client.update_job(run.iconik_job_id, progress_total=int(run.assets_total or 0),
                                   progress_processed=int(run.processed or 0), message=text)
        except AuthRejected:
            raise
        except IconikError as exc:
            log.info("iconik job progress not updated", run_id=run.id, error=str(exc)[:200])

"""iconik job statuses and what they mean for a run (contracts 2.2)."""
from __future__ import annotations

FINISHED = "FINISHED"
FINISHED_WITH_WARNING = "FINISHED_WITH_WARNING"
FAILED = "FAILED"
ABORTED = "ABORTED"
SKIPPED = "SKIPPED"
STARTED = "STARTED"
MISSING = "MISSING"  # ours: the job no longer exists in iconik (404)

# Every status of iconik's JobSchema enum; PAUSED/READY/WAITING/ABORT_PENDING/STARTED are not done.
ALL = ("READY", "STARTED", FINISHED, FINISHED_WITH_WARNING, FAILED, "WAITING", "ABORT_PENDING", ABORTED, SKIPPED,
       "PAUSED")
DONE = frozenset({FINISHED, FINISHED_WITH_WARNING, SKIPPED, FAILED, ABORTED, MISSING})


def is_done(status: str | None) -> bool:
    """True when iconik will not change the job any more (an unknown status is treated as still running)."""
    return status in DONE


def outcome(status: str | None, warning_is_success: bool = True) -> str:
    """"success", "warning", "failure" or "pending" for a job status."""
    if status in (FINISHED, SKIPPED):
        return "success"
    if status == FINISHED_WITH_WARNING:
        return "success" if warning_is_success else "warning"
    if status in (FAILED, ABORTED, MISSING):
        return "failure"
    return "pending"

"""The missed-notification safety check's schedule: fixed when an upload starts, carried in each check's payload."""
from __future__ import annotations

from dataclasses import dataclass

from mam.settings import TransloaditSettings


@dataclass(frozen=True)
class CheckPolicy:
    """The safety-check schedule of one upload, fixed when the upload starts and carried in each task's payload
    (so a configuration change never alters uploads already in flight)."""

    first: int  # seconds before the first check
    max_interval: int  # cap of the doubling interval
    grace_until: float  # epoch seconds: no assembly by then -> the upload never started
    deadline: float  # epoch seconds: still running by then -> give up
    idle: float = 900.0  # seconds without upload progress (the page is gone) -> give up; checks come that often

    def to_payload(self) -> dict[str, float]:
        return {"first": self.first, "max": self.max_interval, "grace_until": self.grace_until, "deadline": self.deadline,
                "idle": self.idle}

    @classmethod
    def from_payload(cls, raw: object, started: float, t: TransloaditSettings) -> CheckPolicy:
        """Policy from a task payload; missing/invalid parts fall back to the current knobs from `started`."""
        d = raw if isinstance(raw, dict) else {}

        def num(key: str, default: float) -> float:
            value = d.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                return float(value)
            return float(default)

        return cls(first=int(num("first", t.upload_check_first_delay_seconds)),
                   max_interval=int(num("max", t.upload_check_max_delay_seconds)),
                   grace_until=num("grace_until", started + t.upload_start_grace_seconds),
                   deadline=num("deadline", started + t.upload_deadline_seconds),
                   idle=max(num("idle", idle_seconds(t)), 1.0))

    def delay(self, attempt: int) -> int:
        """Delay before check number `attempt` (1-based): `first`, then doubling, capped at `max_interval`."""
        return int(min(self.first * (2 ** min(max(attempt - 1, 0), 30)), max(self.max_interval, self.first)))


def idle_seconds(t: TransloaditSettings) -> float:
    """UPLOAD_IDLE_MINUTES in seconds (at least one second)."""
    return max(float(t.upload_idle_minutes) * 60.0, 1.0)


def policy_for(started: float, t: TransloaditSettings) -> CheckPolicy:
    """The policy of an upload starting at `started` (epoch seconds), from the current knobs."""
    return CheckPolicy(first=t.upload_check_first_delay_seconds, max_interval=t.upload_check_max_delay_seconds,
                       grace_until=started + t.upload_start_grace_seconds, deadline=started + t.upload_deadline_seconds,
                       idle=idle_seconds(t))


def human_duration(seconds: float) -> str:
    """"24 hours", "90 minutes", "45 seconds" for reasons users read."""
    seconds = round(seconds)
    if seconds >= 7200 and seconds % 3600 == 0 or seconds >= 48 * 3600:
        return f"{round(seconds / 3600)} hours"
    if seconds >= 120:
        return f"{round(seconds / 60)} minutes"
    return f"{seconds} seconds"

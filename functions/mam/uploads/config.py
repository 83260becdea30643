"""Upload timing knobs not (yet) in mam.settings: read from the environment with production defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        return default
    return value if value >= 0 else default


@dataclass(frozen=True)
class UploadTiming:
    """When the safety check runs and when an upload is given up."""

    params_ttl: int  # lifetime of signed params (auth.expires); Uppy creates the assembly right away
    first_check: int  # first missed-notification check after the upload starts
    max_check_interval: int  # checks back off (doubling) up to this interval
    start_grace: int  # no assembly found this long after the start: the upload never began
    deadline: int  # an upload still running this long after the start is failed


def timing() -> UploadTiming:
    """Current knobs (UPLOAD_* environment variables; tests shorten them)."""
    return UploadTiming(
        params_ttl=_int("UPLOAD_PARAMS_TTL_SECONDS", 3600),
        first_check=_int("UPLOAD_CHECK_FIRST_DELAY_SECONDS", 900),
        max_check_interval=_int("UPLOAD_CHECK_MAX_DELAY_SECONDS", 4 * 3600),
        start_grace=_int("UPLOAD_START_GRACE_SECONDS", 3600),
        deadline=_int("UPLOAD_DEADLINE_SECONDS", 24 * 3600),
    )


@dataclass(frozen=True)
class CheckPolicy:
    """The safety-check schedule of one upload, fixed when the upload starts and carried in each task's payload
    (so a configuration change never alters uploads already in flight)."""

    first: int  # seconds before the first check
    max_interval: int  # cap of the doubling interval
    grace_until: float  # epoch seconds: no assembly by then -> the upload never started
    deadline: float  # epoch seconds: still running by then -> give up

    def to_payload(self) -> dict[str, float]:
        return {"first": self.first, "max": self.max_interval, "grace_until": self.grace_until, "deadline": self.deadline}

    @classmethod
    def from_payload(cls, raw: object, started: float, t: UploadTiming) -> CheckPolicy:
        """Policy from a task payload; missing/invalid parts fall back to the current knobs from `started`."""
        d = raw if isinstance(raw, dict) else {}

        def num(key: str, default: float) -> float:
            value = d.get(key)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
            return float(value) if ok else float(default)

        return cls(first=int(num("first", t.first_check)), max_interval=int(num("max", t.max_check_interval)),
                   grace_until=num("grace_until", started + t.start_grace),
                   deadline=num("deadline", started + t.deadline))

    def delay(self, attempt: int) -> int:
        """Delay before check number `attempt` (1-based): `first`, then doubling, capped at `max_interval`."""
        return int(min(self.first * (2 ** min(max(attempt - 1, 0), 30)), max(self.max_interval, self.first)))


def policy_for(started: float, t: UploadTiming) -> CheckPolicy:
    """The policy of an upload starting at `started` (epoch seconds)."""
    return CheckPolicy(first=t.first_check, max_interval=t.max_check_interval, grace_until=started + t.start_grace,
                       deadline=started + t.deadline)


def human_duration(seconds: float) -> str:
    """"24 hours", "90 minutes", "45 seconds" for reasons users read."""
    seconds = round(seconds)
    if seconds >= 7200 and seconds % 3600 == 0 or seconds >= 48 * 3600:
        return f"{round(seconds / 3600)} hours"
    if seconds >= 120:
        return f"{round(seconds / 60)} minutes"
    return f"{seconds} seconds"

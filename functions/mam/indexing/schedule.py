"""When to look at a Twelve Labs task again: a growing poll schedule, and backoff after errors."""
from __future__ import annotations

import random

FIRST_POLL = 5.0     # seconds after submitting: catches quick validation failures early
MIN_STEP = 8.0       # never poll more often than this afterwards
GROWTH = 0.2         # then wait a fifth of the time spent so far: a job of T seconds is seen done by ~1.2 T
CAP = 120.0          # and never wait longer than two minutes between polls
ERROR_BASE = 5.0     # first wait after a 429/5xx/time-out, doubled per consecutive error
JITTER = 0.1         # +-10 %: spreads the polls of videos submitted together


def poll_delay(elapsed: float, rng: random.Random | None = None) -> float:
    """Seconds until the next poll of a task submitted `elapsed` seconds ago."""
    return _jitter(_base(elapsed), rng)


def _base(elapsed: float) -> float:
    # "just submitted" is judged with a margin: a jittered first poll may land a little before FIRST_POLL, and
    # must then wait a full step rather than creep towards FIRST_POLL in ever smaller steps
    if elapsed < FIRST_POLL / 2:
        return FIRST_POLL - max(0.0, elapsed)
    return min(CAP, max(MIN_STEP, elapsed * GROWTH))


def error_delay(consecutive_errors: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait after the n-th consecutive failed call (n >= 1); honours the service's Retry-After."""
    n = max(1, consecutive_errors)
    base = min(CAP, ERROR_BASE * 2 ** (n - 1))
    delay = _jitter(base, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, CAP * 5))
    return delay


def _jitter(base: float, rng: random.Random | None) -> float:
    r = (rng or random).uniform(-JITTER, JITTER)
    return round(base * (1 + r), 3)


def polls_until(duration: float) -> int:
    """How many polls the schedule makes before seeing a task that takes `duration` seconds (no jitter)."""
    t, n = 0.0, 0
    while t < duration:
        t += _base(t)
        n += 1
    return n

"""Tuning of the iconik plugin (env vars with defaults). Read on every use so tests can change them per case.

These are operational knobs, not deployment settings; `mam.settings` holds ICONIK_URL, ICONIK_APP_ID,
BZ_SHARED_SECRET, FORMAT_NAMES and ICONIK_RATE_LIMIT.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Tuning:
    """How the run state machine paces itself."""

    step_seconds: float = 25.0          # work budget of one task invocation (function timeout is 120 s)
    lease_seconds: float = 110.0        # a crashed invocation's claim on a run expires after this
    concurrency: int = 8                # parallel iconik calls inside one invocation
    page_size: int = 40                 # assets verified/deleted per batch
    http_timeout: float = 10.0          # read timeout of one iconik request
    http_attempts: int = 6              # tries per iconik request (429/5xx/network)
    max_retry_after: float = 60.0       # longest Retry-After we wait inside an invocation
    job_deadline_seconds: float = 21600.0  # give up waiting for iconik copy jobs after this (then verify anyway)
    job_poll_min_seconds: float = 2.0
    job_poll_max_seconds: float = 60.0
    step_retries: int = 8               # failed steps (iconik down) retried this often, with backoff ...
    step_retry_base_seconds: float = 5.0  # ... starting here, doubling, capped at 300 s; then the run fails
    max_ids: int = 10000                # asset_ids + collection_ids accepted in one custom action call
    max_collections: int = 10000        # collections walked in one run (their ids live in the run record)
    contents_per_page: int = 1000       # collection contents page size (iconik's maximum)
    bulk_chunk: int = 1000              # object_ids per bulk copy request
    overlap: bool = True                # verify/remove assets whose copy landed while the copy jobs still run
    warning_is_success: bool = True     # FINISHED_WITH_WARNING counts as a finished copy (assets are verified anyway)
    sync_deadline_seconds: float = 6.0  # the custom-action reply must fit iconik's ~10 s limit


_ENV = {f.name: "ICONIK_" + f.name.upper() for f in fields(Tuning)}


def tuning(environ: dict[str, str] | None = None) -> Tuning:
    """Tuning from ICONIK_<FIELD> environment variables; a malformed value raises ValueError naming it."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Tuning):
        raw = env.get(_ENV[f.name])
        if raw is None or raw == "":
            continue
        try:
            if f.type == "bool":
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif f.type == "int":
                values[f.name] = int(raw)
            else:
                values[f.name] = float(raw)
        except ValueError:
            raise ValueError(f"{_ENV[f.name]} must be a number, got {raw!r}") from None
        if isinstance(values[f.name], (int, float)) and not isinstance(values[f.name], bool) and values[f.name] < 0:
            raise ValueError(f"{_ENV[f.name]} must not be negative")
    return Tuning(**values)  # type: ignore[arg-type]

"""How far an indexing run is: the progress Twelve Labs reports (if it does) and an estimate from the duration.

Twelve Labs API v1.3 reports no progress on a task (its task object is status + system_metadata; API v1.2 had
`process.percentage`, which the adapter still reads if a response carries it). So the page shows the elapsed
time (from `index_started_at`) against an estimate of the whole run, made from the video's duration.
"""
from __future__ import annotations

import math

from mam.videos import Video

# The estimate's basis: a run (our submit, Twelve Labs' fetch + validation + queue + indexing) takes about
# INDEX_BASE_SECONDS plus INDEX_SECONDS_PER_VIDEO_SECOND for every second of video. Twelve Labs publishes no figure;
# these are a cautious starting point (a short clip took 11-17 s end to end on the local stack). Tune them from
# the "video indexed" log lines, which carry `index_seconds` and `duration` of every finished run.
INDEX_BASE_SECONDS = 30.0
INDEX_SECONDS_PER_VIDEO_SECOND = 0.5


def estimate_seconds(duration: float | None) -> float | None:
    """Expected length of a whole indexing run of a video `duration` seconds long; None when it is unknown."""
    if duration is None or duration <= 0:
        return None
    return round(INDEX_BASE_SECONDS + INDEX_SECONDS_PER_VIDEO_SECOND * float(duration), 1)


def clamp_percentage(value: float | None) -> float | None:
    """A reported percentage as 0-100 (one decimal), or None when there is none or it is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        pct = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(pct):
        return None
    return round(min(max(pct, 0.0), 100.0), 1)


def start(video: Video) -> None:
    """A new run begins (with Sending): no progress yet, and an estimate if the upload measured the duration."""
    video.index_progress = None
    video.index_estimate_seconds = estimate_seconds(video.duration)


def _more(video: Video, pct: float | None) -> bool:
    return pct is not None and (video.index_progress is None or pct > video.index_progress)


def note(video: Video, percentage: float | None, duration: float | None) -> bool:
    """Record what one poll of the task says: a newly reported percentage (never backwards), and the estimate
    once a duration is known (the upload's, else Twelve Labs'). True when the record changes."""
    changed = False
    pct = clamp_percentage(percentage)
    if _more(video, pct):
        video.index_progress = pct
        changed = True
    estimate = estimate_seconds(video.duration if video.duration else duration)
    if estimate is not None and video.index_estimate_seconds != estimate:
        video.index_estimate_seconds = estimate
        changed = True
    return changed


def worth_a_write(video: Video, percentage: float | None, duration: float | None) -> bool:
    """A poll that changes no status is written only for news: more progress than recorded, or the run's first
    estimate (once per run); a changed estimate otherwise rides along with the next status change."""
    first_estimate = video.index_estimate_seconds is None and estimate_seconds(video.duration or duration) is not None
    return _more(video, clamp_percentage(percentage)) or first_estimate

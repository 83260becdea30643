"""The daily cap on analyses (INSIGHTS_DAILY_LIMIT): a counter per UTC day, taken in a transaction."""
from __future__ import annotations

import datetime as dt

from mam.videos import utcnow


def day(now: dt.datetime | None = None) -> str:
    """The UTC day a run is counted against (YYYY-MM-DD)."""
    return (now or utcnow()).astimezone(dt.UTC).strftime("%Y-%m-%d")


def seconds_to_reset(now: dt.datetime | None = None) -> float:
    """Seconds until the next UTC midnight, when the count starts again."""
    now = (now or utcnow()).astimezone(dt.UTC)
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


def limit_message(limit: int, now: dt.datetime | None = None,
                  then: str = "this video will be summarised then.") -> str:
    """The sentence people read when today's summaries are used up, ending with what happens (or to do) then."""
    hours = seconds_to_reset(now) / 3600
    when = "in less than an hour" if hours < 1 else f"in about {round(hours)} hour{'s' if round(hours) != 1 else ''}"
    return (f"Today's limit of {limit} video summaries is reached. It resets at midnight UTC ({when}); "
            f"{then}")

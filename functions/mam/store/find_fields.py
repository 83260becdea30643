"""The stored fields that make the library findable, derived from a video's title, creation time and duration.

Firestore has no case-insensitive or word search, so each video carries normalised copies written by the data layer
on every write of the record (`mam.store.videos`), never by callers:

- `title_terms`: every prefix (1..MAX_PREFIX characters) of every word of the title, lower-cased and without
  accents; a word search is one `array-contains` on it.
- `sort_created`, `sort_title`, `sort_duration`: strings that order as the sorts of the library do and end with
  the video id, so each is unique: a page cursor is simply the last key read (no ties to count).
- `find_v`: the version of these rules; the backfill (`library_find.backfill`) refills records of older versions.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

FIND_VERSION = 1
MAX_PREFIX = 20  # a query word longer than this is matched on its first MAX_PREFIX characters, then checked whole
MAX_WORDS = 40  # words of a title that are indexed (an index entry per prefix per word)
SORT_TITLE_CHARS = 200
SEP = "\x01"  # below every printable character: "ab" + SEP sorts before "ab c" + SEP
_WORD = re.compile(r"[^\W_]+")
DERIVED = ("title_terms", "sort_created", "sort_title", "sort_duration", "find_v")


def fold(text: str) -> str:
    """Lower-cased, accents removed, whitespace collapsed: the form titles are compared in."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def words(text: str) -> list[str]:
    """The words of `text` in folded form, in order (letters and digits; punctuation separates)."""
    return _WORD.findall(fold(text))


def title_terms(title: str) -> list[str]:
    """Every prefix of every word of `title` (the values a word search matches with array-contains)."""
    terms: dict[str, None] = {}
    for word in words(title)[:MAX_WORDS]:
        for n in range(1, min(len(word), MAX_PREFIX) + 1):
            terms[word[:n]] = None
    return list(terms)


def created_key(when: dt.datetime) -> str:
    """The fixed-width UTC form of a creation time; ordered as time is, so a date range is a key range."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sort_created(when: dt.datetime, video_id: str) -> str:
    return created_key(when) + SEP + video_id


def sort_title(title: str, video_id: str) -> str:
    return fold(title)[:SORT_TITLE_CHARS] + SEP + video_id


def sort_duration(duration: float | None, video_id: str) -> str:
    """Milliseconds, zero-padded; an unknown duration sorts below every known one (last when longest first)."""
    if duration is None or math.isnan(duration) or duration < 0:  # unknown, or nonsense
        return SEP + video_id
    return f"{min(round(duration * 1000), 10**15 - 1):015d}" + SEP + video_id


def derived(video_id: str, title: str, created_at: Any, duration: float | None) -> dict[str, Any]:
    """All the findability fields of one video."""
    fields: dict[str, Any] = {"title_terms": title_terms(title), "sort_title": sort_title(title, video_id),
                              "sort_duration": sort_duration(duration, video_id), "find_v": FIND_VERSION}
    if isinstance(created_at, dt.datetime):
        fields["sort_created"] = sort_created(created_at, video_id)
    return fields


def derived_for_patch(video_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    """The findability fields that change with a partial update `patch` (only those its fields feed)."""
    out: dict[str, Any] = {}
    if "title" in patch:
        out["title_terms"] = title_terms(patch["title"] or "")
        out["sort_title"] = sort_title(patch["title"] or "", video_id)
    if "duration" in patch:
        out["sort_duration"] = sort_duration(patch["duration"], video_id)
    if isinstance(patch.get("created_at"), dt.datetime):
        out["sort_created"] = sort_created(patch["created_at"], video_id)
    return out

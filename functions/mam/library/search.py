"""Natural-language search: Twelve Labs results grouped by video, joined with our records in ONE batched read.

An index entry is shown only when it maps to a current record: its `mam_id` (set at indexing) names a record
whose `tl_video_id` is that entry. Entries of deleted, re-indexed or foreign videos are skipped and logged.
Clip thumbnail URLs come from Twelve Labs and expire after an hour: they are passed through, never stored.
Order: Marengo 3.0 gives each clip a `rank` (1 = best in the whole search) and no score, so videos are listed by
their best clip's rank and clips best first; that rank is the only measure of relevance we pass on.
"""
from __future__ import annotations

import re
from typing import Any

from mam import log, store
from mam.http import ApiError
from mam.library.views import video_json
from mam.settings import Settings

MAX_QUERY_CHARS = 500
PAGE_LIMIT = 12  # videos per page
# What people may search: "visual" = what is seen, on-screen text included (Twelve Labs `visual`); "audio" = what
# is heard, speech and other sounds (Twelve Labs `transcription` + `audio`; see twelvelabs.SEARCH_OPTIONS).
OPTIONS = ("visual", "audio")
DEFAULT_OPTIONS = "visual,audio"
_TOKEN = re.compile(r"^[A-Za-z0-9._~+=-]{1,512}$")


def parse_query(q: str | None) -> str:
    """The query text, trimmed; 400 when empty or longer than 500 characters."""
    text = " ".join((q or "").split())
    if not text:
        raise ApiError(400, "empty_query", "type something to search for")
    if len(text) > MAX_QUERY_CHARS:
        raise ApiError(400, "query_too_long", f"the query may be at most {MAX_QUERY_CHARS} characters")
    return text


def parse_options(raw: str | None) -> list[str]:
    """Search options from "visual,audio" (the default); 400 for anything else."""
    raw = DEFAULT_OPTIONS if raw is None or not raw.strip() else raw
    opts = list(dict.fromkeys(o.strip().lower() for o in raw.split(",") if o.strip()))
    bad = [o for o in opts if o not in OPTIONS]
    if bad or not opts:
        raise ApiError(400, "invalid_options", f"options must be a comma-separated subset of {', '.join(OPTIONS)}")
    return opts


def parse_token(raw: str | None) -> str | None:
    """A next_page_token as we handed it out, or None; 400 when it cannot be one."""
    if raw is None or raw == "":
        return None
    if not _TOKEN.match(raw):
        raise ApiError(400, "invalid_page_token", "page_token is not a token this API returned")
    return raw


def search(settings: Settings, query: str, options: list[str], page_token: str | None = None) -> dict[str, Any]:
    """{"query", "results": [{"video": Video, "clips": [Clip]}], "next_page_token"} of one page."""
    from mam.clients import twelvelabs as tl

    client = tl.client_for(settings.twelvelabs)
    try:
        try:
            page = client.search_page(page_token) if page_token else client.search(query, options, PAGE_LIMIT)
        except tl.NotFound:
            if page_token:
                raise
            client.forget_index()  # the index was deleted (reset, expiry): it is found or made again
            page = client.search(query, options, PAGE_LIMIT)
    except tl.TokenExpired:
        raise ApiError(400, "page_token_expired", "these results have expired; run the search again") from None
    except tl.RateLimited as exc:
        retry = str(max(1, round(exc.retry_after))) if exc.retry_after is not None else "5"
        raise ApiError(429, "search_busy", "search is busy; try again in a moment", {"Retry-After": retry}) from None
    except tl.Unavailable as exc:
        log.warning("search unavailable", status=exc.status, code=exc.code)
        raise ApiError(503, "search_unavailable", "search is unavailable right now; try again shortly") from None
    except (tl.Rejected, tl.NotFound) as exc:
        log.warning("search rejected", status=exc.status, code=exc.code, error=exc.message[:200],
                    paged=page_token is not None)
        if page_token:
            raise ApiError(400, "invalid_page_token", "these results are no longer available; run the search "
                                                      "again") from None
        raise ApiError(502, "search_failed", "the search service refused the query") from None
    return {"query": query, "results": join(settings, page.hits), "next_page_token": page.next_page_token}


def join(settings: Settings, hits: Any) -> list[dict[str, Any]]:
    """Search hits with their library records (one batched read), in the order given (best clip first); unknown
    ones skipped."""
    wanted = {h.video_id: str(h.user_metadata.get("mam_id") or "") for h in hits}
    records = store.get_videos({m for m in wanted.values() if m})
    results: list[dict[str, Any]] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for hit in hits:
        video = records.get(wanted[hit.video_id])
        if video is None or video.tl_video_id != hit.video_id or video.id in seen:
            skipped.append(hit.video_id)
            continue
        seen.add(video.id)
        results.append({"video": video_json(video, settings), "clips": [clip_json(c) for c in hit.clips]})
    if skipped:
        log.warning("search skipped videos unknown to the library", count=len(skipped), tl_video_ids=skipped[:20])
    return results


def clip_json(clip: Any) -> dict[str, Any]:
    """Schema `Clip`: start/end in seconds, rank (1 = best in the whole search), a short-lived thumbnail URL."""
    return {"start": round(float(clip.start), 3), "end": round(float(clip.end), 3), "rank": clip.rank,
            "thumbnail_url": clip.thumbnail_url}

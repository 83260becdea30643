"""Natural-language search: Twelve Labs results grouped by video, joined with our records in ONE batched read.

An index entry is shown only when it maps to a current record: its `mam_id` (set at indexing) names a record
whose `tl_video_id` is that entry. Entries of deleted, re-indexed or foreign videos are skipped and logged.
Clip thumbnail URLs come from Twelve Labs and expire after an hour: they are passed through, never stored.
Order: Marengo 3.0 gives each clip a `rank` (1 = best in the whole search) and no score, so videos are listed by
their best clip's rank and clips best first; that rank is the only measure of relevance we pass on.
What matched: Twelve Labs does not say which option found a clip, so the videos of a page are searched once more
per option (filtered to those videos) and each clip is labelled with the options whose clips overlap it.
Overlapping clips of a video are merged here, not in the browser, so every client gets one clip per moment.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
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
# What a clip can be labelled with (`matched`), each one Twelve Labs search option (adapter SEARCH_OPTIONS):
# the picture with its on-screen text (Marengo 3.0 folds text in video into `visual`), speech, other sound.
MATCH_LABELS = {"visual": ("visual",), "audio": ("speech", "sound")}
LABEL_PAGE_LIMIT = 50  # videos per labelling search: one page covers the PAGE_LIMIT videos it is filtered to
_TOKEN = re.compile(r"^[A-Za-z0-9._~+=-]{1,512}\Z")


def parse_query(q: str | None) -> str:
    """The query text, trimmed; 400 when empty or longer than 500 characters."""
    text = " ".join((q or "").split())
    if not text:
        raise ApiError(400, "empty_query", "Type something to search for.")
    if len(text) > MAX_QUERY_CHARS:
        raise ApiError(400, "query_too_long", f"The search text may be at most {MAX_QUERY_CHARS} characters. Shorten it and search again.")
    return text


def parse_options(raw: str | None) -> list[str]:
    """Search options from "visual,audio" (the default); 400 for anything else."""
    raw = DEFAULT_OPTIONS if raw is None or not raw.strip() else raw
    opts = list(dict.fromkeys(o.strip().lower() for o in raw.split(",") if o.strip()))
    bad = [o for o in opts if o not in OPTIONS]
    if bad or not opts:
        raise ApiError(400, "invalid_options", f"Options must be a comma-separated subset of {', '.join(OPTIONS)}.")
    return opts


def parse_token(raw: str | None) -> str | None:
    """A next_page_token as we handed it out, or None; 400 when it cannot be one."""
    if raw is None or raw == "":
        return None
    if not _TOKEN.match(raw):
        raise ApiError(400, "invalid_page_token", "This results page is not available. Run the search again.")
    return raw


def search(settings: Settings, query: str | None, options: list[str], page_token: str | None = None,
           image: tuple[bytes, str, str] | None = None) -> dict[str, Any]:
    """{"query", "kind", "results": [{"video": Video, "clips": [Clip]}], "next_page_token"} of one page: a text
    search (`query`), a search by `image` (data, filename, content type; checked by `images.check` first), or a
    later page of either (`page_token`; an image search's pages come without a query)."""
    from mam.clients import twelvelabs as tl

    client = tl.client_for(settings.twelvelabs)
    kind = "text" if query is not None else "image"

    def first_page():
        if image is not None:
            return client.search_image(image[0], image[1], image[2], PAGE_LIMIT)
        return client.search(query or "", options, PAGE_LIMIT)

    try:
        try:
            page = client.search_page(page_token) if page_token else first_page()
        except tl.NotFound:
            if page_token:
                raise
            client.forget_index()  # the index was deleted (reset, expiry): it is found or made again
            page = first_page()
    except tl.TokenExpired:
        raise ApiError(400, "page_token_expired", "These results have expired. Run the search again.") from None
    except tl.RateLimited as exc:
        retry = str(max(1, round(exc.retry_after))) if exc.retry_after is not None else "5"
        raise ApiError(429, "search_busy", "Search is busy. Try again in a moment.", {"Retry-After": retry}) from None
    except tl.Unavailable as exc:
        log.warning("search unavailable", status=exc.status, code=exc.code)
        raise ApiError(503, "search_unavailable", "Search is unavailable right now. Try again shortly.") from None
    except (tl.Rejected, tl.NotFound) as exc:
        log.warning("search rejected", status=exc.status, code=exc.code, error=exc.message[:200],
                    paged=page_token is not None)
        if page_token:
            raise ApiError(400, "invalid_page_token", "These results are no longer available. Run the "
                                                      "search again.") from None
        if image is not None:
            raise ApiError(502, "search_failed", "The search service could not search with this picture. Try "
                                                 "another picture.") from None
        raise ApiError(502, "search_failed", "The search service could not run this search. Try other words.") from None
    from mam.library.insights import add_chapters

    results = join(settings, page.hits)
    # a picture is searched with `visual` alone, so matched_by labels it without another search
    labels = matched_by(client, query or "", options, [r["_tl_video_id"] for r in results])
    for r in results:
        r["clips"] = merge_clips(r.pop("_clips"), labels.get(r.pop("_tl_video_id")))
    add_chapters(results)
    return {"query": query, "kind": kind, "results": results, "next_page_token": page.next_page_token}


def matched_by(client: Any, query: str, options: list[str], tl_video_ids: list[str]) -> dict[str, list[tuple]]:
    """{tl_video_id: [(start, end, label)]}: the clips each single option finds in these videos ({} when a
    labelling search fails: results are then shown without labels)."""
    from mam.clients import twelvelabs as tl

    wanted = [label for o in options for label in MATCH_LABELS[o]]
    if len(wanted) == 1:  # one option searched: it is what matched, no need to ask
        return {vid: [(0.0, float("inf"), wanted[0])] for vid in tl_video_ids}
    if not tl_video_ids:
        return {}
    only = {"id": list(dict.fromkeys(tl_video_ids))}

    def one(label: str) -> list[tuple[str, float, float, str]]:
        page = client.search(query, [label], LABEL_PAGE_LIMIT, filter=only)
        return [(h.video_id, c.start, c.end, label) for h in page.hits for c in h.clips]

    out: dict[str, list[tuple]] = {}
    try:
        with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
            for found in pool.map(one, wanted):
                for vid, start, end, label in found:
                    out.setdefault(vid, []).append((start, end, label))
    except tl.TwelveLabsError as exc:
        log.warning("search labels unavailable", status=exc.status, code=exc.code)
        return {}
    return out


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
        results.append({"video": video_json(video, settings), "_clips": list(hit.clips), "_tl_video_id": hit.video_id})
    if skipped:
        log.warning("search skipped videos unknown to the library", count=len(skipped), tl_video_ids=skipped[:20])
    return results


def merge_clips(clips: list[Any], labelled: list[tuple] | None = None) -> list[dict[str, Any]]:
    """Schema `Clip`s of one video, best first: overlapping clips merged into one (its best rank and that clip's
    thumbnail), each labelled with what matched (`matched`, when known) and carrying the words said in it."""
    labelled = labelled or []
    groups: list[list[Any]] = []
    for c in sorted(clips, key=lambda c: (float(c.start), float(c.end))):
        if groups and float(c.start) <= max(float(x.end) for x in groups[-1]):
            groups[-1].append(c)
        else:
            groups.append([c])
    out = []
    for group in groups:
        start, end = min(float(c.start) for c in group), max(float(c.end) for c in group)
        best = min(group, key=lambda c: (c.rank is None, c.rank or 0))
        matched = sorted({label for s, e, label in labelled if s < end and e > start},
                         key=["visual", "speech", "sound"].index)
        out.append({"start": round(start, 3), "end": round(end, 3), "rank": best.rank,
                    "thumbnail_url": best.thumbnail_url, "matched": matched, "transcript": _transcript(group)})
    out.sort(key=lambda c: (c["rank"] is None, c["rank"] or 0, c["start"]))
    return out


def _transcript(group: list[Any]) -> str | None:
    """The words said in merged clips, in time order, without repeating a clip's words another one holds."""
    texts = [t.strip() for t in (getattr(c, "transcription", None) for c in group) if t and t.strip()]
    kept = [t for i, t in enumerate(texts) if not any(t in o and (t != o or j < i) for j, o in enumerate(texts) if j != i)]
    return " … ".join(kept) if kept else None

"""`POST /search` and `GET /search/{page_token}` of the local Twelve Labs: validation, filters, ranking,
grouping and expiring page tokens. Clips carry only what Marengo 3.0 returns: `video_id`, `start`, `end`, `rank`,
`thumbnail_url` (thumbnail addon), `transcription` (transcription option) and `user_metadata` (only on a page
requested with include_user_metadata=true)."""
from __future__ import annotations

import json
import math
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from . import image_search, ranking
from .state import SearchSession, Store, Video, new_id, rfc3339

OPTIONS = ("visual", "audio", "transcription")
TRANSCRIPTION_OPTIONS = ("lexical", "semantic")
# Index model option each search option needs (Marengo 3.0): speech and other sounds both come from `audio`.
NEEDS = {"visual": "visual", "audio": "audio", "transcription": "audio"}
# System fields the docs list for search filters; any other key is user metadata (`fps` is not filterable here).
NUMERIC_FIELDS = ("duration", "width", "height", "size")
MAX_QUERY_TOKENS = 500  # Marengo 3.0
_PIECE = re.compile(r"\w+|[^\w\s]")


class SearchError(Exception):
    """A 400 answer: code + message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def options_of(values: list[str]) -> list[str]:
    """search_options as sent: repeated fields (the SDK), or one JSON array field (older docs' curl samples).
    A comma-joined value is one unknown option, not several."""
    out: list[str] = []
    for v in values:
        v = v.strip()
        if v.startswith("["):
            try:
                arr = json.loads(v)
            except ValueError as exc:
                raise SearchError("parameter_invalid", "search_options is not a valid JSON array.") from exc
            out += [str(x) for x in arr]
        elif v:
            out.append(v)
    return out


def query_tokens(text: str) -> int:
    """A deliberately high estimate of the model tokens in `text` (a word counts one token per 4 characters,
    each punctuation mark one), so the stand-in refuses every query the real 500-token limit refuses."""
    return sum(max(1, math.ceil(len(p) / 4)) for p in _PIECE.findall(text))


def create(store: Store, form: Any, ttl: float, clip_thumbnail: Callable[[Video, float], str],
           files: Any = None, fetch: Callable[[str], bytes] | None = None) -> dict:
    """Run a text, image or composed (image + text) search described by multipart `form` (+ `files`, with
    `fetch` getting query_media_url images); returns the first page."""
    index_id = (form.get("index_id") or "").strip()
    if not index_id:
        raise SearchError("parameter_not_provided", "The index_id parameter is required.")
    media_type = (form.get("query_media_type") or "").strip()
    urls = [u.strip() for u in form.getlist("query_media_url") if u.strip()]
    uploads = [f for f in (files.getlist("query_media_file") if files is not None else []) if f]
    images: list[bytes] = []
    if media_type or urls or uploads:
        if media_type != "image":
            raise SearchError("parameter_invalid", "query_media_type must be image for a media query.")
        try:
            images = image_search.collect(uploads, urls, fetch or _no_fetch)
        except image_search.ImageQueryError as exc:
            raise SearchError(exc.code, exc.message) from None
    query = (form.get("query_text") or "").strip()
    if not query and not images:
        raise SearchError("parameter_not_provided", "The query_text parameter is required.")
    if query and query_tokens(query) > MAX_QUERY_TOKENS:
        raise SearchError("parameter_invalid", f"query_text is too long ({MAX_QUERY_TOKENS} tokens at most).")
    options = list(dict.fromkeys(options_of(form.getlist("search_options"))))
    if not options:
        raise SearchError("parameter_not_provided", "The search_options parameter is required.")
    bad = [o for o in options if o not in OPTIONS]
    if bad:
        raise SearchError("parameter_invalid", f"Unknown search option(s): {', '.join(bad)}.")
    if images and "visual" not in options:
        raise SearchError("search_option_not_supported", "Image queries need the visual search option.")
    bad = [o for o in options_of(form.getlist("transcription_options")) if o not in TRANSCRIPTION_OPTIONS]
    if bad:
        raise SearchError("parameter_invalid", f"Unknown transcription option(s): {', '.join(bad)}.")
    group_by = form.get("group_by") or "clip"
    operator = form.get("operator") or "or"
    if group_by not in ("clip", "video"):
        raise SearchError("parameter_invalid", "group_by must be clip or video.")
    if operator not in ("or", "and"):
        raise SearchError("parameter_invalid", "operator must be or or and.")
    try:
        page_limit = int(form.get("page_limit") or 10)
    except ValueError:
        raise SearchError("parameter_invalid", "page_limit must be an integer.") from None
    if not 1 <= page_limit <= 50:
        raise SearchError("parameter_invalid", "page_limit must be between 1 and 50.")
    flt = parse_filter(form.get("filter"))
    include_meta = (form.get("include_user_metadata") or "").lower() == "true"

    with store.lock:
        idx = store.indexes.get(index_id)
        if idx is None:
            raise SearchError("resource_not_exist", f"The index {index_id} does not exist.")
        marengo = [m for m in idx.models if str(m.get("model_name") or "").startswith("marengo")]
        if not marengo:
            raise SearchError("index_not_supported_for_search",
                              f"The index {index_id} has no Marengo model, so it cannot be searched.")
        enabled = {o for m in marengo for o in (m.get("model_options") or [])}
        missing = [o for o in options if NEEDS[o] not in enabled]
        if missing:
            raise SearchError("search_option_not_supported",
                              f"The index was not created with the model option(s) needed for: {', '.join(missing)}.")
        videos = [v for v in store.index_videos(index_id)]
        pool = {"total_count": len(videos), "total_duration": round(sum(
            float(v.system_metadata.get("duration") or 0) for v in videos), 3), "index_id": index_id}
        thumbs = "thumbnail" in idx.addons
        generation = idx.generation
    chosen = [v for v in videos if matches(v, flt)]
    by_id = {v.id: v for v in chosen}
    pool_videos = [(v.id, float(v.system_metadata.get("duration") or 0), v.understanding) for v in chosen]
    if images:  # the picture (and the words in it, plus any query_text words) against keyframes
        try:
            queries = [image_search.features(img) for img in images]
        except image_search.ImageQueryError as exc:
            raise SearchError(exc.code, exc.message) from None
        clips = image_search.rank(pool_videos, queries, frozenset(ranking.query_terms(query)) if query else
                                  frozenset())
    else:
        clips = ranking.rank(pool_videos, query, options, operator)

    def clip_json(rank_no: int, c: ranking.Clip) -> dict:
        # no score, confidence or matched modality: Marengo 3.0 answers with the rank alone
        v = by_id[c.video_id]
        item: dict[str, Any] = {"video_id": c.video_id, "start": c.start, "end": c.end, "rank": rank_no}
        if "transcription" in options:  # the words heard in the clip, when speech was searched
            said = ranking.words_between(v.understanding.get("speech") or [], c.start, c.end)
            if said:
                item["transcription"] = said
        if thumbs:
            item["thumbnail_url"] = clip_thumbnail(v, c.start)
        # kept with the session; `page` drops it unless that page's request asks for user metadata
        item["user_metadata"] = dict(v.user_metadata)
        return item

    ranked = [clip_json(i + 1, c) for i, c in enumerate(clips)]
    inner = None
    if group_by == "video":
        groups: dict[str, list[dict]] = {}
        for item in ranked:  # ranked best first, so videos come out ordered by their best clip
            groups.setdefault(item["video_id"], []).append(item)
        # a video group is {id, clips}; user metadata rides on its clips only
        items: list[dict] = [{"id": vid, "clips": group} for vid, group in groups.items()]
        inner = len(ranked)
    else:
        items = ranked
    pages = [items[i:i + page_limit] for i in range(0, len(items), page_limit)] or [[]]
    session = SearchSession(id=new_id(), index_id=index_id, generation=generation, expires_at=time.time() + ttl,
                            pages=pages, tokens=[secrets.token_urlsafe(18) for _ in pages], page_limit=page_limit,
                            total_results=len(items), total_inner_matches=inner, search_pool=pool)
    with store.lock:
        store.drop_expired_sessions(time.time())
        store.sessions[session.id] = session
        for n, tok in enumerate(session.tokens):
            store.page_tokens[tok] = (session.id, n)
    return page(session, 0, include_meta)


def retrieve(store: Store, token: str, include_meta: bool = False) -> dict:
    """The page a `next_page_token`/`prev_page_token` points at, with user metadata only when this request asks
    for it (as the real API: the first page's include_user_metadata does not carry over); 400
    search_page_token_expired when stale."""
    with store.lock:
        ref = store.page_tokens.get(token)
        session = store.sessions.get(ref[0]) if ref else None
        if session is None or ref is None:
            if token in store.retired_tokens:  # issued by us, its search long dropped
                raise SearchError("search_page_token_expired", "The page token has expired; run the search again.")
            raise SearchError("parameter_invalid", "The page token is not valid.")
        idx = store.indexes.get(session.index_id)
        if time.time() > session.expires_at or idx is None or idx.generation != session.generation:
            raise SearchError("search_page_token_expired",
                              "The page token has expired or the index changed; run the search again.")
    return page(session, ref[1], include_meta)


def page(session: SearchSession, n: int, include_meta: bool) -> dict:
    """Page `n` of a search session as the API answers it."""
    items = session.pages[n]
    if not include_meta:
        items = [_without_meta(i) for i in items]
    info: dict[str, Any] = {"limit_per_page": session.page_limit, "total_results": session.total_results,
                            "page_expires_at": rfc3339(session.expires_at)}
    if n + 1 < len(session.pages):
        info["next_page_token"] = session.tokens[n + 1]
    if n > 0:
        info["prev_page_token"] = session.tokens[n - 1]
    if session.total_inner_matches is not None:
        info["total_inner_matches"] = session.total_inner_matches
    return {"data": items, "page_info": info, "search_pool": session.search_pool}


def _without_meta(item: dict) -> dict:
    out = {k: v for k, v in item.items() if k != "user_metadata"}
    if "clips" in out:
        out["clips"] = [{k: v for k, v in c.items() if k != "user_metadata"} for c in out["clips"]]
    return out


def parse_filter(raw: str | None) -> dict:
    """Parse and check the `filter` JSON string; SearchError search_filter_invalid when malformed."""
    if raw is None or raw.strip() == "":
        return {}
    try:
        flt = json.loads(raw)
    except ValueError:
        raise SearchError("search_filter_invalid", "filter is not valid JSON.") from None
    if not isinstance(flt, dict):
        raise SearchError("search_filter_invalid", "filter must be a JSON object.")
    for key, val in flt.items():
        if key == "id":
            if not (isinstance(val, str) or (isinstance(val, list) and all(isinstance(x, str) for x in val))):
                raise SearchError("search_filter_invalid", "filter id must be a string or an array of strings.")
        elif isinstance(val, dict):
            if not val or set(val) - {"gte", "lte"} or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in val.values()):
                raise SearchError("search_filter_invalid", f"filter {key} accepts only numeric gte/lte.")
        elif not isinstance(val, (str, int, float, bool)):
            raise SearchError("search_filter_invalid", f"filter {key} has an unsupported value.")
    return flt


def matches(video: Video, flt: dict) -> bool:
    """True if `video` passes every condition of a parsed filter."""
    for key, want in flt.items():
        if key == "id":
            ids = [want] if isinstance(want, str) else want
            if video.id not in ids:
                return False
            continue
        if key in NUMERIC_FIELDS or key == "filename":
            have = video.system_metadata.get(key)
        else:
            have = video.user_metadata.get(key)
        if isinstance(want, dict):
            if not isinstance(have, (int, float)) or isinstance(have, bool):
                return False
            if "gte" in want and have < want["gte"]:
                return False
            if "lte" in want and have > want["lte"]:
                return False
        elif have != want:
            return False
    return True


def _no_fetch(url: str) -> bytes:
    raise SearchError("parameter_invalid", "query_media_url cannot be fetched here.")

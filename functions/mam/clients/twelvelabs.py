"""The one adapter for Twelve Labs (API v1.3 through the official `twelvelabs` SDK 1.3.x).

Everything else in the product talks to Twelve Labs through `TwelveLabsClient` and sees only the small records
and errors below, never SDK types. SDK quirks it absorbs (see shared/contracts/twelvelabs.md):
- exception classes differ per endpoint, a 429 may have an empty body: errors are mapped on the status code;
- SDK retries are off and broken for multipart calls: callers retry through Cloud Tasks with backoff instead,
  honouring `TwelveLabsError.retry_after`;
- search pagers silently stop on an expired token: pages are fetched one at a time with `search_page`;
- a failed task's `error_reason` is not modelled by the SDK: it is read from the extra fields;
- Marengo 3.0 clips carry a `rank` (1 = best) but no score, confidence or matched option: order comes from rank.
- analyze with a JSON schema answers `data` as a JSON *string* that may be cut short (`finish_reason` "length"):
  callers parse and validate it (`mam.insights.schema`).
Webhook signatures (`TL-Signature: t=<unix>,v1=<hex>`) are verified here too, without importing the SDK.

The SDK import costs about a second, so it happens on first use, never at module import.
"""
from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mam import webhook_signatures
from mam.settings import TwelveLabsSettings

# Index created when missing: Marengo for search over what is seen and heard, with thumbnails.
INDEX_MODELS = [{"model_name": "marengo3.0", "model_options": ["visual", "audio"]}]
INDEX_ADDONS = ["thumbnail"]
# Our search options -> Twelve Labs search_options (Marengo 3.0 meanings). `visual` is the picture and on-screen
# text; `transcription` is speech and `audio` only non-speech sound, so our "audio" ("speech and sound") sends both.
SEARCH_OPTIONS = {"visual": ("visual",), "audio": ("transcription", "audio"),
                  # one Twelve Labs option each: search per option to learn what matched (the API does not say)
                  "speech": ("transcription",), "sound": ("audio",)}
ANALYZE_MODEL = "pegasus1.5"  # analysis of a video by URL: no Pegasus index needed
SYNC_ANALYZE_MAX_SECONDS = 3600  # longer videos are analysed by an asynchronous analyze task
ANALYZE_MIN_SECONDS = 4  # Twelve Labs does not analyse shorter videos
TASK_STATUSES = ("uploading", "validating", "pending", "queued", "indexing", "ready", "failed")
WEBHOOK_TOLERANCE_SECONDS = 300
_UNIX_SECONDS = re.compile(r"^[0-9]{1,12}\Z")


# ---- errors ------------------------------------------------------------------------------------------------
class TwelveLabsError(Exception):
    """A Twelve Labs call failed. `status` is the HTTP status (0: no answer), `code` Twelve Labs' error code,
    `retryable` says whether trying again later can help, `retry_after` the seconds the service asked for."""

    retryable = False

    def __init__(self, message: str, *, status: int = 0, code: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.message, self.status, self.code, self.retry_after = message, status, code, retry_after


class RateLimited(TwelveLabsError):
    """429: too many requests (wait `retry_after` when given)."""

    retryable = True


class Unavailable(TwelveLabsError):
    """5xx, time-out or no connection: try again later."""

    retryable = True


class NotFound(TwelveLabsError):
    """The index, task or video does not exist (404, or 400 resource_not_exist)."""


class Rejected(TwelveLabsError):
    """Any other 4xx: the request itself is wrong (bad URL, bad filter, invalid key...)."""


class TokenExpired(Rejected):
    """A search page token expired or the index changed under it: run the search again."""


class WebhookSignatureError(Exception):
    """A webhook failed verification; `reason` is safe to return and to log (it never holds the secret)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ---- records -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskInfo:
    """A video indexing task."""

    id: str
    status: str
    video_id: str | None
    index_id: str | None
    error: str | None = None          # readable reason when failed
    error_code: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    filename: str | None = None
    thumbnail_urls: tuple[str, ...] = ()
    updated_at: str | None = None
    percentage: float | None = None   # only if the answer carries `process.percentage` (API v1.2 did; v1.3 documents none)

    @property
    def done(self) -> bool:
        return self.status in ("ready", "failed")


@dataclass(frozen=True)
class Clip:
    """One matching segment of a video, in seconds; `rank` is its place in the whole search (1 = best)."""

    video_id: str
    start: float
    end: float
    rank: int | None
    thumbnail_url: str | None = None  # expires after an hour: never store it
    transcription: str | None = None


@dataclass(frozen=True)
class SearchHit:
    """A video of a search result (group_by=video) with its clips best first; `user_metadata` as set at indexing."""

    video_id: str
    clips: tuple[Clip, ...]
    user_metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def best_rank(self) -> int | None:
        """The rank of the video's best clip (None when Twelve Labs gave no rank)."""
        ranks = [c.rank for c in self.clips if c.rank is not None]
        return min(ranks) if ranks else None


@dataclass(frozen=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    next_page_token: str | None
    total_results: int | None
    page_expires_at: str | None


@dataclass(frozen=True)
class IndexVideo:
    """A video in the index."""

    id: str
    duration: float | None
    filename: str | None
    width: int | None
    height: int | None
    size: int | None
    user_metadata: dict[str, Any]
    thumbnail_urls: tuple[str, ...] = ()
    hls_url: str | None = None


@dataclass(frozen=True)
class Generated:
    """The text an analysis produced: `data` (a JSON string when a schema was given), `finish_reason` ("stop", or
    "length" when cut short) and the tokens it used."""

    id: str
    data: str
    finish_reason: str
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class AnalyzeTask:
    """An asynchronous analysis task: `status` queued|pending|processing|ready|failed|canceled; `result` once ready."""

    id: str
    status: str
    custom_id: str | None = None
    result: Generated | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status in ("ready", "failed", "canceled")


@dataclass(frozen=True)
class Segment:
    """A span of recognised speech, in seconds."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """A video of the index with its recognised speech (retrieve with `transcription=true`)."""

    video_id: str
    duration: float | None
    segments: tuple[Segment, ...]


# ---- error mapping -----------------------------------------------------------------------------------------
def parse_retry_after(headers: dict[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from Retry-After / retry-after-ms / X-Ratelimit-Reset (epoch), if any (capped at 1 h)."""
    if not headers:
        return None
    h = {k.lower(): v for k, v in headers.items()}
    now = time.time() if now is None else now
    value: float | None = None
    try:
        if h.get("retry-after-ms"):
            value = float(h["retry-after-ms"]) / 1000
        elif h.get("retry-after"):
            raw = h["retry-after"].strip()
            if raw.replace(".", "", 1).isdigit():
                value = float(raw)
            else:
                parsed = email.utils.parsedate_to_datetime(raw)
                value = parsed.timestamp() - now
        elif h.get("x-ratelimit-reset"):
            value = float(h["x-ratelimit-reset"]) - now
    except (TypeError, ValueError, IndexError):
        return None
    if value is None:
        return None
    return max(0.0, min(value, 3600.0))


def map_error(exc: BaseException) -> TwelveLabsError:
    """Turn an SDK/httpx exception into one of our TwelveLabsError classes (status code first, never class)."""
    if isinstance(exc, TwelveLabsError):
        return exc
    status = getattr(exc, "status_code", None)
    if status is None:  # httpx transport errors, time-outs, broken JSON
        return Unavailable(f"Twelve Labs did not answer ({type(exc).__name__})")
    body = getattr(exc, "body", None)
    code, message = "", ""
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        code, message = str(inner.get("code") or ""), str(inner.get("message") or "")
    elif isinstance(body, str):
        message = body[:300]
    headers = getattr(exc, "headers", None) or {}
    text = message or f"HTTP {status}"
    if status == 429:
        return RateLimited(f"Twelve Labs rate limit: {text}", status=429, code=code or "too_many_requests",
                           retry_after=parse_retry_after(headers))
    if status >= 500 or status in (408, 409):
        return Unavailable(f"Twelve Labs is unavailable: {text}", status=status, code=code,
                           retry_after=parse_retry_after(headers))
    if status == 404 or code == "resource_not_exist":
        return NotFound(text, status=status, code=code or "resource_not_exist")
    if code == "search_page_token_expired":
        return TokenExpired(text, status=status, code=code)
    return Rejected(text, status=status, code=code)


def _reason(raw: Any) -> tuple[str | None, str | None]:
    """(message, code) of a failed task's `error_reason` (shape unconfirmed: a string or {code, message})."""
    if raw is None:
        return None, None
    if isinstance(raw, dict):
        msg = raw.get("message") or raw.get("detail") or raw.get("code")
        return (str(msg) if msg else None), (str(raw["code"]) if raw.get("code") else None)
    return str(raw), None


# ---- the client ----------------------------------------------------------------------------------------------
class TwelveLabsClient:
    """Twelve Labs calls used by the product. One per process (see `client_for`); thread-safe."""

    def __init__(self, api_key: str, base_url: str, index_name: str, timeout: float = 20.0):
        self._api_key, self.base_url, self.index_name, self.timeout = api_key, base_url.rstrip("/"), index_name, timeout
        self._sdk = None
        self._index_id: str | None = None
        self._lock = threading.Lock()
        self.calls = 0  # API requests made (for benchmarks and logs)

    def __repr__(self) -> str:  # never show the key
        return f"TwelveLabsClient(base_url={self.base_url!r}, index_name={self.index_name!r})"

    def _client(self):
        with self._lock:
            if self._sdk is None:
                # BaseClient rather than the TwelveLabs wrapper: the wrapper silently replaces base_url with the
                # TWELVELABS_BASE_URL environment variable; we want exactly the configured URL.
                from twelvelabs.base_client import BaseClient

                self._sdk = BaseClient(api_key=self._api_key, base_url=self.base_url, timeout=self.timeout)
            return self._sdk

    def _call(self, fn, *args, **kwargs):
        self.calls += 1
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure leaves as one of our error classes
            raise map_error(exc) from None

    # -- index --
    def ensure_index(self) -> str:
        """Id of the index named `index_name`, created (Marengo, visual+audio, thumbnails) if missing. Cached."""
        if self._index_id:
            return self._index_id
        sdk = self._client()
        found = self._find_index(sdk)
        if found is None:
            try:
                found = self._call(sdk.indexes.create, index_name=self.index_name, models=INDEX_MODELS,
                                   addons=INDEX_ADDONS).id
            except Rejected as exc:
                if exc.code != "index_name_already_exists":  # lost a race with another instance: fine
                    raise
                found = self._find_index(sdk)
                if found is None:
                    raise
        self._index_id = found
        return found

    def _find_index(self, sdk) -> str | None:
        pager = self._call(sdk.indexes.list, index_name=self.index_name, page_limit=50)
        for idx in pager.items or []:  # one page; the filter may be a partial match, so compare exactly
            if idx.index_name == self.index_name:
                return idx.id
        return None

    def forget_index(self) -> None:
        """Drop the cached index id (after NotFound: the index was deleted or expired)."""
        self._index_id = None

    # -- tasks --
    def create_task(self, video_url: str, user_metadata: dict[str, Any] | None = None) -> tuple[str, str | None]:
        """Start indexing the media at `video_url` (a raw file URL, e.g. presigned); returns (task_id, video_id)."""
        index_id = self.ensure_index()
        sdk = self._client()
        kwargs: dict[str, Any] = {"index_id": index_id, "video_url": video_url, "enable_video_stream": True}
        if user_metadata:
            kwargs["user_metadata"] = json.dumps(user_metadata, separators=(",", ":"))
        created = self._call(sdk.tasks.create, **kwargs)
        if not created.id:
            raise Unavailable("Twelve Labs returned no task id")
        return created.id, created.video_id

    def retrieve_task(self, task_id: str) -> TaskInfo:
        """The task's current status (and thumbnails once ready)."""
        return _task_info(self._call(self._client().tasks.retrieve, task_id))

    def list_tasks(self, statuses: Iterable[str] = (), page: int = 1, page_limit: int = 50) -> list[TaskInfo]:
        """One page of the index's tasks, newest first (no auto-paging: the SDK pager always overshoots)."""
        pager = self._call(self._client().tasks.list, index_id=self.ensure_index(), page=page,
                           page_limit=page_limit, status=list(statuses) or None)
        return [_task_info(t) for t in pager.items or []]

    # -- search --
    def search(self, query: str, options: Iterable[str] = ("visual", "audio"), page_limit: int = 10,
               filter: dict[str, Any] | None = None, operator: str = "or") -> SearchPage:
        """First page of a text search grouped by video (with user_metadata, e.g. our record id)."""
        tl_options: list[str] = []
        for opt in options:
            if opt not in SEARCH_OPTIONS:
                raise ValueError(f"unknown search option {opt!r}")
            tl_options += [o for o in SEARCH_OPTIONS[opt] if o not in tl_options]
        kwargs: dict[str, Any] = {"index_id": self.ensure_index(), "query_text": query,
                                  "search_options": tl_options, "group_by": "video", "operator": operator,
                                  "page_limit": max(1, min(int(page_limit), 50)), "include_user_metadata": True}
        if filter:
            kwargs["filter"] = json.dumps(filter, separators=(",", ":"))
        try:
            return _search_page(self._call(self._client().search.create, **kwargs))
        except NotFound:
            self.forget_index()  # deleted or expired: the next call looks it up (or creates it) again
            raise

    def search_page(self, page_token: str) -> SearchPage:
        """A later page; raises TokenExpired when the token expired or the index changed (search again).
        include_user_metadata is asked for again: the API honours it per page, not per search."""
        return _search_page(self._call(self._client().search.retrieve, page_token, include_user_metadata=True))

    def search_image(self, image: bytes, filename: str, content_type: str, page_limit: int = 10) -> SearchPage:
        """First page of a search by image (grouped by video, with user_metadata): Twelve Labs needs `visual`."""
        kwargs: dict[str, Any] = {"index_id": self.ensure_index(), "query_media_type": "image",
                                  "query_media_file": (filename, image, content_type), "search_options": ["visual"],
                                  "group_by": "video", "page_limit": max(1, min(int(page_limit), 50)),
                                  "include_user_metadata": True}
        try:
            return _search_page(self._call(self._client().search.create, **kwargs))
        except NotFound:
            self.forget_index()
            raise

    # -- analysis (summaries, chapters, ...) --
    def analyze(self, video_url: str, prompt: str, schema: dict[str, Any], *, model: str = ANALYZE_MODEL,
                max_tokens: int | None = None) -> Generated:
        """ONE synchronous analysis of the video at `video_url` (4 s to 1 h) answering with JSON that follows
        `schema` (`data` is that JSON as a string; check `finish_reason`)."""
        from twelvelabs.types.video_context import VideoContext_Url

        kwargs: dict[str, Any] = {"model_name": model, "video": VideoContext_Url(url=video_url), "prompt": prompt,
                                  "temperature": 0.2,
                                  "response_format": {"type": "json_schema", "json_schema": schema}}
        if max_tokens:
            kwargs["max_tokens"] = max_tokens
        res = self._call(self._client().analyze, **kwargs)
        return _generated(res.id or "", res.data, res.finish_reason, res.usage)

    def create_analyze_task(self, video_url: str, prompt: str, schema: dict[str, Any], custom_id: str, *,
                            model: str = ANALYZE_MODEL) -> str:
        """Start an asynchronous analysis (videos over the 1 h sync limit, up to 2 h); returns the task id."""
        from twelvelabs.types.video_context import VideoContext_Url

        created = self._call(self._client().analyze_async.tasks.create, model_name=model, custom_id=custom_id,
                             video=VideoContext_Url(url=video_url), prompt=prompt, temperature=0.2,
                             response_format={"type": "json_schema", "json_schema": schema})
        if not created.task_id:
            raise Unavailable("Twelve Labs returned no analysis task id")
        return created.task_id

    def retrieve_analyze_task(self, task_id: str) -> AnalyzeTask:
        """The analysis task's status, with its result once ready."""
        t = self._call(self._client().analyze_async.tasks.retrieve, task_id)
        result = None
        if t.result is not None:
            result = _generated(t.result.generation_id or "", t.result.data, t.result.finish_reason, t.result.usage)
        error = getattr(t.error, "message", None) if t.error is not None else None
        return AnalyzeTask(id=t.task_id, status=str(t.status or ""), custom_id=t.custom_id, result=result,
                           error=str(error)[:500] if error else None)

    def transcript(self, video_id: str) -> Transcript | None:
        """A video of the index with its recognised speech, or None when it is not there (ONE retrieve)."""
        try:
            v = self._call(self._client().indexes.videos.retrieve, self.ensure_index(), video_id, transcription=True)
        except NotFound:
            return None
        segments = []
        for item in getattr(v, "transcription", None) or []:
            text = " ".join(str(item.value or "").split())
            if text and item.start is not None and item.end is not None:
                segments.append(Segment(float(item.start), float(item.end), text))
        segments.sort(key=lambda seg: (seg.start, seg.end))
        return Transcript(video_id=v.id or video_id, duration=_num(getattr(v, "system_metadata", None), "duration"),
                          segments=tuple(segments))

    # -- videos in the index --
    def get_video(self, video_id: str) -> IndexVideo | None:
        """A video of the index, or None when it is not there."""
        try:
            v = self._call(self._client().indexes.videos.retrieve, self.ensure_index(), video_id)
        except NotFound:
            return None
        return _index_video(v, video_id)

    def list_videos(self, page: int = 1, page_limit: int = 50) -> list[IndexVideo]:
        """One page of the index's videos, newest first, each with its user metadata ([] past the last page; no
        SDK auto-paging). The list answers "video vectors" without user metadata (SDK VideoVector), so a video
        whose entry lacks it is read once more with retrieve, which has it."""
        pager = self._call(self._client().indexes.videos.list, self.ensure_index(), page=page,
                           page_limit=max(1, min(int(page_limit), 50)))
        out: list[IndexVideo] = []
        for v in pager.items or []:
            listed = _index_video(v)
            if not _sent(v, "user_metadata") and listed.id:
                # gone since the list was made: keep the bare entry, so the page keeps its length for paging
                listed = self.get_video(listed.id) or listed
            out.append(listed)
        return out

    def delete_video(self, video_id: str) -> bool:
        """Remove a video from the index; False when it was already gone (deleting is idempotent)."""
        try:
            self._call(self._client().indexes.videos.delete, self.ensure_index(), video_id)
            return True
        except NotFound:
            return False


def _num(obj: Any, name: str) -> float | None:
    v = getattr(obj, name, None) if obj is not None else None
    return float(v) if isinstance(v, (int, float)) else None


def _int(obj: Any, name: str) -> int | None:
    v = _num(obj, name)
    return int(v) if v is not None else None


def _sent(obj: Any, name: str) -> bool:
    """True when the answer had field `name` (modelled or extra), even if empty."""
    fields = set(getattr(obj, "model_fields_set", None) or ()) | set(getattr(obj, "model_extra", None) or {})
    return name in fields


def _index_video(v: Any, video_id: str = "") -> IndexVideo:
    sm = getattr(v, "system_metadata", None)
    hls = getattr(v, "hls", None)
    return IndexVideo(id=v.id or video_id, duration=_num(sm, "duration"), filename=getattr(sm, "filename", None),
                      width=_int(sm, "width"), height=_int(sm, "height"), size=_int(sm, "size"),
                      user_metadata=dict(getattr(v, "user_metadata", None) or {}),
                      thumbnail_urls=tuple(getattr(hls, "thumbnail_urls", None) or ()),
                      hls_url=getattr(hls, "video_url", None))


def _task_info(t: Any) -> TaskInfo:
    sm = getattr(t, "system_metadata", None)
    hls = getattr(t, "hls", None)
    extra = getattr(t, "model_extra", None) or {}
    message, code = _reason(extra.get("error_reason") if isinstance(extra, dict) else getattr(t, "error_reason", None))
    status = str(t.status or "")
    if status not in TASK_STATUSES:  # an unknown future status is treated as still in progress
        status = "indexing"
    return TaskInfo(id=t.id, status=status, video_id=t.video_id, index_id=t.index_id, error=message, error_code=code,
                    duration=_num(sm, "duration"), width=_int(sm, "width"), height=_int(sm, "height"),
                    filename=getattr(sm, "filename", None),
                    thumbnail_urls=tuple(getattr(hls, "thumbnail_urls", None) or ()), updated_at=t.updated_at,
                    percentage=_percentage(extra.get("process") if isinstance(extra, dict) else None))


def _percentage(process: Any) -> float | None:
    """`process.percentage` of a task answer (an unmodelled extra field), as a number; None when absent or odd."""
    value = process.get("percentage") if isinstance(process, dict) else getattr(process, "percentage", None)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _generated(gid: str, data: Any, finish_reason: Any, usage: Any) -> Generated:
    return Generated(id=gid, data=data if isinstance(data, str) else json.dumps(data) if data is not None else "",
                     finish_reason=str(finish_reason or ""), input_tokens=_int(usage, "input_tokens"),
                     output_tokens=_int(usage, "output_tokens"))


def _rank_key(rank: int | None) -> tuple[bool, int]:
    return (rank is None, rank or 0)  # unranked last


def _search_page(res: Any) -> SearchPage:
    hits = []
    for item in res.data or []:
        clips_raw = item.clips if item.clips is not None else [item]  # tolerate group_by=clip items
        vid = item.id or item.video_id or ""
        clips = tuple(sorted((Clip(video_id=c.video_id or vid, start=float(c.start or 0), end=float(c.end or 0),
                                   rank=int(c.rank) if c.rank is not None else None, thumbnail_url=c.thumbnail_url,
                                   transcription=c.transcription) for c in clips_raw),
                             key=lambda c: _rank_key(c.rank)))
        # a video group is {id, clips}: its user metadata (asked for on every page) rides on the clips
        meta = item.user_metadata or next((c.user_metadata for c in clips_raw if c.user_metadata), None)
        hits.append(SearchHit(video_id=vid, clips=clips, user_metadata=dict(meta or {})))
    # videos best clip first, computed from the ranks (Marengo 3.0 gives no score); stable for equal ranks
    hits.sort(key=lambda h: _rank_key(h.best_rank))
    info = res.page_info
    return SearchPage(hits=tuple(hits), next_page_token=getattr(info, "next_page_token", None),
                      total_results=getattr(info, "total_results", None),
                      page_expires_at=getattr(info, "page_expires_at", None))


_clients: dict[tuple[str, str, str], TwelveLabsClient] = {}
_clients_lock = threading.Lock()


def client_for(twelvelabs: TwelveLabsSettings) -> TwelveLabsClient:
    """The process-wide client for the configured key, base URL and index name."""
    key = (twelvelabs.api_key, twelvelabs.base_url, twelvelabs.index_name)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = TwelveLabsClient(*key)
        return _clients[key]


# ---- webhooks ------------------------------------------------------------------------------------------------
def sign_webhook(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """A `TL-Signature` header value for `body` (used by tests and the local stand-in's peers)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1=" + hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def verify_webhook(secret: str, header: str | None, body: bytes, now: float | None = None,
                   tolerance: float = WEBHOOK_TOLERANCE_SECONDS) -> int:
    """Check a Twelve Labs webhook: HMAC-SHA256(secret, "<t>.<raw body>") in a `v1` entry and |now - t| <= tolerance
    (rules shared with the other webhooks: mam.webhook_signatures). Returns t; raises WebhookSignatureError with a
    short reason otherwise."""
    if not secret:
        raise WebhookSignatureError("webhook secret not configured")
    try:
        entries = webhook_signatures.parse_header(header, "TL-Signature")
    except webhook_signatures.MalformedHeader as exc:
        raise WebhookSignatureError(str(exc)) from None
    stamps, signatures = entries.get("t", []), [v for v in entries.get("v1", []) if v]
    if len(stamps) != 1 or not signatures:
        raise WebhookSignatureError("malformed TL-Signature header (needs one t and a v1)")
    if not _UNIX_SECONDS.match(stamps[0]):  # digits only: int() would take "+1_0" and floats overflow on huge ones
        raise WebhookSignatureError("malformed TL-Signature timestamp")
    t = int(stamps[0])
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        raise WebhookSignatureError("TL-Signature timestamp outside the allowed window")
    want = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not webhook_signatures.hex_matches(want, signatures):
        raise WebhookSignatureError("TL-Signature does not match")
    return t

"""Finding videos: `GET /videos` with a title search, filters, a sort and cursor pages (README "Finding videos").

Parameters are checked here (a bad value is a 400 with a sentence); the query is `mam.store.library_find.page`.
A title search matches videos whose title has, for every word of the search, a word starting with it (case and
accents ignored). The longest search word is matched by Firestore (array-contains on stored word prefixes); the
other words, and a date range under the title or duration sort, are checked here on the rows read, reading at most
MAX_SCAN rows per request: a page may then come back short, with a cursor to go on.

Cursors are opaque and signed (HMAC-SHA256 under a key derived from the function's B2 application key) and bound
to the search they were made for: an edited or foreign cursor is refused with a 400, never run.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mam.http import ApiError
from mam.library.views import video_json
from mam.roles import User, may_change
from mam.settings import Settings
from mam.store import find_fields, library_find
from mam.videos import STATUSES, Video

DEFAULT_PAGE_SIZE = 24
MAX_PAGE_SIZE = 100
MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 8
MAX_SCAN = 1000  # rows read per request when words or dates are checked here
FIND_PARAMS = ("q", "owner", "status", "from", "to", "sort", "cursor", "tag")
OWNERS = ("everyone", "mine")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")


@dataclass(frozen=True)
class Find:
    """A parsed find request."""

    words: tuple[str, ...] = ()
    owner: str = "everyone"
    status: str | None = None
    date_from: str | None = None  # created_key bounds: from inclusive, to exclusive
    date_to: str | None = None
    sort: str = "newest"
    page_size: int = DEFAULT_PAGE_SIZE
    tag: str | None = None

    def spec(self, viewer: User | None) -> library_find.FindSpec:
        # one array-contains per query: a tag takes it, and the title words are then checked on the rows read
        term = max(self.words, key=len)[:find_fields.MAX_PREFIX] if self.words and not self.tag else None
        return library_find.FindSpec(sort=self.sort, owner_uid=viewer.uid if self.owner == "mine" and viewer else None,
                                     status=self.status, term=term, tag=self.tag, created_from=self.date_from,
                                     created_to=self.date_to)

    def words_here(self) -> bool:
        """The title words are (also) checked on the rows read."""
        return bool(self.words) and (len(self.words) > 1 or bool(self.tag)
                                     or any(len(w) > find_fields.MAX_PREFIX for w in self.words))

    def checks_here(self) -> bool:
        """Some of the filter is applied to the rows read rather than by the query."""
        dates = (self.date_from or self.date_to) and library_find.SORTS[self.sort][0] != "sort_created"
        return self.words_here() or bool(dates)


def wants_find(args: Mapping[str, str]) -> bool:
    """The request uses the find parameters (else GET /videos is the plain numbered listing)."""
    return any(args.get(name) for name in FIND_PARAMS)


def _bad(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def _date(raw: str, name: str, end: bool) -> dt.datetime:
    """A date (YYYY-MM-DD, a whole UTC day; `to` includes it) or an ISO 8601 time with a zone."""
    try:
        if _DATE.match(raw):
            day = dt.datetime.fromisoformat(raw + "T00:00:00+00:00")
            return day + dt.timedelta(days=1) if end else day
        when = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise _bad(f"invalid_{name}", f"{name} must be a date like 2026-01-31 or a time like "
                                      "2026-01-31T09:00:00+01:00.") from None
    if when.tzinfo is None:
        raise _bad(f"invalid_{name}", f"{name} must say its time zone, e.g. 2026-01-31T09:00:00Z.")
    return when


def parse(args: Mapping[str, str]) -> Find:
    """The find request of `args`; a 400 ApiError whose message says which value is wrong and what is allowed."""
    q = args.get("q") or ""
    if len(q) > MAX_QUERY_CHARS:
        raise _bad("invalid_q", f"The search is too long: use at most {MAX_QUERY_CHARS} characters.")
    words = tuple(dict.fromkeys(find_fields.words(q)))
    if len(words) > MAX_QUERY_WORDS:
        raise _bad("invalid_q", f"Use at most {MAX_QUERY_WORDS} words in a title search.")
    owner = args.get("owner") or "everyone"
    if owner not in OWNERS:
        raise _bad("invalid_owner", "owner must be mine or everyone.")
    status = args.get("status") or None
    if status is not None and status not in STATUSES:
        raise _bad("invalid_status", f"status must be one of {', '.join(STATUSES)}.")
    sort = args.get("sort") or "newest"
    if sort not in library_find.SORTS:
        raise _bad("invalid_sort", f"sort must be one of {', '.join(library_find.SORTS)}.")
    start = _date(args["from"], "from", end=False) if args.get("from") else None
    end = _date(args["to"], "to", end=True) if args.get("to") else None
    if start and end and start >= end:
        raise _bad("invalid_dates", "The start date must be before the end date.")
    tag = None
    if args.get("tag"):
        from mam.insights import tags

        tag = tags.normal(args["tag"])
        if not tag or len(tag) > tags.MAX_TAG_CHARS:
            raise _bad("invalid_tag", f"tag must be 1 to {tags.MAX_TAG_CHARS} characters.")
    raw_size = args.get("page_size") or str(DEFAULT_PAGE_SIZE)
    if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
        raise _bad("invalid_page_size", f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}.")
    return Find(words=words, owner=owner, status=status, sort=sort, page_size=int(raw_size), tag=tag,
                date_from=find_fields.created_key(start) if start else None,
                date_to=find_fields.created_key(end) if end else None)


# ---- cursors --------------------------------------------------------------------------------------------------
def _key(settings: Settings) -> bytes:
    return hmac.new(settings.b2.application_key.encode(), b"mam library cursor v1", hashlib.sha256).digest()


def _binding(find: Find, viewer: User | None) -> str:
    """What a cursor belongs to: the search (not the page size) and, for "mine", the caller."""
    fields = {k: v for k, v in asdict(find).items() if k != "page_size"}
    fields["uid"] = viewer.uid if find.owner == "mine" and viewer else ""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_cursor(settings: Settings, find: Find, viewer: User | None, after: str) -> str:
    """An opaque cursor: the last sort key read, bound to this search, signed."""
    body = _b64(json.dumps({"a": after, "b": _binding(find, viewer)}, separators=(",", ":")).encode())
    return body + "." + _b64(hmac.new(_key(settings), body.encode(), hashlib.sha256).digest())


def read_cursor(settings: Settings, find: Find, viewer: User | None, token: str) -> str:
    """The sort key of a cursor this API made for this search; 400 for anything else."""
    stale = _bad("invalid_cursor", "This page link is not valid for this search. Start again from the first page.")
    body, _, sig = token.partition(".")
    if not body or not sig or len(token) > 2000:
        raise stale
    want = _b64(hmac.new(_key(settings), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(want, sig):
        raise stale
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        raise stale from None
    if not isinstance(data, dict) or not isinstance(data.get("a"), str) or \
            not hmac.compare_digest(str(data.get("b")), _binding(find, viewer)):
        raise stale
    return data["a"]


# ---- the page -------------------------------------------------------------------------------------------------
def _matches(find: Find, video: Video) -> bool:
    """The part of the filter the query does not apply."""
    if find.words_here():
        title_words = find_fields.words(video.title)
        if not all(any(t.startswith(w) for t in title_words) for w in find.words):
            return False
    if library_find.SORTS[find.sort][0] != "sort_created" and (find.date_from or find.date_to):
        key = find_fields.created_key(video.created_at) if isinstance(video.created_at, dt.datetime) else ""
        if (find.date_from and key < find.date_from) or (find.date_to and key >= find.date_to):
            return False
    return True


def find_page(settings: Settings, find: Find, viewer: User | None, cursor: str | None) -> dict[str, Any]:
    """One page: {"videos", "next_cursor", "page_size", "total"} (`total` on a first page whose whole filter runs
    in Firestore, else null); each video says whether `viewer` may edit or delete it."""
    if find.owner == "mine" and viewer is None:
        raise ApiError(401, "sign_in_required", "Sign in to see your own videos.")
    spec = find.spec(viewer)
    after = read_cursor(settings, find, viewer, cursor) if cursor else None
    here = find.checks_here()
    size = find.page_size
    found: list[Video] = []
    last_read: str | None = None
    scanned, more = 0, False
    batch = size + 1 if not here else max(2 * size, 100)
    while True:
        rows = library_find.page(spec, last_read or after, batch)
        scanned += len(rows)
        for video, key in rows:
            if not here or _matches(find, video):
                if len(found) == size:
                    more = True  # one beyond the page exists: the cursor is the page's last row
                    break
                found.append(video)
                cursor_key = key
            last_read = key
        if more or len(rows) < batch:
            break
        if scanned >= MAX_SCAN:
            more, cursor_key = True, last_read  # budget spent: go on from the last row read
            break
    next_cursor = make_cursor(settings, find, viewer, cursor_key) if more else None
    total = library_find.count(spec) if after is None and not here else None
    return {"videos": [video_view(v, settings, viewer) for v in found], "next_cursor": next_cursor,
            "page_size": size, "total": total}


def video_view(video: Video, settings: Settings, viewer: User | None) -> dict[str, Any]:
    """A video with what `viewer` may do to it."""
    allowed = may_change(viewer, video)
    return {**video_json(video, settings), "can_delete": allowed, "can_edit": allowed}

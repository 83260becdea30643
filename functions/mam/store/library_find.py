"""Finding videos: the filtered, sorted, cursor-paged queries of the library, and the index each one needs.

Every query is built from its `Shape` (`shape(spec)`): equality filters (`owner_uid`, `status`), at most one
`array-contains` (on `tags` for a tag filter, else on `title_terms`), and one order field that also carries the cursor (and, for the date sorts, the
date range) as a range on that same field. `required_indexes()` lists the composite index of every shape that
needs one; `tests/unit/test_firestore_indexes.py` checks them against `functions/firestore.indexes.json`, which
`deploy.sh` applies (the local emulator does not enforce indexes, so nothing else would notice a missing one).

Cursors are the last sort key read (`find_fields`: keys are unique), used as a range filter rather than
`start_after`, which the local emulator ignores.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from mam.store import find_fields
from mam.store.db import client
from mam.store.videos import VIDEOS, _bump
from mam.videos import Video, utcnow

# sort name -> (order field, descending)
SORTS: dict[str, tuple[str, bool]] = {
    "newest": ("sort_created", True),
    "oldest": ("sort_created", False),
    "title": ("sort_title", False),
    "duration": ("sort_duration", True),
}
EQUALITY_FIELDS = ("owner_uid", "status")  # canonical order in an index
TERMS_FIELD = "title_terms"
TAGS_FIELD = "tags"  # a tag filter takes the query's one array-contains; title words are then checked on the rows


@dataclass(frozen=True)
class FindSpec:
    """What to find: a sort (key of SORTS) and optional filters; `created_from`/`created_to` are `created_key`
    bounds (from inclusive, to exclusive) and are applied in the query only for the date sorts."""

    sort: str = "newest"
    owner_uid: str | None = None
    status: str | None = None
    term: str | None = None  # one folded title word prefix (at most MAX_PREFIX characters)
    tag: str | None = None  # a normalised tag (mam.insights.tags); wins over `term` for the array-contains
    created_from: str | None = None
    created_to: str | None = None

    @property
    def order_field(self) -> str:
        return SORTS[self.sort][0]

    @property
    def descending(self) -> bool:
        return SORTS[self.sort][1]

    @property
    def date_in_query(self) -> bool:
        """The date range is a range on the order field (date sorts); otherwise the caller filters by date."""
        return self.order_field == "sort_created"


@dataclass(frozen=True)
class Shape:
    """The parts of a query that decide its index."""

    equals: tuple[str, ...]
    contains: str | None
    order: str
    descending: bool

    def needs_composite(self) -> bool:
        """An order (with ranges on the same field) alone is served by Firestore's automatic single-field index."""
        return bool(self.equals or self.contains)

    def index_fields(self) -> list[dict[str, str]]:
        """The `fields` of its composite index, as in firestore.indexes.json."""
        out = [{"fieldPath": f, "order": "ASCENDING"} for f in self.equals]
        if self.contains:
            out.append({"fieldPath": self.contains, "arrayConfig": "CONTAINS"})
        out.append({"fieldPath": self.order, "order": "DESCENDING" if self.descending else "ASCENDING"})
        return out


def shape(spec: FindSpec) -> Shape:
    """The shape of the query `page(spec, ...)` and `count(spec)` run."""
    equals = tuple(f for f in EQUALITY_FIELDS if getattr(spec, f) is not None)
    contains = TAGS_FIELD if spec.tag is not None else TERMS_FIELD if spec.term is not None else None
    return Shape(equals, contains, spec.order_field, spec.descending)


def required_indexes() -> list[dict[str, Any]]:
    """The composite index of every query shape this module can build (each once)."""
    seen: dict[str, dict[str, Any]] = {}
    for sort, owner, status, term, tag in itertools.product(SORTS, (None, "u"), (None, "s"), (None, "t"),
                                                            (None, "g")):
        s = shape(FindSpec(sort=sort, owner_uid=owner, status=status, term=term, tag=tag))
        if s.needs_composite():
            index = {"collectionGroup": VIDEOS, "queryScope": "COLLECTION", "fields": s.index_fields()}
            seen[repr(index)] = index
    return list(seen.values())


def _query(spec: FindSpec, after: str | None):
    """The Firestore query of `spec` past the cursor `after`, built from `shape(spec)` only."""
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    s = shape(spec)
    query = client().collection(VIDEOS)
    for field in s.equals:
        query = query.where(filter=FieldFilter(field, "==", getattr(spec, field)))
    if s.contains:
        value = spec.tag if s.contains == TAGS_FIELD else spec.term
        query = query.where(filter=FieldFilter(s.contains, "array_contains", value))
    lower, lower_op, upper = None, ">=", None  # (on the order field) lower bound and op, exclusive upper bound
    if spec.date_in_query:
        lower, upper = spec.created_from, spec.created_to
    if after is not None:
        if s.descending:
            upper = after if upper is None else min(upper, after)
        elif lower is None or after >= lower:
            lower, lower_op = after, ">"
    if lower is not None:
        query = query.where(filter=FieldFilter(s.order, lower_op, lower))
    if upper is not None:
        query = query.where(filter=FieldFilter(s.order, "<", upper))
    direction = firestore.Query.DESCENDING if s.descending else firestore.Query.ASCENDING
    return query.order_by(s.order, direction=direction)


def page(spec: FindSpec, after: str | None, limit: int) -> list[tuple[Video, str]]:
    """Up to `limit` videos matching `spec` past the cursor `after`, in order, each with its sort key."""
    field = spec.order_field
    out = []
    for snap in _query(spec, after).limit(limit).stream():
        doc = snap.to_dict() or {}
        out.append((Video.from_doc(snap.id, doc), str(doc.get(field, ""))))
    return out


def count(spec: FindSpec) -> int:
    """How many videos match `spec` (one aggregation over the same query, no cursor)."""
    return int(_query(spec, None).count().get()[0][0].value)


def backfill(batch_size: int = 400) -> dict[str, int]:
    """Write the findability fields of every video stored before them (or under older rules): the one-off admin
    operation `POST /find-fields` runs it. Each update is conditioned on the version read; a conflicting write
    (which wrote the fields itself) is only counted."""
    from google.api_core.exceptions import Aborted, FailedPrecondition

    db = client()
    now = utcnow()
    scanned = updated = conflicts = 0
    pending: list[Any] = []

    def flush() -> None:
        nonlocal updated, conflicts
        if not pending:
            return
        wb = db.batch()
        for snap, fields in pending:
            wb.update(snap.reference, {**fields, **_bump(now)},
                      option=db.write_option(last_update_time=snap.update_time))
        try:
            wb.commit()
            updated += len(pending)
        except (FailedPrecondition, Aborted):
            conflicts += len(pending)
        pending.clear()

    for snap in db.collection(VIDEOS).select(["title", "created_at", "duration", "find_v"]).stream():
        scanned += 1
        doc = snap.to_dict() or {}
        if doc.get("find_v") == find_fields.FIND_VERSION:
            continue
        pending.append((snap, find_fields.derived(snap.id, str(doc.get("title") or ""), doc.get("created_at"),
                                                  doc.get("duration"))))
        if len(pending) >= batch_size:
            flush()
    flush()
    return {"scanned": scanned, "updated": updated, "conflicts": conflicts}

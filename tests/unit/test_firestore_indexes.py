"""Every query the library's find builds has its composite index declared in functions/firestore.indexes.json.

The local Firestore emulator runs any query without an index, so a missing index would only show in the cloud
(FAILED_PRECONDITION "The query requires an index"). Here every query `mam.store.library_find` can build (each
sort, each combination of filters, with and without a cursor and a date range) is built for real (not run), the
index Firestore needs for it is read off its StructuredQuery, and that index must be in the file deploy.sh applies.
"""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import firestore_indexes
from mam.store import db, library_find

INDEX_FILE = ROOT / "functions" / "firestore.indexes.json"
INEQUALITIES = {"LESS_THAN", "LESS_THAN_OR_EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL", "NOT_EQUAL", "NOT_IN"}


@pytest.fixture(autouse=True)
def offline_client(monkeypatch):
    """A real Firestore client that never connects (queries are only built)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    monkeypatch.setattr(db, "_client", firestore.Client(project="index-check", credentials=AnonymousCredentials()))


def needed_index(query) -> list[dict] | None:
    """The composite index Firestore needs for `query`, or None when its automatic single-field indexes serve it."""
    from google.cloud.firestore_v1.types import StructuredQuery

    pb = query._to_protobuf()
    filters = [f.field_filter for f in pb.where.composite_filter.filters] if "composite_filter" in pb.where else \
        ([pb.where.field_filter] if "field_filter" in pb.where else [])
    Op = StructuredQuery.FieldFilter.Operator
    equals = [f.field.field_path for f in filters if f.op == Op.EQUAL]
    contains = [f.field.field_path for f in filters if f.op == Op.ARRAY_CONTAINS]
    ranges = {f.field.field_path for f in filters if Op(f.op).name in INEQUALITIES}
    orders = [(o.field.field_path, StructuredQuery.Direction(o.direction).name) for o in pb.order_by]
    assert len(contains) <= 1, "Firestore allows one array-contains per query"
    assert ranges <= {o for o, _ in orders[:1]}, f"range on {ranges} but ordered by {orders}: another index kind"
    if not (equals or contains) and len(orders) <= 1:
        return None
    known = library_find.EQUALITY_FIELDS  # the declared order of equality fields (Firestore accepts any one order)
    ordered = sorted(set(equals), key=lambda f: (known.index(f) if f in known else len(known), f))
    fields = [{"fieldPath": f, "order": "ASCENDING"} for f in ordered]
    fields += [{"fieldPath": f, "arrayConfig": "CONTAINS"} for f in contains]
    fields += [{"fieldPath": f, "order": d} for f, d in orders]
    return fields


def every_query():
    """(description, query) for every query the find can build."""
    for sort, owner, status, term, tag, dates, cursor in itertools.product(
            library_find.SORTS, (None, "uid"), (None, "ready"), (None, "sun"), (None, "beach"), (False, True),
            (None, "k")):
        spec = library_find.FindSpec(sort=sort, owner_uid=owner, status=status, term=term, tag=tag,
                                     created_from="2026-01-01" if dates else None,
                                     created_to="2026-02-01" if dates else None)
        yield f"{spec} cursor={cursor}", library_find._query(spec, cursor)
        if cursor is None:
            yield f"count {spec}", library_find._query(spec, None)  # count() aggregates this same query


def _declared() -> list[tuple]:
    return [firestore_indexes._key(i["collectionGroup"], i["queryScope"], i["fields"])
            for i in json.loads(INDEX_FILE.read_text())["indexes"]]


def test_every_find_query_has_a_declared_index():
    declared = set(_declared())
    missing = {}
    for what, query in every_query():
        fields = needed_index(query)
        if fields is not None and firestore_indexes._key("videos", "COLLECTION", fields) not in declared:
            missing[what] = fields
    assert not missing, f"queries without a declared index (run scripts/firestore_indexes.py write): {missing}"


def test_the_index_file_declares_nothing_stale_and_nothing_twice():
    needed = {firestore_indexes._key("videos", "COLLECTION", f) for _, q in every_query()
              if (f := needed_index(q)) is not None}
    declared = _declared()
    assert len(declared) == len(set(declared))
    assert set(declared) == needed


def test_the_check_catches_an_undeclared_query():
    """A query shape added without its index (here: ordered by title, filtered by owner and duration) is caught."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = db.client().collection("videos").where(filter=FieldFilter("owner_uid", "==", "u")) \
        .where(filter=FieldFilter("duration", "==", 3)).order_by("sort_title")
    fields = needed_index(query)
    assert fields is not None and firestore_indexes._key("videos", "COLLECTION", fields) not in set(_declared())


def test_missing_lists_what_a_project_lacks_ignoring_the_implicit_name_field():
    declared = json.loads(INDEX_FILE.read_text())["indexes"]
    listed = [{"name": f"projects/p/databases/(default)/collectionGroups/videos/indexes/i{n}", "queryScope": "COLLECTION",
               "fields": [*i["fields"], {"fieldPath": "__name__", "order": "ASCENDING"}], "state": "READY"}
              for n, i in enumerate(declared[1:])]
    assert firestore_indexes.missing(listed) == declared[:1]
    flags = firestore_indexes.create_flags(declared[0])
    assert flags.startswith("--collection-group=videos --query-scope=collection --field-config=field-path=")

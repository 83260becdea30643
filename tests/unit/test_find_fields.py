"""The stored findability fields (mam.store.find_fields): word prefixes, and sort keys that order as the sorts do."""
from __future__ import annotations

import datetime as dt

from mam.store import find_fields as ff


def test_title_terms_are_every_prefix_of_every_word_folded():
    terms = ff.title_terms("Café au LAIT — sunset_01")
    assert {"c", "ca", "caf", "cafe", "au", "lait", "sunset", "01"} <= set(terms)
    assert "café" not in terms and "LAIT" not in terms and "set" not in terms
    assert len(terms) == len(set(terms))
    long = ff.title_terms("a" * 50)
    assert max(map(len, long)) == ff.MAX_PREFIX


def test_sort_title_orders_like_the_folded_title_then_the_id():
    titles = ["b", "ab c", "Ab", "ábc", "ab"]
    keys = sorted(ff.sort_title(t, f"id{i}") for i, t in enumerate(titles))
    assert [k.split(ff.SEP)[0] for k in keys] == ["ab", "ab", "ab c", "abc", "b"]
    assert ff.sort_title("Same", "x1") != ff.sort_title("Same", "x2")  # unique: a cursor never ties


def test_sort_duration_orders_numerically_with_unknown_lowest():
    known = [0.0, 5.0, 12.5, 100.0, 3600.0]
    assert sorted((100.0, 0.0, 3600.0, 12.5, 5.0), key=lambda d: ff.sort_duration(d, "v")) == known
    assert ff.sort_duration(None, "v") == ff.sort_duration(float("nan"), "v") < ff.sort_duration(0.0, "v")


def test_created_keys_are_fixed_width_utc_so_a_date_range_is_a_key_range():
    a = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))  # 01:30 UTC on 2 March
    b = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
    assert ff.created_key(a) > ff.created_key(b) and len(ff.created_key(a)) == len(ff.created_key(b))
    assert ff.created_key(b) <= ff.sort_created(b, "v") < ff.created_key(b + dt.timedelta(microseconds=1))


def test_a_patch_refreshes_only_the_fields_it_feeds():
    assert set(ff.derived_for_patch("v", {"status": "ready"})) == set()
    assert set(ff.derived_for_patch("v", {"title": "New"})) == {"title_terms", "sort_title"}
    assert set(ff.derived_for_patch("v", {"duration": 3.0})) == {"sort_duration"}

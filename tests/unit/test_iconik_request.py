"""Custom-action request validation, secret comparison, formats, run ids and the copy/verify plan."""
from __future__ import annotations

import uuid

import pytest
from mam.iconik.request import (
    ActionQuery,
    BadRequest,
    fix_formats,
    parse_body,
    parse_formats,
    parse_query,
    plan_formats,
    run_id,
    secret_ok,
)

A, B = str(uuid.uuid4()), str(uuid.uuid4())


def body(**over):
    b = {"context": "BULK", "asset_ids": [A], "collection_ids": [B], "auth_token": "tok",
         "date_created": "2022-04-29T00:22:10.316685", "user_id": "u", "action_id": "x"}
    b.update(over)
    return b


@pytest.mark.parametrize("given,ok", [("s3cret", True), ("s3cret ", False), ("S3CRET", False), ("", False),
                                      (None, False), ("s3cre", False), ("s3cretX", False), ("sé", False)])
def test_secret_ok(given, ok):
    assert secret_ok(given, "s3cret") is ok


def test_empty_configured_secret_never_matches():
    assert secret_ok("", "") is False


@pytest.mark.parametrize("raw,want", [(" A , B, C ", "A,B,C"), ("A,B", "A,B"), ("A", "A"), (" A", "A"),
                                      ("A ,B", "A,B"), ("", ""), ("A, ,B", "A,,B"), ("ORIGINAL, PPRO_PROXY", "ORIGINAL,PPRO_PROXY")])
def test_fix_formats(raw, want):
    assert fix_formats(raw) == want


def test_parse_formats_defaults_dedupes_and_rejects_odd_names():
    assert parse_formats(None, ("ORIGINAL", "PPRO_PROXY")) == ("ORIGINAL", "PPRO_PROXY")
    assert parse_formats("  ", ("ORIGINAL",)) == ("ORIGINAL",)
    assert parse_formats(" PPRO_PROXY , ORIGINAL,PPRO_PROXY,", ()) == ("PPRO_PROXY", "ORIGINAL")
    for bad in ("ORIGINAL,../x", "A B", "x" * 65):
        with pytest.raises(BadRequest):
            parse_formats(bad, ())
    with pytest.raises(BadRequest):
        parse_formats(",,", ())


def test_parse_query_keeps_storage_ids_for_later_checks():
    q = parse_query({"b2_storage_id": " b ", "formats": "EDIT_PROXY"}, ("ORIGINAL",))
    assert q == ActionQuery("b", "", ("EDIT_PROXY",))


def test_parse_body_accepts_the_iconik_body_and_defaults_missing_lists():
    parsed = parse_body(body(collection_ids=None, saved_search_ids=[]), max_ids=10)
    assert parsed.asset_ids == (A,) and parsed.collection_ids == () and parsed.auth_token == "tok"
    assert parse_body(body(asset_ids=[A, A]), max_ids=10).asset_ids == (A,)
    assert parse_body(body(context="WHATEVER"), max_ids=10).context == "WHATEVER"  # judged later, in order


@pytest.mark.parametrize("over,msg", [
    ({"asset_ids": "x"}, "asset_ids"), ({"asset_ids": [1]}, "asset_ids"), ({"asset_ids": ["nope"]}, "UUID"),
    ({"collection_ids": {}}, "collection_ids"), ({"auth_token": None}, "auth_token"), ({"auth_token": 3}, "auth_token"),
    ({"auth_token": " "}, "auth_token"), ({"auth_token": "a\nb"}, "malformed"), ({"auth_token": "t" * 9000}, "malformed"),
    ({"saved_search_ids": "s"}, "saved_search_ids"), ({"user_id": 5}, "user_id"), ({"date_created": "x" * 100}, "date"),
])
def test_parse_body_rejects(over, msg):
    with pytest.raises(BadRequest, match=msg):
        parse_body(body(**over), max_ids=10)


def test_parse_body_limits_the_number_of_ids_without_echoing_the_token():
    many = [str(uuid.uuid4()) for _ in range(6)]
    with pytest.raises(BadRequest, match="at most 5") as exc:
        parse_body(body(asset_ids=many[:3], collection_ids=many[3:], auth_token="secret-token"), max_ids=5)
    assert "secret-token" not in str(exc.value)
    with pytest.raises(BadRequest, match="holds 6 ids"):
        parse_body(body(asset_ids=many), max_ids=5)


def test_run_id_is_stable_for_a_replayed_call_and_differs_per_click():
    q = ActionQuery("b", "l", ("ORIGINAL",))
    first = run_id("remove", q, parse_body(body(), max_ids=10))
    assert first == run_id("remove", q, parse_body(body(auth_token="another"), max_ids=10))  # token not in the key
    assert first != run_id("remove", q, parse_body(body(date_created="2022-04-29T00:22:11"), max_ids=10))
    assert first != run_id("add", q, parse_body(body(), max_ids=10))
    assert uuid.UUID(first).version == 5
    no_date = parse_body(body(date_created=None), max_ids=10)
    assert run_id("remove", q, no_date) != run_id("remove", q, no_date)


@pytest.mark.parametrize("op,formats,copy,verify", [
    ("add", ("ORIGINAL", "PPRO_PROXY"), ("ORIGINAL", "PPRO_PROXY"), ()),
    ("remove", ("ORIGINAL", "PPRO_PROXY"), ("ORIGINAL",), ("ORIGINAL",)),
    ("remove", ("PPRO_PROXY",), ("PPRO_PROXY",), ("PPRO_PROXY",)),
    ("remove", ("PPRO_PROXY", "ORIGINAL"), ("PPRO_PROXY", "ORIGINAL"), ("PPRO_PROXY", "ORIGINAL")),
])
def test_plan_formats(op, formats, copy, verify):
    assert plan_formats(op, formats) == (copy, verify)

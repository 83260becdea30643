"""Batched status: ETag rules, If-None-Match parsing, cached thumbnail URLs, and the check schedule."""
from __future__ import annotations

import datetime as dt
import json

from mam.clients import b2
from mam.settings import B2Settings, load_settings
from mam.uploads import policy as config
from mam.uploads import status
from mam.videos import UPLOADED, Video

SETTINGS = load_settings("b2", environ={"GCP_PROJECT": "p", "B2_ENDPOINT": "http://127.0.0.1:1",
                                        "B2_REGION": "us-west-004", "B2_BUCKET": "b", "B2_KEY_ID": "k",
                                        "B2_APPLICATION_KEY": "s", "PRESIGN_TTL_SECONDS": "3600"}).b2
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _row(vid: str, **over) -> dict:
    """The masked fields status.read() returns for a stored Video."""
    doc = Video(id=vid, title=vid.upper(), updated_at=T0, **over).to_doc()
    return {k: doc[k] for k in status.FIELDS}


def _answer(ids: list[str], rows: dict, settings: B2Settings) -> dict:
    """The 200 answer's JSON as the browser parses it."""
    return json.loads(status.body_json(ids, rows, settings))


def _videos():
    return {"a": _row("a"), "b": _row("b")}


def test_etag_changes_with_content_order_version_and_url_window_only():
    vids = _videos()
    tag = status.etag(["a", "b", "c"], vids, SETTINGS, now=1000)
    assert tag.startswith('"') and tag == status.etag(["a", "b", "c"], _videos(), SETTINGS, now=1001)
    assert tag != status.etag(["b", "a", "c"], vids, SETTINGS, now=1000)
    bumped = _videos()
    bumped["a"]["version"] += 1
    assert tag != status.etag(["a", "b", "c"], bumped, SETTINGS, now=1000)
    moved = _videos()
    moved["b"]["status"] = UPLOADED
    assert tag != status.etag(["a", "b", "c"], moved, SETTINGS, now=1000)
    assert tag != status.etag(["a", "b"], vids, SETTINGS, now=1000)  # a missing id is part of the answer
    assert tag != status.etag(["a", "b", "c"], vids, SETTINGS, now=1000 + 1800)  # URLs renewed -> new tag


def test_if_none_match_parsing():
    tag = '"abc"'
    assert status.not_modified('"abc"', tag)
    assert status.not_modified('W/"abc"', tag)
    assert status.not_modified('"x", "abc"', tag)
    assert status.not_modified("*", tag)
    assert not status.not_modified('"abcd"', tag)
    assert not status.not_modified(None, tag)
    assert not status.not_modified("", tag)


def test_body_lists_missing_ids_and_thumbnail_urls_are_cached_per_window():
    vids = _videos()
    vids["a"]["b2_thumbnail"] = "uploads/a/thumbnail.jpg"
    out = _answer(["a", "zz", "b"], vids, SETTINGS)
    assert list(out["videos"]) == ["a", "b"] and out["missing"] == ["zz"]
    url = out["videos"]["a"]["thumbnail_url"]
    assert "uploads/a/thumbnail.jpg" in url and "X-Amz-Signature" in url
    assert out["videos"]["b"]["thumbnail_url"] is None
    assert out["videos"]["a"]["updated_at"] == T0.isoformat()
    assert b2.browser_url(SETTINGS, "uploads/a/thumbnail.jpg") == url  # cached: same URL
    b2.browser_url(SETTINGS, "uploads/a/thumbnail.jpg", now=10**10)
    # Re-signed once the window has passed (same second -> same signature, so look at the cache entry).
    assert b2._url_cache["uploads/a/thumbnail.jpg"][1] == (10**10 // 1800 + 1) * 1800  # end of that window


def test_check_policy_schedule_and_payload_round_trip():
    t = load_settings("transloadit", environ={
        "GCP_PROJECT": "p", "TRANSLOADIT_AUTH_KEY": "k", "TRANSLOADIT_AUTH_SECRET": "s",
        "UPLOAD_CHECK_FIRST_DELAY_SECONDS": "900", "UPLOAD_CHECK_MAX_DELAY_SECONDS": "3600",
        "UPLOAD_START_GRACE_SECONDS": "3600", "UPLOAD_DEADLINE_SECONDS": "86400"}).transloadit
    p = config.policy_for(1000.0, t)
    assert [p.delay(n) for n in (1, 2, 3, 4, 5, 60)] == [900, 1800, 3600, 3600, 3600, 3600]
    same = config.CheckPolicy.from_payload(p.to_payload(), 0.0, t)
    assert same == p
    fallback = config.CheckPolicy.from_payload({"first": "x", "deadline": -1}, 50.0, t)
    assert fallback.first == 900 and fallback.deadline == 50.0 + 86400
    assert config.human_duration(86400) == "24 hours" and config.human_duration(600) == "10 minutes"
    assert config.human_duration(30) == "30 seconds"


def test_answer_parts_are_built_once_per_row_version_and_url_window(monkeypatch):
    """The store hands out the same row while its document is unchanged; a new row (a new version) or a new URL
    window must rebuild what the answer says, never serve the previous one."""
    row = _row("m", b2_thumbnail="uploads/m/thumbnail.jpg")
    first = _answer(["m"], {"m": row}, SETTINGS)["videos"]["m"]
    built = status._derived["m"]
    _answer(["m"], {"m": row}, SETTINGS)
    assert status._derived["m"] is built  # same version, same window: nothing rebuilt
    newer = {**row, "status": UPLOADED, "version": row["version"] + 1}
    assert _answer(["m"], {"m": newer}, SETTINGS)["videos"]["m"]["status"] == UPLOADED
    assert status.etag(["m"], {"m": newer}, SETTINGS) != status.etag(["m"], {"m": row}, SETTINGS)
    later = 10**10
    monkeypatch.setattr(b2.time, "time", lambda: later)
    renewed = _answer(["m"], {"m": row}, SETTINGS)["videos"]["m"]
    assert status._derived["m"].window == later // b2.url_window(SETTINGS)
    assert renewed["status"] == first["status"] and renewed["thumbnail_url"]

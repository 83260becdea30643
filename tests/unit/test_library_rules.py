"""Library pure logic: B2 event signatures, discovery rules, query/page parsing, the Video JSON, delete keys."""
from __future__ import annotations

import datetime as dt

import flask
import pytest
from mam.clients import b2
from mam.http import ApiError
from mam.library import api, deletion, discover, listing, search, signature, views
from mam.settings import load_settings
from mam.videos import READY, UPLOADED, Video

ENV = {"GCP_PROJECT": "p", "FRONTEND_ORIGIN": "https://media.example.com", "B2_ENDPOINT": "http://127.0.0.1:1",
       "B2_REGION": "us-west-004", "B2_BUCKET": "bucket", "B2_KEY_ID": "k", "B2_APPLICATION_KEY": "s",
       "B2_PUBLIC_BASE_URL": "https://cdn.example.com/bucket", "VIDEOS_PREFIX": "videos/",
       "B2_EVENT_SIGNING_SECRET": "shh"}
SETTINGS = load_settings("http", "b2", environ=ENV)
BODY = b'{"events":[{"eventId":"e1"}]}'


# ---- signatures ----------------------------------------------------------------------------------------------
def test_a_valid_signature_passes():
    signature.verify("shh", signature.sign("shh", BODY), BODY)
    signature.verify("shh", "v1=" + signature.sign("shh", BODY)[3:].upper(), BODY)  # hex case does not matter
    signature.verify("shh", "v1=00," + signature.sign("shh", BODY), BODY)  # rotation: any v1 may match


@pytest.mark.parametrize("secret, header, body, reason", [
    ("shh", signature.sign("other", BODY), BODY, "does not match"),            # wrong secret
    ("shh", signature.sign("shh", BODY), BODY + b" ", "does not match"),       # altered body
    ("shh", signature.sign("shh", BODY)[3:], BODY, "malformed"),               # no v1= scheme
    ("shh", "v2=" + signature.sign("shh", BODY)[3:], BODY, "malformed"),
    ("shh", "v1=", BODY, "malformed"),
    ("shh", None, BODY, "missing"),
    ("shh", "", BODY, "missing"),
    ("", signature.sign("", BODY), BODY, "not configured"),
    ("shh", "v1=é" + "0" * 63, BODY, "does not match"),                        # non-ASCII never crashes
])
def test_bad_signatures_are_rejected_with_a_safe_reason(secret, header, body, reason):
    with pytest.raises(signature.SignatureError) as err:
        signature.verify(secret, header, body)
    assert reason in err.value.reason
    assert "shh" not in err.value.reason and signature.sign("shh", BODY)[3:] not in err.value.reason


# ---- discovery rules -----------------------------------------------------------------------------------------
def test_discovered_ids_are_deterministic_and_shaped_like_ours():
    a = discover.video_id_for("bucket", "videos/a.mp4")
    assert a == discover.video_id_for("bucket", "videos/a.mp4") and len(a) == 20 and int(a, 16) >= 0
    assert a != discover.video_id_for("bucket", "videos/b.mp4") != discover.video_id_for("other", "videos/a.mp4")
    assert listing.valid_id(a)


@pytest.mark.parametrize("key, ok", [
    ("videos/a.mp4", True), ("videos/deeper/Clip.MOV", True), ("videos/x.webm", True),
    ("videos/", False), ("videos/folder/", False), ("videos/notes.txt", False), ("videos/noext", False),
    ("uploads/abc/web.mp4", False), ("video/a.mp4", False), ("videos/a\n.mp4", False),
    ("videos/" + "a" * 1100 + ".mp4", False),
])
def test_which_keys_are_videos(key, ok):
    assert discover.is_video_key(key, "videos/") is ok


def test_titles_come_from_the_file_name():
    assert discover.title_for("videos/Cats_on-the  floor.mp4") == "Cats on-the floor"
    assert discover.title_for("videos/sub/x.mov") == "x"
    assert discover.title_for("videos/___.mp4") == "___.mp4"


def test_a_discovered_record_is_stored_and_ownerless():
    rec = discover.new_record(SETTINGS, "videos/Cats.mp4", 1234)
    assert (rec.id, rec.title, rec.owner, rec.status, rec.source, rec.b2_original, rec.size) == (
        discover.video_id_for("bucket", "videos/Cats.mp4"), "Cats", "", UPLOADED, "discovered", "videos/Cats.mp4",
        1234)


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"events": {}}', b'{"other": []}',
                                  b'{"events": [' + b",".join([b"{}"] * 1001) + b"]}"])
def test_malformed_notification_bodies(body):
    with pytest.raises(discover.EventsError):
        discover.parse_events(body)


def test_events_that_are_not_ours_are_ignored_without_touching_storage():
    events = [
        "not an object",
        {"eventType": "b2:ObjectDeleted:Delete", "bucketName": "bucket", "objectName": "videos/a.mp4", "eventId": "1"},
        {"eventType": "b2:ObjectCreated:Upload", "bucketName": "other", "objectName": "videos/a.mp4", "eventId": "2"},
        {"eventType": "b2:ObjectCreated:Upload", "bucketName": "bucket", "objectName": "uploads/a.mp4", "eventId": "3"},
        {"eventType": "b2:ObjectCreated:Upload", "bucketName": "bucket", "objectName": "videos/a.txt", "eventId": "4"},
        {"eventType": "b2:ObjectCreated:Upload", "bucketName": "bucket", "objectName": "videos/a.mp4"},
        {"eventType": "b2:TestEvent", "eventId": "5"},
    ]
    # SETTINGS points at a closed port: reaching B2 or Firestore would fail the test
    assert discover.handle_events(SETTINGS, events) == {"added": [], "existing": 0, "duplicates": 0, "ignored": 7}


# ---- query / page parsing ------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, code", [(None, "empty_query"), ("", "empty_query"), ("   \t ", "empty_query"),
                                       ("x" * 501, "query_too_long")])
def test_bad_queries(raw, code):
    with pytest.raises(ApiError) as err:
        search.parse_query(raw)
    assert (err.value.status, err.value.code) == (400, code)


def test_queries_are_trimmed_and_500_characters_are_fine():
    assert search.parse_query("  cats   playing \n") == "cats playing"
    assert search.parse_query("y" * 500) == "y" * 500


@pytest.mark.parametrize("raw, want", [(None, ["visual", "audio"]), ("", ["visual", "audio"]),
                                       ("audio", ["audio"]), (" Visual , visual ", ["visual"])])
def test_search_options(raw, want):
    assert search.parse_options(raw) == want


@pytest.mark.parametrize("raw", ["transcription", "visual,logo", ",", "visual;audio"])
def test_bad_search_options(raw):
    with pytest.raises(ApiError) as err:
        search.parse_options(raw)
    assert err.value.status == 400


def test_page_tokens():
    assert search.parse_token(None) is None and search.parse_token("") is None
    assert search.parse_token("abc-DEF_123.~=") == "abc-DEF_123.~="
    for bad in ("a/b", "a b", "x" * 513, "../x", "%2F"):
        with pytest.raises(ApiError):
            search.parse_token(bad)


@pytest.mark.parametrize("args, want", [({}, (1, 24)), ({"page": "3", "page_size": "10"}, (3, 10)),
                                        ({"page_size": "100"}, (1, 100)), ({"page": ""}, (1, 24))])
def test_page_arguments(args, want):
    assert listing.parse_page(args) == want


@pytest.mark.parametrize("args", [{"page": "0"}, {"page": "x"}, {"page_size": "0"}, {"page_size": "101"},
                                  {"page": "1.5"}, {"page": "100000"}])
def test_bad_page_arguments(args):
    with pytest.raises(ApiError) as err:
        listing.parse_page(args)
    assert err.value.status == 400


@pytest.mark.parametrize("vid", ["", "a/b", "..", "__x__!", "a" * 129, "é"])
def test_impossible_video_ids_are_not_found(vid):
    with pytest.raises(ApiError) as err:
        listing.check_id(vid)
    assert err.value.status == 404


# ---- views ---------------------------------------------------------------------------------------------------
def test_the_video_json_matches_the_contract():
    t = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    video = Video(id="v1", title="Cats", owner="a@b.c", status=READY, created_at=t, updated_at=t,
                  b2_original="uploads/v1/original/cats.mov", b2_web="uploads/v1/web.mp4",
                  b2_thumbnail="thumbnails/v1.jpg", duration=6.5, size=10, width=640, height=360, tl_video_id="tl1",
                  tags=["cats", "pets"])
    assert views.video_json(video, SETTINGS) == {
        "id": "v1", "title": "Cats", "description": "", "owner": "a@b.c", "created_at": "2026-01-02T03:04:05+00:00",
        "updated_at": "2026-01-02T03:04:05+00:00", "status": "ready", "status_reason": None, "duration": 6.5,
        "size": 10, "width": 640, "height": 360,
        "thumbnail_url": "https://cdn.example.com/bucket/thumbnails/v1.jpg",
        "playback_url": "https://cdn.example.com/bucket/uploads/v1/web.mp4", "indexed": True,
        "tags": ["cats", "pets"], "index_started_at": None, "index_progress": None, "index_estimate_seconds": None}
    fresh = views.video_json(Video(id="v2", title="New"), SETTINGS)
    assert (fresh["thumbnail_url"], fresh["playback_url"], fresh["indexed"], fresh["status"], fresh["tags"]) == (
        None, None, False, "uploading", [])


def test_presigned_urls_are_reused_within_one_clock_window_of_half_their_lifetime():
    local = load_settings("b2", environ={**ENV, "B2_PUBLIC_BASE_URL": "", "PRESIGN_TTL_SECONDS": "3600"}).b2
    first = b2.browser_url(local, "thumbnails/cache-test.jpg", now=1000)
    assert "X-Amz-Signature=" in first and "thumbnails/cache-test.jpg" in first
    assert b2.browser_url(local, "thumbnails/cache-test.jpg", now=1799) == first  # same window [0, 1800)
    # the next window signs again (same second -> same signature, so look at the cache entry's end)
    b2.browser_url(local, "thumbnails/cache-test.jpg", now=1800)
    assert b2._url_cache["thumbnails/cache-test.jpg"][1] == 3600
    assert b2.browser_url(local, None) is None


# ---- deletion helpers ------------------------------------------------------------------------------------------
def test_delete_covers_every_key_a_record_points_at():
    video = Video(id="v1", title="x", b2_original="videos/v.mp4", b2_web=None, b2_thumbnail="uploads/v1/t.jpg")
    assert deletion.video_keys(video) == {"videos/v.mp4", "uploads/v1/t.jpg", "thumbnails/v1.jpg"}


@pytest.mark.parametrize("key, owner", [("uploads/abc/web.mp4", "abc"), ("uploads/abc/original/x.mov", "abc"),
                                        ("thumbnails/abc.jpg", "abc"), ("videos/abc.mp4", None),
                                        ("uploads/", None)])
def test_sweep_owners(key, owner):
    assert deletion._owner_of(key) == owner


# ---- authorisation -------------------------------------------------------------------------------------------
def test_private_libraries_need_a_signed_in_reader():
    private = load_settings("http", "b2", environ={**ENV, "PUBLIC_READ": "false"})
    app = flask.Flask("t")
    for call in (lambda r: api.list_videos(r, private), lambda r: api.get_video(r, private, "v1"),
                 lambda r: api.search(r, private)):
        with app.test_request_context("/videos?q=cats"):
            with pytest.raises(ApiError) as err:
                call(flask.request)
            assert (err.value.status, err.value.code) == (401, "sign_in_required")


def test_writes_need_a_signed_in_user_and_events_need_a_secret():
    app = flask.Flask("t")
    for call in (api.delete, api.reset, api.sync):
        with app.test_request_context("/", method="POST", json={"all": True}):
            with pytest.raises(ApiError) as err:
                call(flask.request, SETTINGS)
            assert err.value.status == 401
    unset = load_settings("http", "b2", environ={**ENV, "B2_EVENT_SIGNING_SECRET": ""})
    with app.test_request_context("/b2-events", method="POST", data=BODY,
                                  headers={signature.HEADER: signature.sign("", BODY)}):
        with pytest.raises(ApiError) as err:
            api.b2_events(flask.request, unset)
        assert (err.value.status, err.value.code) == (404, "events_not_configured")


def test_merge_clips_joins_overlaps_labels_them_and_keeps_the_words():
    from types import SimpleNamespace as C

    clips = [C(start=3.0, end=8.0, rank=2, thumbnail_url="t2", transcription="the cat sat"),
             C(start=0.0, end=5.0, rank=4, thumbnail_url="t4", transcription="a cat"),
             C(start=12.0, end=17.0, rank=1, thumbnail_url="t1", transcription=None),
             C(start=1.23456, end=4, rank=7, thumbnail_url="t7", transcription="the cat sat")]
    labels = [(0.0, 5.0, "speech"), (3.5, 7.0, "visual"), (12.5, 16.0, "sound")]
    # no score: Twelve Labs' Marengo 3.0 gives none, only the rank; merged clips keep their best rank
    assert search.merge_clips(clips, labels) == [
        {"start": 12.0, "end": 17.0, "rank": 1, "thumbnail_url": "t1", "matched": ["sound"], "transcript": None},
        {"start": 0.0, "end": 8.0, "rank": 2, "thumbnail_url": "t2", "matched": ["visual", "speech"],
         "transcript": "a cat … the cat sat"}]
    # clips with a gap between them stay apart; without labels `matched` is empty (unknown)
    apart = search.merge_clips([C(start=0, end=5, rank=1, thumbnail_url=None, transcription=None),
                                C(start=5.5, end=9, rank=2, thumbnail_url=None, transcription=None)])
    assert [(c["start"], c["end"], c["matched"]) for c in apart] == [(0.0, 5.0, []), (5.5, 9.0, [])]

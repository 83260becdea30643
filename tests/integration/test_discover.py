"""Discover journey (J5) against the real local parts: a video put straight into the bucket's videos prefix
(moto) reaches the library through a signed B2 event notification or a sync, once, under functions-framework."""
from __future__ import annotations

import json
import time
import uuid

import pytest
from fixtures.library import LibraryFunction, new_index_name
from mam.library.discover import new_record, video_id_for
from mam.library.signature import HEADER, sign

pytestmark = pytest.mark.timeout(120)

VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200  # discovery never decodes the file


@pytest.fixture(scope="module")
def fn(emulators, stack):
    with LibraryFunction(stack, None, new_index_name("discover-test")) as f:
        yield f


@pytest.fixture(scope="module")
def secret(stack) -> str:
    return stack.env()["B2_EVENT_SIGNING_SECRET"]


def _put(key: str, data: bytes = VIDEO) -> str:
    from mam.clients import b2
    from mam.settings import load_settings

    b2.put_bytes(load_settings("b2").b2, key, data, "video/mp4")
    return key


def _event(key: str, event_id: str | None = None, kind: str = "b2:ObjectCreated:Upload",
           bucket: str = "mam-local") -> dict:
    return {"accountId": "acc", "bucketId": "bkt", "bucketName": bucket, "eventId": event_id or uuid.uuid4().hex,
            "eventTimestamp": int(time.time() * 1000), "eventType": kind, "eventVersion": 1,
            "matchedRuleName": "mam-videos", "objectName": key, "objectSize": len(VIDEO),
            "objectVersionId": "4_z" + uuid.uuid4().hex}


def _body(*events: dict) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def _send(fn, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json", **({HEADER: signature} if signature else {})}
    return fn.post("/b2-events", data=body, headers=headers)


def _id(key: str) -> str:
    return video_id_for("mam-local", key)


def _record(vid: str):
    from mam import store

    return store.get_video(vid)


def test_a_signed_event_adds_the_video_to_the_library(fn, clean_firestore, secret):
    key = _put(f"videos/events/Cats_in_the_garden-{uuid.uuid4().hex[:6]}.mp4")
    body = _body(_event(key))
    resp = _send(fn, body, sign(secret, body))
    assert resp.status_code == 200, resp.text
    vid = _id(key)
    assert resp.json() == {"added": [vid], "existing": 0, "duplicates": 0, "ignored": 0}
    record = _record(vid)
    assert (record.status, record.source, record.owner, record.b2_original, record.size) == (
        "uploaded", "discovered", "", key, len(VIDEO))
    assert record.title.startswith("Cats in the garden-")
    listed = fn.get("/videos").json()
    assert [v["id"] for v in listed["videos"]] == [vid] and listed["videos"][0]["owner"] == ""
    import requests

    assert requests.get(fn.get(f"/videos/{vid}").json()["playback_url"], timeout=10).content == VIDEO


@pytest.mark.parametrize("case", ["wrong secret", "altered body", "no header", "not v1", "empty secret"])
def test_bad_signatures_are_401_and_change_nothing(fn, clean_firestore, secret, case):
    key = _put(f"videos/events/bad-{uuid.uuid4().hex[:6]}.mp4")
    body = _body(_event(key))
    signature = {
        "wrong secret": sign("not-the-secret", body),
        "altered body": sign(secret, body),
        "no header": None,
        "not v1": "v0=" + sign(secret, body)[3:],
        "empty secret": sign("", body),
    }[case]
    sent = body.replace(b"bad-", b"bad_") if case == "altered body" else body
    resp = _send(fn, sent, signature)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "invalid_signature"
    assert secret not in resp.text and sign(secret, body)[3:] not in resp.text
    assert _record(_id(key)) is None and _record(_id(key.replace("bad-", "bad_"))) is None


def test_a_replayed_event_id_is_handled_once(fn, clean_firestore, secret):
    from mam import store

    key = _put(f"videos/events/replay-{uuid.uuid4().hex[:6]}.mp4")
    body = _body(_event(key, event_id="evt-" + uuid.uuid4().hex))
    assert _send(fn, body, sign(secret, body)).json()["added"] == [_id(key)]
    replay = _send(fn, body, sign(secret, body))
    assert replay.status_code == 200 and replay.json() == {"added": [], "existing": 0, "duplicates": 1, "ignored": 0}
    # deleted from the library since: a replay of the old event must not bring it back
    store.delete_video(_id(key))
    assert _send(fn, body, sign(secret, body)).json()["duplicates"] == 1
    assert _record(_id(key)) is None
    # a new event (new id) for a file we already know adds nothing either
    from mam.settings import load_settings

    store.create_video(new_record(load_settings("b2"), key, len(VIDEO)))
    again = _body(_event(key))
    assert _send(fn, again, sign(secret, again)).json() == {"added": [], "existing": 1, "duplicates": 0,
                                                           "ignored": 0}


def test_only_new_videos_under_the_prefix_of_our_bucket_count(fn, clean_firestore, secret):
    tag = uuid.uuid4().hex[:6]
    video = _put(f"videos/events/batch-{tag}.mov")
    text = _put(f"videos/events/notes-{tag}.txt")
    outside = _put(f"elsewhere/batch-{tag}.mp4")
    gone = f"videos/events/never-stored-{tag}.mp4"  # a late event for a file deleted since
    body = _body(_event(video), _event(text), _event(outside), _event(gone),
                 _event(video, kind="b2:ObjectDeleted:Delete"), _event(video, kind="b2:HideMarkerCreated:Hide"),
                 _event(video, bucket="someone-elses"))
    resp = _send(fn, body, sign(secret, body))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"added": [_id(video)], "existing": 0, "duplicates": 0, "ignored": 6}
    assert _record(_id(gone)) is None and _record(_id(outside)) is None


@pytest.mark.parametrize("body, code", [(b"{not json", "invalid_events"), (b'{"events": 3}', "invalid_events"),
                                        (b"[]", "invalid_events")])
def test_signed_but_malformed_bodies_are_400(fn, secret, body, code):
    resp = _send(fn, body, sign(secret, body))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == code


def test_sync_adds_every_video_of_the_prefix_once(fn, clean_firestore, demo_token, secret):
    tag = uuid.uuid4().hex[:6]
    keys = [_put(f"videos/sync-{tag}/one.mp4"), _put(f"videos/sync-{tag}/deeper/Two_clips.webm")]
    _put(f"videos/sync-{tag}/readme.txt")
    _put(f"videos/sync-{tag}/empty.mp4", b"")  # a zero-byte placeholder is not a video yet
    assert fn.post("/sync").status_code == 401
    resp = fn.post("/sync", demo_token)
    assert resp.status_code == 200, resp.text
    first = resp.json()
    assert set(first) == {"added", "scanned", "complete"} and first["complete"] is True
    assert {_id(k) for k in keys} <= set(first["added"])
    assert {_record(_id(k)).title for k in keys} == {"one", "Two clips"}
    second = fn.post("/sync", demo_token).json()
    assert second["added"] == [] and second["scanned"] == first["scanned"]
    # an event for a file the sync already added changes nothing
    body = _body(_event(keys[0]))
    assert _send(fn, body, sign(secret, body)).json()["existing"] == 1

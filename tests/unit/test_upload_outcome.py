"""Parsing an Assembly Status into what the video record needs."""
from __future__ import annotations

import json

import pytest
from mam.uploads import outcome

VID = "0123456789abcdef0123"
AID = "f" * 32
BASE = "https://s3.us-west-004.backblazeb2.com/my-bucket"


def completed(**over) -> dict:
    upload = {"id": "u1", "name": "Cat.mov", "size": 1234, "meta": {"duration": 12.5, "width": 1920, "height": 1080}}
    status = {
        "ok": "ASSEMBLY_COMPLETED", "assembly_id": AID,
        "params": json.dumps({"auth": {"key": "k"}, "fields": {"video_id": VID}}),
        "fields": {"video_id": VID},
        "uploads": [upload],
        "results": {
            "web": [{"id": "w1", "original_id": "u1", "meta": {"duration": 12.48, "width": 1280, "height": 720}}],
            "store_original": [{"id": "u1", "ssl_url": f"{BASE}/uploads/{VID}/original/Cat.mov"}],
            "store_web": [{"id": "w1", "ssl_url": f"{BASE}/uploads/{VID}/web.mp4"}],
            "store_thumbnail": [{"id": "t1", "url": f"https://f004.backblazeb2.com/file/my-bucket/uploads/{VID}/thumbnail.jpg"}],
        },
    }
    status.update(over)
    return status


def test_completed_assembly_gives_keys_and_facts_of_the_original():
    out = outcome.parse(completed())
    assert (out.state, out.assembly_id, out.video_id) == (outcome.COMPLETED, AID, VID)
    assert out.original_key == f"uploads/{VID}/original/Cat.mov"
    assert out.web_key == f"uploads/{VID}/web.mp4"
    assert out.thumbnail_key == f"uploads/{VID}/thumbnail.jpg"
    assert (out.duration, out.width, out.height, out.size) == (12.5, 1920, 1080, 1234)


@pytest.mark.parametrize("url, key", [
    (f"http://127.0.0.1:8900/mam-local/uploads/{VID}/web.mp4", f"uploads/{VID}/web.mp4"),
    (f"https://my-bucket.s3.us-west-004.backblazeb2.com/uploads/{VID}/web.mp4", f"uploads/{VID}/web.mp4"),
    (f"https://cdn.example.com/uploads/{VID}/web%20copy.mp4?x=1", f"uploads/{VID}/web copy.mp4"),
    ("https://tmp.transloadit.com/abc/web.mp4", None),  # a temporary URL, not our bucket prefix
    (f"{BASE}/uploads/OTHERVIDEO/web.mp4", None),  # someone else's prefix is never accepted
    (f"{BASE}/uploads/{VID}/../../etc/passwd", None),
    (f"{BASE}/uploads/{VID}/", None),
    (None, None), (42, None), ("", None),
])
def test_keys_come_only_from_the_videos_own_prefix(url, key):
    assert outcome.key_from_url(url, VID) == key


def test_video_id_is_taken_from_the_signed_params_not_form_fields():
    status = completed(fields={"video_id": "someone-elses-video"})
    assert outcome.video_id_of(status) == VID
    assert outcome.video_id_of({"fields": {"video_id": "fallback"}}) == "fallback"
    assert outcome.video_id_of({"params": "not json", "fields": {}}) is None
    assert outcome.video_id_of({}) is None


@pytest.mark.parametrize("status, reason", [
    ({"error": "MAX_SIZE_EXCEEDED", "message": "too big"}, "The file is larger than the upload limit."),
    ({"ok": "ASSEMBLY_CANCELED"}, "The upload was canceled."),
    ({"ok": "REQUEST_ABORTED"}, "The upload was interrupted before the file was complete."),
    ({"error": "SOMETHING_NEW", "message": "It broke."}, "Processing failed (SOMETHING_NEW): It broke."),
    ({"error": "X", "message": "m" * 1000}, None),
])
def test_failed_assemblies_get_a_readable_bounded_reason(status, reason):
    out = outcome.parse({"assembly_id": AID, **status})
    assert out.state == outcome.FAILED
    assert out.reason == reason if reason else len(out.reason) <= 300


def test_completed_without_web_copy_is_a_failure_with_reason_and_no_playable_keys():
    status = completed()
    del status["results"]["store_web"], status["results"]["web"]
    out = outcome.parse(status)
    assert out.state == outcome.FAILED and "not a video" in out.reason
    # A failed record must not point at the unplayable original (the API would offer it as playback_url).
    assert (out.original_key, out.web_key, out.thumbnail_key) == (None, None, None)
    assert out.size == 1234


def test_completed_without_any_stored_file_or_results_fails():
    out = outcome.parse(completed(results=None))
    assert out.state == outcome.FAILED and "no file was stored" in out.reason


@pytest.mark.parametrize("ok", ["ASSEMBLY_UPLOADING", "ASSEMBLY_EXECUTING", "ASSEMBLY_REPLAYING", "SOMETHING_ELSE"])
def test_running_or_unknown_states_are_not_terminal(ok):
    assert outcome.parse({"ok": ok, "assembly_id": AID}).state == outcome.RUNNING


def test_garbage_meta_is_ignored():
    status = completed()
    status["uploads"][0]["meta"] = {"duration": "abc", "width": True, "height": -3}
    status["uploads"][0]["size"] = "big"
    out = outcome.parse(status)
    assert out.state == outcome.COMPLETED
    assert (out.duration, out.width, out.height, out.size) == (12.48, 1280, 720, None)

"""Media details of every video against the real local parts (functions under functions-framework, the TransloadIt
stand-in running ffmpeg, the local B2, the Firestore and Auth emulators).

An upload's thumbnail is a representative frame, not the blank opening of a video that starts on black; a video
put straight into the bucket gets the same processing (web MP4, thumbnail, duration, resolution) through a
TransloadIt assembly that imports it, recorded by the same notification, before anyone indexes it.
"""
from __future__ import annotations

import os
import time
import uuid

import pytest
import requests
from conftest import wait_for
from integration.test_upload_flow import _start, _uppy_upload
from standins.frames import make_blank_start_video, spread

pytestmark = pytest.mark.timeout(240)
SECONDS, BLANK = 4.0, 0.6  # black for the first 15 %: the first frame and 10 % are blank


@pytest.fixture(scope="module")
def parts(emulators, start_standin, start_function, demo_token, stack):
    return {
        "status": start_function("upload_status"),
        "notify": start_function("transloadit_notify"),
        "library": start_function("library"),
        "transloadit": start_standin("transloadit"),
        "token": demo_token,
        "origin": stack.url("frontend"),
    }


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    return make_blank_start_video(str(tmp_path_factory.mktemp("clips") / "Fade in.mp4"), seconds=SECONDS, blank=BLANK)


def _object(key: str) -> bytes:
    from mam.clients import b2
    from mam.settings import load_settings

    settings = load_settings("b2").b2
    return b2.client(settings).get_object(Bucket=settings.bucket, Key=key)["Body"].read()


def _video(parts, vid: str) -> dict:
    resp = requests.get(f"{parts['library']}/videos/{vid}", timeout=30,
                        headers={"Authorization": f"Bearer {parts['token']}", "Origin": parts["origin"]})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_upload_thumbnail_is_a_representative_frame_not_the_blank_opening(parts, clip):
    started = _start(parts, filename="Fade in.mp4", size=os.path.getsize(clip))
    assert started.status_code == 201, started.text
    vid = started.json()["video_id"]
    _uppy_upload(started.json(), clip)

    from mam import store

    video = wait_for(lambda: (v := store.get_video(vid)) and v.status == "uploaded" and v, timeout=120,
                     interval=0.5, what="upload to be recorded")
    thumb = _object(video.b2_thumbnail)
    assert thumb[:3] == b"\xff\xd8\xff"
    assert spread(thumb) > 20, f"the thumbnail is a blank frame (grey-level spread {spread(thumb):.1f})"
    shown = _video(parts, vid)
    assert abs(shown["duration"] - SECONDS) < 0.2 and (shown["width"], shown["height"]) == (320, 240)
    assert shown["size"] == os.path.getsize(clip) and shown["thumbnail_url"]


def test_discovered_video_gets_web_copy_thumbnail_duration_and_resolution_before_indexing(parts, clip):
    from mam import store
    from mam.clients import b2
    from mam.library.discover import video_id_for
    from mam.settings import load_settings

    settings = load_settings("b2").b2
    key = f"videos/details-{uuid.uuid4().hex[:8]}/Fade in.mp4"
    with open(clip, "rb") as fh:
        b2.put_bytes(settings, key, fh.read(), "video/mp4")
    began = time.monotonic()
    resp = requests.post(parts["library"] + "/sync", headers={"Authorization": f"Bearer {parts['token']}"},
                         timeout=60)
    assert resp.status_code == 200, resp.text
    vid = video_id_for(settings.bucket, key)
    assert vid in resp.json()["added"]

    video = wait_for(lambda: (v := store.get_video(vid)) and v.b2_thumbnail and v.b2_web and v, timeout=120,
                     interval=0.5, what="the discovered video's processing to be recorded")
    print(f"\nsync -> discovered video's web MP4 + thumbnail recorded: {time.monotonic() - began:.1f} s")
    assert video.status == "uploaded" and video.source == "discovered"  # not indexed, not changed by processing
    assert video.b2_original == key  # the original stays where it was put
    assert (video.b2_web, video.b2_thumbnail) == (f"uploads/{vid}/web.mp4", f"uploads/{vid}/thumbnail.jpg")
    assert spread(_object(video.b2_thumbnail)) > 20
    assert _object(video.b2_web)[4:8] == b"ftyp"
    shown = _video(parts, vid)
    assert abs(shown["duration"] - SECONDS) < 0.2 and (shown["width"], shown["height"]) == (320, 240)
    assert shown["size"] == os.path.getsize(clip)
    assert shown["thumbnail_url"] and f"uploads/{vid}/web.mp4" in shown["playback_url"]

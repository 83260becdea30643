"""Upload journey against the real local parts: upload_status and transloadit_notify under functions-framework,
the Firestore/Cloud Tasks/Auth emulators, moto as B2, and the TransloadIt stand-in doing the real encode.

The browser's part is played with the same requests Uppy makes: a multipart assembly creation carrying the
params string and signature exactly as /uploads returned them, then a tus upload with Uppy's metadata.
"""
from __future__ import annotations

import json
import os

import pytest
import requests
from conftest import wait_for
from standins.transloadit import make_test_video

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def parts(emulators, start_standin, start_function, demo_token, stack):
    return {
        "status": start_function("upload_status"),
        "notify": start_function("transloadit_notify"),
        "transloadit": start_standin("transloadit"),
        "token": demo_token,
        "origin": stack.url("frontend"),
    }


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    return make_test_video(str(tmp_path_factory.mktemp("clips") / "Cats on the floor.mp4"), seconds=2.0)


def _auth(parts) -> dict[str, str]:
    return {"Authorization": f"Bearer {parts['token']}", "Origin": parts["origin"]}


def _start(parts, **body) -> requests.Response:
    payload = {"filename": "Cats on the floor.mp4", "type": "video/mp4", "size": 1000, **body}
    return requests.post(parts["status"] + "/uploads", json=payload, headers=_auth(parts), timeout=30)


def _status(parts, ids, etag: str | None = None) -> requests.Response:
    headers = {"Origin": parts["origin"], **({"If-None-Match": etag} if etag else {})}
    return requests.post(parts["status"] + "/status", json={"ids": ids}, headers=headers, timeout=30)


def _uppy_upload(started: dict, path: str) -> dict:
    """What @uppy/transloadit + @uppy/tus send: multipart POST /assemblies, then tus with the file's meta."""
    from tusclient import client as tus

    form = {"params": started["params"], "signature": started["signature"], **started["fields"],
            "num_expected_upload_files": "1"}
    resp = requests.post(started["service_url"] + "/assemblies", files={k: (None, v) for k, v in form.items()},
                         headers={"Transloadit-Client": "uppy-core:6.3.1,uppy-transloadit:6.0.0,uppy-tus:6.0.0"},
                         timeout=30)
    assert resp.status_code == 200, resp.text
    assembly = resp.json()
    name = os.path.basename(path)
    tus.TusClient(assembly["tus_url"], headers={"X-Request-ID": "test"}).uploader(
        path, chunk_size=64 * 1024,
        metadata={"assembly_url": assembly["assembly_url"], "fieldname": "file", "filename": name, "name": name,
                  "type": "video/mp4", "filetype": "video/mp4", "relativePath": "null"}).upload()
    return assembly


def test_upload_is_stored_encoded_and_recorded_through_the_real_notification(parts, clip, stack):
    started_resp = _start(parts, title="  Cats  ", size=os.path.getsize(clip))
    assert started_resp.status_code == 201, started_resp.text
    assert started_resp.headers["Access-Control-Allow-Origin"] == parts["origin"]
    started = started_resp.json()
    vid = started["video_id"]
    assert started["service_url"] == parts["transloadit"] and started["fields"] == {"video_id": vid}
    params = json.loads(started["params"])
    assert params["notify_url"] == stack.url("transloadit_notify") and params["fields"] == {"video_id": vid}
    assert started["signature"].startswith("sha384:") and started["expires"] == params["auth"]["expires"]

    first = _status(parts, [vid])
    assert first.status_code == 200
    assert first.json() == {"videos": {vid: {"status": "uploading", "status_reason": None, "thumbnail_url": None,
                                             "updated_at": first.json()["videos"][vid]["updated_at"],
                                             "interrupted": False}}, "missing": []}
    assert first.headers["ETag"] and first.headers["Access-Control-Expose-Headers"] == "ETag"
    assert _status(parts, [vid], first.headers["ETag"]).status_code == 304

    assembly = _uppy_upload(started, clip)

    def uploaded():
        body = _status(parts, [vid]).json()["videos"][vid]
        assert body["status"] in ("uploading", "uploaded"), body
        return body if body["status"] == "uploaded" else None

    entry = wait_for(uploaded, timeout=90, interval=0.5, what="video to be uploaded")
    assert entry["thumbnail_url"] and "thumbnail.jpg" in entry["thumbnail_url"]
    assert requests.get(entry["thumbnail_url"], timeout=10).content[:3] == b"\xff\xd8\xff"
    changed = _status(parts, [vid], first.headers["ETag"])
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert _status(parts, [vid], changed.headers["ETag"]).status_code == 304

    from mam import store
    from mam.clients import b2
    from mam.settings import load_settings

    video = store.get_video(vid)
    assert video.title == "Cats" and video.owner == "demo@example.com"
    assert video.assembly_id == assembly["assembly_id"] and video.status_reason is None
    assert (video.b2_original, video.b2_web, video.b2_thumbnail) == (
        f"uploads/{vid}/original/Cats_on_the_floor.mp4", f"uploads/{vid}/web.mp4", f"uploads/{vid}/thumbnail.jpg")
    assert abs(video.duration - 2.0) < 0.2 and (video.width, video.height) == (320, 240)
    assert video.size == os.path.getsize(clip)
    settings = load_settings("b2").b2
    for key in (video.b2_original, video.b2_web, video.b2_thumbnail):
        assert b2.head(settings, key) is not None, key


def test_start_upload_rejects_bad_input_with_json_errors(parts):
    cases = [
        ({}, {"Origin": parts["origin"]}, 401, "sign_in_required"),
        ({}, {"Authorization": "Bearer forged"}, 401, "invalid_token"),
        ({"filename": ""}, None, 400, "missing_field"),
        ({"filename": "a\x00b.mp4"}, None, 400, "invalid_field"),
        ({"filename": "x.png", "type": "image/png"}, None, 400, "unsupported_type"),
        ({"filename": "x.mp4", "size": -1}, None, 400, "invalid_field"),
        ({"filename": "x.mp4", "size": 6 * 1024**3}, None, 413, "file_too_large"),
        ({"filename": "x.mp4", "title": "t" * 201}, None, 400, "invalid_field"),
    ]
    for body, headers, status, code in cases:
        resp = requests.post(parts["status"] + "/uploads", json=body, headers=headers or _auth(parts), timeout=30)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["error"]["code"] == code and "Traceback" not in resp.text
    raw = requests.post(parts["status"] + "/uploads", data="{nope", headers={**_auth(parts), "Content-Type": "application/json"})
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "invalid_json"


def test_status_validates_ids_and_reports_missing(parts):
    assert _status(parts, "abc").status_code == 400
    assert _status(parts, [1, 2]).status_code == 400
    too_many = _status(parts, [f"id{i}" for i in range(101)])
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "too_many_ids"
    empty = _status(parts, [])
    assert empty.status_code == 200 and empty.json() == {"videos": {}, "missing": []}
    unknown = _status(parts, ["nope-1", "nope-2", "nope-1"])
    assert unknown.json() == {"videos": {}, "missing": ["nope-1", "nope-2"]}


def test_cors_is_only_for_the_front_end_origin(parts):
    ok = requests.options(parts["status"] + "/status", headers={
        "Origin": parts["origin"], "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,if-none-match"})
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == parts["origin"]
    assert "If-None-Match" in ok.headers["Access-Control-Allow-Headers"]
    other = requests.options(parts["status"] + "/status", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in other.headers

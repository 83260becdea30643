"""Resumable, accountable uploads against the real local parts: an interrupted upload resumes from the offset the
TransloadIt stand-in reports (tus HEAD, PATCH from there) into the same assembly; the upload page's heartbeat
(POST /uploads/{id}/progress) keeps it alive and its silence shows as `interrupted`, then ends it after
UPLOAD_IDLE_MINUTES with a reason (assembly canceled); discard removes the record, the assembly and partial files;
empty and non-video files are refused when the upload is started.

/uploads runs in-process (so each test can shorten the schedule); the check goes through the Cloud Tasks emulator to
`upload_tasks`, the notification to `transloadit_notify`, both under functions-framework.
"""
from __future__ import annotations

import base64
import importlib.util
import time
import uuid
from pathlib import Path

import flask
import pytest
import requests
from conftest import ROOT, wait_for
from standins.transloadit import create_assembly, make_test_video

from localdev import auth_users

pytestmark = pytest.mark.timeout(240)

TUS = {"Tus-Resumable": "1.0.0"}
MEMBER = f"resume-member-{uuid.uuid4().hex[:6]}@example.com"


@pytest.fixture(scope="module")
def parts(emulators, stack, start_standin, start_function, demo_token):
    return {"tasks_fn": start_function("upload_tasks"), "notify_fn": start_function("transloadit_notify"),
            "transloadit": start_standin("transloadit"), "token": demo_token, "stack": stack}


@pytest.fixture(scope="module")
def member_token(parts) -> str:
    """A member who did not start the uploads below (MEMBER_EMAILS is set for the in-process function)."""
    auth_users.ensure_user(parts["stack"], MEMBER, "pass-word-1", verified=True)
    return auth_users.sign_in(parts["stack"], MEMBER, "pass-word-1")["idToken"]


class Uploads:
    """upload_status's main module (its routes read `main.SETTINGS`) and a test client of its entry point."""

    def __init__(self, main, token: str):
        self.main, self.token = main, token
        app = flask.Flask("uploads-resume-under-test")
        app.add_url_rule("/<path:p>", "any", lambda p: main.upload_status(flask.request), methods=["POST"])
        self.client = app.test_client()

    def post(self, path: str, body: dict | None = None, token: str | None = None):
        return self.client.post(path, json=body if body is not None else {},
                                headers={"Authorization": f"Bearer {token or self.token}"})


@pytest.fixture(scope="module")
def uploads(parts, stack_env) -> Uploads:
    spec = importlib.util.spec_from_file_location("upload_status_main_resume", ROOT / "functions" / "upload_status" / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    return Uploads(main, parts["token"])


@pytest.fixture
def configure(uploads, parts, monkeypatch):
    """Set upload knobs for the in-process function, as a restart with this environment would."""
    from mam.settings import load_settings

    def apply(**knobs: str) -> None:
        env = {"UPLOAD_CHECK_FIRST_DELAY_SECONDS": "900", "UPLOAD_CHECK_MAX_DELAY_SECONDS": "900",
               "UPLOAD_IDLE_MINUTES": "15", "MEMBER_EMAILS": MEMBER,
               "FUNCTION_URL_TRANSLOADIT_NOTIFY": parts["notify_fn"], **knobs}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(uploads.main, "SETTINGS", load_settings("http", "b2", "transloadit"))

    return apply


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    return make_test_video(str(tmp_path_factory.mktemp("resume") / "harbour.mp4"), seconds=2.0)


def start(uploads: Uploads, path: str) -> dict:
    resp = uploads.post("/uploads", {"filename": "harbour.mp4", "type": "video/mp4", "size": Path(path).stat().st_size})
    assert resp.status_code == 201, resp.json
    return resp.json



def tus_create(assembly: dict, length: int) -> str:
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    {"assembly_url": assembly["assembly_url"], "filename": "harbour.mp4", "fieldname": "file"}.items())
    resp = requests.post(assembly["tus_url"], headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": meta},
                         timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.headers["Location"]


def tus_patch(location: str, offset: int, chunk: bytes) -> requests.Response:
    return requests.patch(location, data=chunk, timeout=30, headers={
        **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})


def status_entry(uploads: Uploads, vid: str) -> dict:
    resp = uploads.post("/status", {"ids": [vid]})
    assert resp.status_code == 200, resp.json
    return resp.json["videos"][vid]


def video(vid: str):
    from mam import store

    return store.get_video(vid)


def assembly_state(assembly: dict) -> str:
    return requests.get(assembly["assembly_ssl_url"], timeout=10).json()["ok"]


# ---- refused before anything is made -------------------------------------------------------------------------------
def test_empty_and_non_video_files_are_refused_when_the_upload_is_started(uploads, configure):
    from mam import store

    configure()
    before = store.count_videos()
    cases = [
        ({"filename": "empty.mp4", "type": "video/mp4", "size": 0}, "empty_file",
         "“empty.mp4” is empty (0 bytes). Choose a video file that has content."),
        ({"filename": "notes.txt", "type": "text/plain", "size": 1200}, "unsupported_type",
         "“notes.txt” is not a video file. Choose a video file, for example an .mp4 or .mov file."),
        ({"filename": "notes.txt", "type": "", "size": 1200}, "unsupported_type",
         "“notes.txt” is not a video file. Choose a video file, for example an .mp4 or .mov file."),
    ]
    for body, code, message in cases:
        resp = uploads.post("/uploads", body)
        assert resp.status_code == 400, (body, resp.json)
        assert (resp.json["error"]["code"], resp.json["error"]["message"]) == (code, message), resp.json
    assert store.count_videos() == before  # no record was made for any of them


# ---- resume -----------------------------------------------------------------------------------------------------------
def test_an_interrupted_upload_shows_as_interrupted_then_resumes_from_the_servers_offset(uploads, configure, clip,
                                                                                         monkeypatch):
    from mam.uploads import status

    configure()
    monkeypatch.setattr(status, "INTERRUPTED_AFTER_SECONDS", 1)  # 30 s in production: the page beats every 10 s
    data = Path(clip).read_bytes()
    started = start(uploads, clip)
    vid = started["video_id"]
    assembly = create_assembly(started)
    location = tus_create(assembly, len(data))
    half = len(data) // 2
    assert tus_patch(location, 0, data[:half]).status_code == 204
    beat = uploads.post(f"/uploads/{vid}/progress", {"bytes_uploaded": half, "bytes_total": len(data)})
    assert beat.status_code == 200, beat.json
    assert beat.json["status"] == "uploading" and beat.json["heartbeat_seconds"] == 10
    assert video(vid).upload_bytes == half and video(vid).upload_seen_at is not None
    assert status_entry(uploads, vid)["interrupted"] is False

    # The page is gone (closed tab): the status says so; the assembly waits for the rest of the file.
    time.sleep(1.5)
    assert status_entry(uploads, vid) | {"updated_at": None} == {
        "status": "uploading", "status_reason": None, "thumbnail_url": None, "updated_at": None, "interrupted": True}
    assert assembly_state(assembly) == "ASSEMBLY_UPLOADING"

    # Reopened: tus asks how much arrived, refuses a PATCH from anywhere else, and takes the rest from there.
    reopened = time.monotonic()
    head = requests.head(location, headers=TUS, timeout=10)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(half)
    assert head.headers["Upload-Length"] == str(len(data)) and head.headers["Cache-Control"] == "no-store"
    assert tus_patch(location, 0, data).status_code == 409
    assert uploads.post(f"/uploads/{vid}/progress", {"bytes_uploaded": half, "bytes_total": len(data)}).status_code == 200
    assert status_entry(uploads, vid)["interrupted"] is False
    done = tus_patch(location, half, data[half:])
    assert done.status_code == 204 and done.headers["Upload-Offset"] == str(len(data))
    finished = wait_for(lambda: (v := video(vid)).status != "uploading" and v, timeout=90, interval=0.3,
                        what="the resumed upload to be recorded")
    print(f"\nresumed upload: reopened (HEAD) -> recorded uploaded in {time.monotonic() - reopened:.2f} s")
    assert finished.status == "uploaded", finished.status_reason
    assert finished.assembly_id == assembly["assembly_id"]  # the same assembly, not a new upload
    assert finished.size == len(data)
    from mam.clients import b2
    from mam.settings import load_settings

    assert b2.head(load_settings("b2").b2, finished.b2_original)["ContentLength"] == len(data)
    # A heartbeat after the end changes nothing.
    late = uploads.post(f"/uploads/{vid}/progress", {"bytes_uploaded": len(data), "bytes_total": len(data)})
    assert late.status_code == 200 and late.json["result"] == "ignored_later_state"
    assert late.json["status"] == "uploaded" and status_entry(uploads, vid)["interrupted"] is False


# ---- abandoned ------------------------------------------------------------------------------------------------------
def test_an_upload_whose_page_is_gone_fails_after_the_idle_time_with_a_reason_and_its_assembly_is_canceled(
        uploads, configure, clip):
    configure(UPLOAD_IDLE_MINUTES="0.1", UPLOAD_CHECK_FIRST_DELAY_SECONDS="1", UPLOAD_CHECK_MAX_DELAY_SECONDS="2",
              UPLOAD_DEADLINE_SECONDS="600")
    data = Path(clip).read_bytes()
    started = start(uploads, clip)
    vid = started["video_id"]
    assembly = create_assembly(started)
    location = tus_create(assembly, len(data))
    assert tus_patch(location, 0, data[:1000]).status_code == 204

    # The page beats for longer than the idle time: the upload stays alive.
    until = time.monotonic() + 9
    while time.monotonic() < until:
        assert uploads.post(f"/uploads/{vid}/progress", {"bytes_uploaded": 1000, "bytes_total": len(data)}).status_code == 200
        time.sleep(1)
    assert video(vid).status == "uploading"
    assert (video(vid).attempts or {}).get("upload_check", 0) >= 2  # checks ran meanwhile and let it be

    # Then it goes quiet: within the idle time (6 s) plus a check interval, the upload ends with a reason.
    last_beat = video(vid).upload_seen_at.timestamp()
    failed = wait_for(lambda: (v := video(vid)).status != "uploading" and v, timeout=40, interval=0.3,
                      what="the idle upload to be given up")
    assert failed.status == "failed"
    assert failed.status_reason == ("The upload stopped: no data arrived for 6 seconds, so the page was probably "
                                    "closed. Upload the file again.")
    assert failed.updated_at.timestamp() - last_beat < 6 + 2 + 3  # idle + the check interval + slack
    assert wait_for(lambda: assembly_state(assembly) == "ASSEMBLY_CANCELED", timeout=10,
                    what="the assembly to be canceled")
    assert requests.head(location, headers=TUS, timeout=10).status_code == 404  # nothing left to resume into
    time.sleep(2)  # the cancel notification arrives, and keeps the reason
    assert video(vid).status_reason == failed.status_reason
    # The page, if it comes back, learns it from its heartbeat.
    beat = uploads.post(f"/uploads/{vid}/progress", {"bytes_uploaded": 1000, "bytes_total": len(data)})
    assert beat.json["status"] == "failed" and beat.json["status_reason"] == failed.status_reason


# ---- discard / cancel ------------------------------------------------------------------------------------------------
def test_discard_removes_the_record_the_assembly_and_partial_files_and_only_for_its_uploader(
        uploads, configure, clip, member_token):
    from mam import store
    from mam.clients import b2
    from mam.settings import load_settings
    from mam.videos import Video, utcnow

    configure()
    storage = load_settings("b2").b2
    data = Path(clip).read_bytes()
    started = start(uploads, clip)
    vid = started["video_id"]
    assembly = create_assembly(started)
    location = tus_create(assembly, len(data))
    assert tus_patch(location, 0, data[:2000]).status_code == 204
    b2.put_bytes(storage, f"uploads/{vid}/original/partial.mp4", data[:2000], "video/mp4")  # a half-stored result

    other = uploads.post(f"/uploads/{vid}/discard", token=member_token)
    assert other.status_code == 403 and other.json["error"]["code"] == "forbidden"
    assert uploads.post(f"/uploads/{vid}/progress", {"bytes_uploaded": 1}, token=member_token).status_code == 403
    assert video(vid) is not None

    gone = uploads.post(f"/uploads/{vid}/discard")
    assert gone.status_code == 200, gone.json
    assert gone.json | {"video_id": vid} == {"ok": True, "video_id": vid, "result": "discarded",
                                             "canceled_assemblies": 1, "removed_objects": 1}
    assert video(vid) is None
    assert list(b2.list_versions(storage, f"uploads/{vid}/")) == []
    assert wait_for(lambda: assembly_state(assembly) == "ASSEMBLY_CANCELED", timeout=10, what="the cancel")
    time.sleep(1.5)  # the cancel notification finds no record and makes none
    assert video(vid) is None
    again = uploads.post(f"/uploads/{vid}/discard")
    assert again.status_code == 404 and again.json["error"]["code"] == "not_found"
    assert uploads.post("/uploads/..%2Fx/discard").status_code == 404

    # A finished upload is not discarded (the library deletes it). The demo user is an admin locally.
    done = Video(id=uuid.uuid4().hex[:20], title="Done", owner="demo@example.com", status="uploaded",
                 b2_web="uploads/x/web.mp4", created_at=utcnow(), updated_at=utcnow())
    store.create_video(done)
    try:
        refused = uploads.post(f"/uploads/{done.id}/discard")
        assert refused.status_code == 409 and refused.json["error"]["code"] == "upload_finished", refused.json
        assert refused.json["error"]["message"] == ("“Done” has finished uploading, so there is nothing to discard. "
                                                    "Delete it from the library if you no longer want it.")
        assert store.get_video(done.id) is not None
    finally:
        store.delete_video(done.id)

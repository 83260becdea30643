"""The missed-notification safety check, end to end through the real Cloud Tasks emulator.

/uploads runs in-process (so each test can shorten the schedule and point notify_url at a dead port); the task it
schedules goes through the Cloud Tasks emulator to `upload_tasks` under functions-framework, which asks the
TransloadIt stand-in (assembly search by video id + status) and finishes, fails or re-schedules the upload.
"""
from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

import flask
import pytest
import requests
from conftest import ROOT, wait_for
from standins.tasks import headers as cloud_tasks_token
from standins.transloadit import create_assembly, make_test_video

from localdev.processes import free_port

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def stack_parts(emulators, stack, start_standin, start_function, demo_token):
    return {"tasks_fn": start_function("upload_tasks"), "transloadit": start_standin("transloadit"),
            "token": demo_token, "stack": stack}


class UploadsUnderTest:
    """upload_status's main module (its routes read `main.SETTINGS`) and a test client of its entry point."""

    def __init__(self, main):
        self.main = main
        app = flask.Flask("uploads-under-test")
        app.add_url_rule("/<path:p>", "any", lambda p: main.upload_status(flask.request), methods=["POST"])
        self.client = app.test_client()


@pytest.fixture(scope="module")
def uploads_app(stack_parts, stack_env):
    spec = importlib.util.spec_from_file_location("upload_status_main_under_test",
                                                  ROOT / "functions" / "upload_status" / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    return UploadsUnderTest(main)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    return make_test_video(str(tmp_path_factory.mktemp("r") / "lost.mp4"), seconds=1.0)


def start(uploads_app, stack_parts, monkeypatch, *, first: int, grace: int, deadline: int, max_interval: int = 2) -> dict:
    """POST /uploads with a short check schedule and a notify_url nobody listens on."""
    from mam.settings import load_settings

    monkeypatch.setenv("UPLOAD_CHECK_FIRST_DELAY_SECONDS", str(first))
    monkeypatch.setenv("UPLOAD_CHECK_MAX_DELAY_SECONDS", str(max_interval))
    monkeypatch.setenv("UPLOAD_START_GRACE_SECONDS", str(grace))
    monkeypatch.setenv("UPLOAD_DEADLINE_SECONDS", str(deadline))
    monkeypatch.setenv("FUNCTION_URL_TRANSLOADIT_NOTIFY", f"http://127.0.0.1:{free_port()}/lost")
    # the function read its settings at start-up: give it the ones of this environment, as a restart would
    monkeypatch.setattr(uploads_app.main, "SETTINGS", load_settings("http", "b2", "transloadit"))
    resp = uploads_app.client.post("/uploads", json={"filename": "lost.mp4", "type": "video/mp4"},
                                   headers={"Authorization": f"Bearer {stack_parts['token']}"})
    assert resp.status_code == 201, resp.json
    return resp.json



def video(vid: str):
    from mam import store

    return store.get_video(vid)


def test_lost_notification_is_recovered_by_the_scheduled_check(uploads_app, stack_parts, monkeypatch, clip):
    from tusclient import client as tus

    started = start(uploads_app, stack_parts, monkeypatch, first=2, grace=60, deadline=120)
    vid = started["video_id"]
    assembly = create_assembly(started)
    tus.TusClient(assembly["tus_url"]).uploader(clip, metadata={
        "assembly_url": assembly["assembly_url"], "fieldname": "file", "filename": "lost.mp4"}).upload()

    recovered = wait_for(lambda: (v := video(vid)).status != "uploading" and v, timeout=90, interval=0.5,
                         what="the safety check to record the upload")
    assert recovered.status == "uploaded", recovered.status_reason
    assert recovered.assembly_id == assembly["assembly_id"]
    assert recovered.b2_web == f"uploads/{vid}/web.mp4" and recovered.b2_thumbnail == f"uploads/{vid}/thumbnail.jpg"
    assert recovered.duration and recovered.width == 320
    # The notification really was lost: TransloadIt (the stand-in) never got a 2xx for it.
    status = requests.get(assembly["assembly_ssl_url"], timeout=10).json()
    assert status["ok"] == "ASSEMBLY_COMPLETED" and status["notify_response_code"] != 200

    # A duplicate delivery of the check (Cloud Tasks is at-least-once) changes nothing.
    delivery = cloud_tasks_token(stack_parts["stack"], stack_parts["tasks_fn"])
    again = requests.post(stack_parts["tasks_fn"] + "/check", json={"video_id": vid, "attempt": 1}, headers=delivery,
                          timeout=30)
    assert again.status_code == 200 and again.json()["result"] == "not_uploading"
    assert video(vid).version == recovered.version
    bad = requests.post(stack_parts["tasks_fn"] + "/check", json={"video_id": "../x"}, headers=delivery, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_field"


def test_upload_that_never_started_fails_after_the_grace_period(uploads_app, stack_parts, monkeypatch):
    started = start(uploads_app, stack_parts, monkeypatch, first=1, grace=1, deadline=60)
    failed = wait_for(lambda: (v := video(started["video_id"])).status != "uploading" and v, timeout=60,
                      interval=0.5, what="the check to give up")
    assert failed.status == "failed"
    assert failed.status_reason == "The upload never started (no file reached TransloadIt)."


def test_stalled_upload_is_rechecked_then_failed_at_the_deadline(uploads_app, stack_parts, monkeypatch, clip):
    started = start(uploads_app, stack_parts, monkeypatch, first=1, grace=60, deadline=8, max_interval=1)
    vid = started["video_id"]
    assembly = create_assembly(started)
    data = Path(clip).read_bytes()
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    {"assembly_url": assembly["assembly_url"], "filename": "lost.mp4"}.items())
    tus_headers = {"Tus-Resumable": "1.0.0"}
    loc = requests.post(assembly["tus_url"], headers={**tus_headers, "Upload-Length": str(len(data)),
                                                      "Upload-Metadata": meta}).headers["Location"]
    requests.patch(loc, data=data[: len(data) // 2], headers={
        **tus_headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})

    noted = wait_for(lambda: (v := video(vid)).assembly_id and v, timeout=30, interval=0.3,
                     what="the check to note the running assembly")
    assert noted.assembly_id == assembly["assembly_id"]  # found by the keyword search, then remembered
    failed = wait_for(lambda: (v := video(vid)).status != "uploading" and v, timeout=60, interval=0.5,
                      what="the deadline")
    assert failed.status == "failed" and failed.status_reason == "The upload did not finish within 8 seconds."
    assert failed.attempts.get("upload_check", 0) >= 1
    assert requests.get(assembly["assembly_ssl_url"], timeout=10).json()["ok"] == "ASSEMBLY_UPLOADING"

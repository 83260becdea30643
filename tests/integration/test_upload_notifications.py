"""Every notification case of issue 4 against the real transloadit_notify entry point and the Firestore emulator.

The payload is a real Assembly Status captured from the TransloadIt stand-in (a real tus upload, a real ffmpeg
encode into moto). Each case re-targets that status at a fresh video and signs it the way TransloadIt does, then
POSTs it to the function's entry point in-process (a Flask test client around `main.transloadit_notify`).
"""
from __future__ import annotations

import importlib.util
import json
import uuid

import flask
import pytest
import requests
from conftest import ROOT, wait_for

from localdev.stack import LOCAL_SECRETS
from standins.transloadit import NotifyReceiver, make_test_video, parse_form

pytestmark = pytest.mark.timeout(180)
SECRET = LOCAL_SECRETS["TRANSLOADIT_AUTH_SECRET"]


def _load(source: str):
    spec = importlib.util.spec_from_file_location(f"{source}_main_under_test", ROOT / "functions" / source / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def notify(firestore, stack_env):
    main = _load("transloadit_notify")
    app = flask.Flask("notify-under-test")
    app.add_url_rule("/", "root", lambda: main.transloadit_notify(flask.request), methods=["POST", "GET"])
    return app.test_client()


@pytest.fixture(scope="module")
def captured(s3, start_standin, stack_env, tmp_path_factory):
    """(raw `transloadit` string, video id) of a real completed assembly, as the stand-in notified it."""
    from mam.settings import load_settings
    from mam.uploads.template import build_params
    from mam.videos import utcnow
    from tusclient import client as tus

    base = start_standin("transloadit")
    settings = load_settings("transloadit").transloadit
    clip = make_test_video(str(tmp_path_factory.mktemp("n") / "clip.mp4"), seconds=1.0)
    with NotifyReceiver() as rx:
        signed = build_params(auth_key=settings.auth_key, auth_secret=settings.auth_secret,
                              video_id="capturedvideo0000000", notify_url=rx.url, credentials="b2", template_id="",
                              max_size=10**9, now=utcnow(), ttl_seconds=600)
        assembly = requests.post(base + "/assemblies", data={"params": signed.params, "signature": signed.signature,
                                                             "num_expected_upload_files": "1"}, timeout=30).json()
        tus.TusClient(assembly["tus_url"]).uploader(clip, metadata={
            "assembly_url": assembly["assembly_url"], "fieldname": "file", "filename": "clip.mp4"}).upload()
        [note] = rx.wait(1, timeout=90)
    form = parse_form(note)
    assert json.loads(form["transloadit"])["ok"] == "ASSEMBLY_COMPLETED"
    return form["transloadit"], "capturedvideo0000000"


@pytest.fixture
def new_video(firestore, stack_env):
    from mam import store
    from mam.videos import Video, new_video_id

    def make(**fields) -> str:
        video = Video(id=new_video_id(), title="t", owner="demo@example.com", **fields)
        assert store.create_video(video)
        return video.id

    return make


def status_for(captured, video_id: str, **changes) -> dict:
    """The captured status re-targeted at `video_id` (params, fields and stored URLs), with `changes` applied."""
    raw, old = captured
    status = json.loads(raw.replace(old, video_id))
    status.update(changes)
    return status


def sign(raw: str, algorithm: str = "sha384", secret: str = SECRET) -> str:
    from mam.uploads import signing

    return signing.sign(secret, raw, algorithm)


def post(client, raw: str | None, signature: str | None, *, multipart: bool = False):
    form = {k: v for k, v in (("transloadit", raw), ("signature", signature)) if v is not None}
    if multipart:
        return client.post("/", data=form, content_type="multipart/form-data")
    return client.post("/", data=form, content_type="application/x-www-form-urlencoded")


def doc(video_id: str):
    from mam import store

    return store.get_video(video_id)


# ---- accepted -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm, multipart", [("sha384", False), ("sha1", False), ("sha384", True)])
def test_valid_notification_records_the_upload(notify, captured, new_video, algorithm, multipart):
    vid = new_video()
    raw = json.dumps(status_for(captured, vid))
    resp = post(notify, raw, sign(raw, algorithm), multipart=multipart)
    assert resp.status_code == 200, resp.json
    assert resp.json["result"] == "recorded" and resp.json["status"] == "uploaded"
    video = doc(vid)
    assert video.status == "uploaded" and video.version == 1
    assert video.b2_web == f"uploads/{vid}/web.mp4" and video.b2_thumbnail == f"uploads/{vid}/thumbnail.jpg"
    assert video.b2_original == f"uploads/{vid}/original/clip.mp4"
    assert abs(video.duration - 1.0) < 0.2 and (video.width, video.height) == (320, 240) and video.size > 0


def test_replay_and_out_of_order_deliveries_change_nothing(notify, captured, new_video):
    vid = new_video()
    raw = json.dumps(status_for(captured, vid))
    assert post(notify, raw, sign(raw)).json["result"] == "recorded"
    before = doc(vid)
    replay = post(notify, raw, sign(raw))
    assert replay.status_code == 200 and replay.json["result"] == "already_recorded"
    late_error = json.dumps(status_for(captured, vid, ok=None, error="WORKER_JOB_ERROR", message="late"))
    assert post(notify, late_error, sign(late_error)).json["result"] == "already_recorded"
    late_running = json.dumps(status_for(captured, vid, ok="ASSEMBLY_EXECUTING"))
    assert post(notify, late_running, sign(late_running)).status_code == 200
    after = doc(vid)
    assert (after.version, after.status, after.updated_at) == (before.version, "uploaded", before.updated_at)


def test_failed_and_canceled_assemblies_fail_the_video_with_a_reason(notify, captured, new_video):
    for changes, reason in [
        ({"ok": None, "error": "VIDEO_ENCODE_VALIDATION", "message": "bad", "results": {}},
         "The video could not be converted for web playback."),
        ({"ok": "ASSEMBLY_CANCELED"}, "The upload was canceled."),
    ]:
        vid = new_video()
        status = status_for(captured, vid, **changes)
        status = {k: v for k, v in status.items() if v is not None}
        raw = json.dumps(status)
        resp = post(notify, raw, sign(raw))
        assert resp.status_code == 200 and resp.json["status"] == "failed"
        video = doc(vid)
        assert video.status == "failed" and video.status_reason == reason and video.b2_web is None


def test_a_completion_arriving_after_our_timeout_wins(notify, captured, new_video):
    vid = new_video(status="failed", status_reason="The upload did not finish within 24 hours.")
    raw = json.dumps(status_for(captured, vid))
    assert post(notify, raw, sign(raw)).json["result"] == "recorded"
    assert doc(vid).status == "uploaded" and doc(vid).status_reason is None


def test_unknown_assembly_is_acknowledged_and_nothing_is_created(notify, captured):
    raw = json.dumps(status_for(captured, "videothatdoesnotexist"))
    resp = post(notify, raw, sign(raw))
    assert resp.status_code == 200 and resp.json["result"] == "ignored_unknown_video"
    assert doc("videothatdoesnotexist") is None
    orphan = status_for(captured, "x")
    orphan["params"] = json.dumps({"auth": {"key": "k"}})
    orphan["fields"] = {}
    orphan["assembly_id"] = "0" * 32
    raw = json.dumps(orphan)
    resp = post(notify, raw, sign(raw))
    assert resp.status_code == 200 and resp.json["result"] == "ignored_unknown_assembly"


def test_video_found_by_assembly_id_when_fields_are_missing(notify, captured, new_video):
    assembly_id = uuid.uuid4().hex  # every other case shares the captured id
    vid = new_video(assembly_id=assembly_id)
    status = status_for(captured, vid, assembly_id=assembly_id)
    status["params"] = json.dumps({"auth": {"key": "k"}})
    status["fields"] = {}
    raw = json.dumps(status)
    resp = post(notify, raw, sign(raw))
    assert resp.status_code == 200 and resp.json["video_id"] == vid
    # Without a video id the stored keys cannot be attributed safely: the outcome is a readable failure.
    assert doc(vid).status == "failed" and "not linked" in doc(vid).status_reason


# ---- refused: 4xx with a JSON error, nothing written ----------------------------------------------------------
def _refused(notify, vid: str, resp, status: int, code: str):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.json["error"]["code"] == code and "Traceback" not in resp.get_data(as_text=True)
    video = doc(vid)
    assert video.status == "uploading" and video.version == 0


@pytest.mark.parametrize("case, status, code", [
    ("wrong secret", 401, "invalid_signature"),
    ("altered payload", 401, "invalid_signature"),
    ("truncated signature", 401, "invalid_signature"),
    ("garbage signature", 401, "invalid_signature"),
    ("sha384 digest without prefix", 401, "invalid_signature"),
    ("missing signature", 401, "missing_signature"),
    ("missing transloadit", 400, "missing_field"),
    ("malformed JSON", 400, "invalid_payload"),
    ("no assembly id", 400, "invalid_payload"),
])
def test_forged_or_malformed_notifications_are_refused(notify, captured, new_video, case, status, code):
    vid = new_video()
    raw = json.dumps(status_for(captured, vid))
    good = sign(raw)
    if case == "wrong secret":
        resp = post(notify, raw, sign(raw, secret="not-our-secret"))
    elif case == "altered payload":
        resp = post(notify, raw.replace('"ASSEMBLY_COMPLETED"', '"ASSEMBLY_COMPLETED" '), good)
    elif case == "truncated signature":
        resp = post(notify, raw, good[:-10])
    elif case == "garbage signature":
        resp = post(notify, raw, "sha384:" + "\u00e9" * 96)
    elif case == "sha384 digest without prefix":
        resp = post(notify, raw, good.split(":", 1)[1])
    elif case == "missing signature":
        resp = post(notify, raw, None)
    elif case == "missing transloadit":
        resp = post(notify, None, good)
    elif case == "malformed JSON":
        broken = raw[: len(raw) // 2]
        resp = post(notify, broken, sign(broken))
    else:
        no_id = json.dumps({k: v for k, v in status_for(captured, vid).items() if k != "assembly_id"})
        resp = post(notify, no_id, sign(no_id))
    _refused(notify, vid, resp, status, code)


def test_wrong_content_type_and_method(notify, captured, new_video):
    vid = new_video()
    raw = json.dumps(status_for(captured, vid))
    as_json = notify.post("/", data=json.dumps({"transloadit": raw, "signature": sign(raw)}),
                          content_type="application/json")
    _refused(notify, vid, as_json, 400, "unsupported_content_type")
    get = notify.get("/")
    assert get.status_code == 405 and get.json["error"]["code"] == "method_not_allowed"


def test_stand_in_delivers_to_the_function_under_functions_framework(start_function, start_standin, captured,
                                                                      new_video, stack):
    """The wire form the stand-in really sends (urlencoded, sha384) is accepted by the deployed-style process."""
    url = start_function("transloadit_notify")
    vid = new_video()
    raw = json.dumps(status_for(captured, vid))
    resp = requests.post(url, data={"transloadit": raw, "signature": sign(raw)}, timeout=30)
    assert resp.status_code == 200 and resp.json()["result"] == "recorded"
    wait_for(lambda: doc(vid).status == "uploaded", what="record")
    forged = requests.post(url, data={"transloadit": raw, "signature": sign(raw, secret="x")}, timeout=30)
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_signature"


def test_status_fixture_is_a_real_copy(captured):
    """Guard: the cases above run on what the stand-in really produced (uploads, results, signed params)."""
    status = json.loads(captured[0])
    assert status["uploads"] and {"web", "thumbnail", "store_web", "store_thumbnail", "store_original"} <= set(status["results"])
    assert json.loads(status["params"])["fields"]["video_id"] == captured[1]

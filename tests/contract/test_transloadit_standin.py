"""Contract tests of the local TransloadIt stand-in, driven the way the real clients drive TransloadIt.

The local B2 (the strict B2 layer over moto, for /backblaze/store) and the stand-in run on free ports; uploads go through `tuspy` (the tus client
TransloadIt's Python SDK uses) and through raw tus requests shaped exactly like tus-js-client/Uppy's; the notify
POST lands on a small local receiver and its signature is checked with an independent HMAC.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from localdev.processes import Service, free_port, start
from localdev.transloadit.config import Settings
from localdev.transloadit.server import StandinServer
from standins.transloadit import (
    LocalS3,
    NotifyReceiver,
    make_test_video,
    parse_form,
    quiet_werkzeug,
    signed_params,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "local-transloadit-key", "local-transloadit-secret"
TEMPLATE = json.loads((ROOT / "functions" / "mam" / "transloadit_template.json").read_text())
TUS = {"Tus-Resumable": "1.0.0"}
pytestmark = pytest.mark.timeout(120)


# ---- fixtures ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def s3():
    """The local B2 (strict layer over moto, its own process) on a free port with the bucket; yields (endpoint,
    boto3 client, the environment that gives a stand-in process its endpoint and key)."""
    with LocalS3() as local:
        yield local.endpoint, local.client(), {
            "TRANSLOADIT_STANDIN_S3_ENDPOINT": local.endpoint, "TRANSLOADIT_STANDIN_S3_REGION": local.region,
            "TRANSLOADIT_STANDIN_S3_ACCESS_KEY": local.env()["B2_KEY_ID"],
            "TRANSLOADIT_STANDIN_S3_SECRET_KEY": local.env()["B2_APPLICATION_KEY"]}


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> str:
    return make_test_video(str(tmp_path_factory.mktemp("media") / "cat video.mp4"), seconds=2.0)


@pytest.fixture(scope="module")
def standin(s3):
    """The stand-in as the local stack runs it: `python -m localdev.transloadit --port N`, SSE on."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRANSLOADIT_STANDIN_NOTIFY_BACKOFF": "0.2", **s3[2]}
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "localdev.transloadit", "--port", str(port), "--sse"]
    with start(Service("transloadit", port, cmd, ready_url=url + "/health", start_seconds=20), env,
               ROOT / ".local" / "test-logs" / "contract-transloadit.log"):
        yield url


@pytest.fixture
def make_standin(s3):
    """An in-process stand-in with custom settings (notify encodings, retries, SSE off...)."""
    quiet_werkzeug()
    started: list[StandinServer] = []

    def make(**overrides) -> StandinServer:
        settings = Settings(s3_endpoint=s3[0], notify_backoff=0.05, notify_backoff_max=0.2, **overrides)
        server = StandinServer(settings).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


# ---- helpers ----------------------------------------------------------------------------------------------
def create(base: str, steps=None, *, video_id: str = "vid-1", notify_url: str | None = None, expected: int = 1,
           multipart: bool = False, headers: dict | None = None, **param_extra) -> requests.Response:
    extra = dict(param_extra)
    if notify_url:
        extra["notify_url"] = notify_url
    params, sig = signed_params(SECRET, KEY, steps if steps is not None else TEMPLATE["steps"],
                                fields={"video_id": video_id}, **extra)
    form = {"params": params, "signature": sig, "num_expected_upload_files": str(expected)}
    if multipart:  # what a browser FormData sends (Uppy)
        return requests.post(base + "/assemblies", files={k: (None, v) for k, v in form.items()}, headers=headers)
    return requests.post(base + "/assemblies", data=form, headers=headers)


def tus_upload(status: dict, path: str, chunk_size: int = 16 * 1024, **meta) -> str:
    from tusclient import client as tus

    uploader = tus.TusClient(status["tus_url"]).uploader(
        path, chunk_size=chunk_size,
        metadata={"assembly_url": status["assembly_url"], "fieldname": "file", "filename": os.path.basename(path),
                  **meta})
    uploader.upload()
    return uploader.url


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def poll(status_url: str, timeout: float = 60.0) -> dict:
    """Poll like Uppy until the assembly leaves UPLOADING/EXECUTING."""
    def done():
        body = requests.get(status_url, timeout=5).json()
        return body if body.get("ok") not in ("ASSEMBLY_UPLOADING", "ASSEMBLY_EXECUTING") else None

    return wait_until(done, timeout=timeout, interval=0.25, what="assembly to finish")


def independent_check(form: dict[str, str]) -> bool:
    """Verify a notification signature without the stand-in's code."""
    sig = form["signature"]
    algo, _, digest = sig.partition(":") if ":" in sig else ("sha1", "", sig)
    expected = hmac.new(SECRET.encode(), form["transloadit"].encode(), getattr(hashlib, algo)).hexdigest()
    return hmac.compare_digest(expected, digest)


# ---- the main flow ----------------------------------------------------------------------------------------
def test_tus_upload_runs_template_stores_in_s3_and_notifies_signed(standin, s3, video):
    endpoint, client, _ = s3
    with NotifyReceiver() as rx:
        resp = create(standin, video_id="vid-main", notify_url=rx.url)
        assert resp.status_code == 200, resp.text
        status = resp.json()
        # What @uppy/transloadit requires from the creation answer.
        assert status["ok"] == "ASSEMBLY_UPLOADING" and len(status["assembly_id"]) == 32
        for key in ("assembly_url", "assembly_ssl_url", "tus_url", "websocket_url", "update_stream_url"):
            assert status[key].startswith(standin), key
        assert status["uploads"] == [] and status["results"] == {}
        assert status["fields"] == {"video_id": "vid-main"} and status["expected_tus_uploads"] == 1

        upload_url = tus_upload(status, video)
        final = poll(status["assembly_ssl_url"])
        assert final["ok"] == "ASSEMBLY_COMPLETED", final
        assert final["bytes_received"] == final["bytes_expected"] == os.path.getsize(video)

        [upload] = final["uploads"]
        assert upload["tus_upload_url"] == upload_url and upload["is_tus_file"] is True
        assert upload["name"] == "cat video.mp4" and upload["size"] == os.path.getsize(video)
        assert upload["md5hash"] == hashlib.md5(Path(video).read_bytes()).hexdigest()
        assert abs(upload["meta"]["duration"] - 2.0) < 0.2
        assert (upload["meta"]["width"], upload["meta"]["height"]) == (320, 240)

        [web] = final["results"]["web"]
        assert web["meta"]["video_codec"] == "h264" and web["meta"]["audio_codec"] == "aac"
        assert web["original_id"] == upload["id"] and web["ext"] == "mp4"
        [thumb] = final["results"]["thumbnail"]
        assert thumb["mime"] == "image/jpeg" and thumb["meta"]["width"] <= 640
        stored = {step: final["results"][step][0]["ssl_url"] for step in ("store_original", "store_web", "store_thumbnail")}
        assert stored == {
            "store_original": f"{endpoint}/mam-local/uploads/vid-main/original/cat_video.mp4",
            "store_web": f"{endpoint}/mam-local/uploads/vid-main/web.mp4",
            "store_thumbnail": f"{endpoint}/mam-local/uploads/vid-main/thumbnail.jpg",
        }
        # Exported locations replace the processing results' URLs (as on TransloadIt).
        assert web["ssl_url"] == stored["store_web"]

        objects = {o["Key"]: o["Size"] for o in client.list_objects_v2(Bucket="mam-local", Prefix="uploads/vid-main/")["Contents"]}
        assert objects["uploads/vid-main/original/cat_video.mp4"] == os.path.getsize(video)
        web_obj = client.get_object(Bucket="mam-local", Key="uploads/vid-main/web.mp4")
        assert web_obj["ContentType"] == "video/mp4"
        data = web_obj["Body"].read()
        assert data.index(b"moov") < data.index(b"mdat"), "web MP4 must be faststart (moov before mdat)"
        thumb_obj = client.get_object(Bucket="mam-local", Key="uploads/vid-main/thumbnail.jpg")
        assert thumb_obj["Body"].read()[:3] == b"\xff\xd8\xff"

        [note] = rx.wait(1)
        assert note.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
        form = parse_form(note)
        assert form["signature"].startswith("sha384:") and independent_check(form)
        payload = json.loads(form["transloadit"])
        assert payload["ok"] == "ASSEMBLY_COMPLETED" and payload["assembly_id"] == status["assembly_id"]
        assert payload["fields"]["video_id"] == "vid-main"
        assert json.loads(payload["params"])["fields"] == {"video_id": "vid-main"}
        assert payload["results"]["store_web"][0]["ssl_url"] == stored["store_web"]
    after = requests.get(status["assembly_ssl_url"]).json()
    assert after["notify_status"] == "successful" and after["notify_response_code"] == 200


def test_uppy_shaped_requests_cors_and_polling(standin, video):
    """Multipart creation with Transloadit-Client, tus with Uppy's metadata and X-Request-ID, CORS answers."""
    origin = "http://127.0.0.1:9000"
    pre = requests.options(standin + "/assemblies", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "transloadit-client"})
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == origin
    assert "Transloadit-Client" in pre.headers["Access-Control-Allow-Headers"]
    resp = create(standin, multipart=True, headers={"Origin": origin, "Transloadit-Client": "uppy-core:5.2.0,uppy-transloadit:5.5.1,uppy-tus:5.1.1"})
    assert resp.status_code == 200 and resp.headers["Access-Control-Allow-Origin"] == origin
    status = resp.json()
    assert status["transloadit_client"].startswith("uppy-core:")

    tus_pre = requests.options(status["tus_url"], headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "tus-resumable,upload-length,upload-metadata,x-request-id"})
    allowed = tus_pre.headers["Access-Control-Allow-Headers"].lower()
    assert all(h in allowed for h in ("tus-resumable", "upload-length", "upload-metadata", "x-request-id", "upload-offset"))
    size = os.path.getsize(video)
    meta = {"assembly_url": status["assembly_url"], "fieldname": "file", "filename": "cat video.mp4",
            "name": "cat video.mp4", "type": "video/mp4", "filetype": "video/mp4", "relativePath": "null", "title": "Cats"}
    made = requests.post(status["tus_url"], headers={
        **TUS, "Origin": origin, "X-Request-ID": "r-1", "Upload-Length": str(size),
        "Upload-Metadata": ",".join(f"{k} {b64(v)}" for k, v in meta.items())})
    assert made.status_code == 201
    exposed = made.headers["Access-Control-Expose-Headers"]
    assert "Location" in exposed and "Upload-Offset" in exposed
    location = made.headers["Location"]
    assert location.startswith(status["tus_url"])
    # Uppy polls while the bytes go up: still UPLOADING, no uploads yet.
    assert requests.get(status["assembly_ssl_url"]).json()["ok"] == "ASSEMBLY_UPLOADING"
    patched = requests.patch(location, data=Path(video).read_bytes(), headers={
        **TUS, "Origin": origin, "X-Request-ID": "r-2", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert patched.status_code == 204 and patched.headers["Upload-Offset"] == str(size)
    final = poll(status["assembly_ssl_url"])
    [upload] = final["uploads"]
    assert upload["tus_upload_url"] == location  # how Uppy matches its file to the assembly's upload
    assert upload["user_meta"]["title"] == "Cats" and "assembly_url" not in upload["user_meta"]
    assert all(isinstance(r["id"], str) for rs in final["results"].values() for r in rs)


def test_tus_resume_after_interrupted_patch_and_protocol_errors(standin, video):
    status = create(standin).json()
    data = Path(video).read_bytes()
    meta = f"assembly_url {b64(status['assembly_url'])},filename {b64('clip.mp4')}"
    assert requests.post(status["tus_url"], headers={"Upload-Length": str(len(data))}).status_code == 412
    assert requests.post(status["tus_url"], headers={**TUS, "Upload-Length": "-1", "Upload-Metadata": meta}).status_code == 400
    assert requests.post(status["tus_url"], headers={**TUS, "Upload-Length": "5", "Upload-Metadata": "assembly_url !!"}).status_code == 400
    unknown = requests.post(status["tus_url"], headers={**TUS, "Upload-Length": "5",
                                                        "Upload-Metadata": f"assembly_url {b64('http://x/assemblies/nope')}"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "TUS_ASSEMBLY_NOT_FOUND"
    loc = requests.post(status["tus_url"], headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": meta}).headers["Location"]
    octet = {**TUS, "Content-Type": "application/offset+octet-stream"}
    assert requests.patch(loc, data=data[:10], headers={**TUS, "Upload-Offset": "0", "Content-Type": "text/plain"}).status_code == 415
    half = len(data) // 2
    assert requests.patch(loc, data=data[:half], headers={**octet, "Upload-Offset": "0"}).status_code == 204
    assert requests.patch(loc, data=data[half:], headers={**octet, "Upload-Offset": "3"}).status_code == 409
    head = requests.head(loc, headers=TUS)  # what tus-js-client does to resume
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(half)
    assert head.headers["Upload-Length"] == str(len(data)) and head.headers["Cache-Control"] == "no-store"
    too_long = requests.patch(loc, data=data[half:] + b"extra", headers={**octet, "Upload-Offset": str(half)})
    assert too_long.status_code == 400
    assert requests.head(loc, headers=TUS).headers["Upload-Offset"] == str(half)
    done = requests.patch(loc, data=data[half:], headers={**octet, "Upload-Offset": str(half)})
    assert done.status_code == 204 and done.headers["Upload-Offset"] == str(len(data))
    final = poll(status["assembly_ssl_url"])
    assert final["ok"] == "ASSEMBLY_COMPLETED"
    assert final["uploads"][0]["md5hash"] == hashlib.md5(data).hexdigest()
    # A finished assembly takes no more uploads; terminated/unknown upload URLs are 404.
    assert requests.post(status["tus_url"], headers={**TUS, "Upload-Length": "5", "Upload-Metadata": meta}).status_code == 400
    assert requests.head(status["tus_url"] + "0" * 32, headers=TUS).status_code == 404


def test_tus_termination_and_max_size(standin):
    status = create(standin, expected=1).json()
    meta = f"assembly_url {b64(status['assembly_url'])},filename {b64('a.bin')}"
    loc = requests.post(status["tus_url"], headers={**TUS, "Upload-Length": "100", "Upload-Metadata": meta}).headers["Location"]
    assert requests.delete(loc, headers=TUS).status_code == 204
    assert requests.head(loc, headers=TUS).status_code == 404
    assert requests.get(status["assembly_ssl_url"]).json()["started_tus_uploads"] == 0

    params, _ = signed_params(SECRET, KEY, TEMPLATE["steps"], fields={"video_id": "big"})
    params_obj = json.loads(params)
    params_obj["auth"]["max_size"] = 50
    raw = json.dumps(params_obj)
    from localdev.transloadit.signing import sign

    small = requests.post(standin + "/assemblies", data={"params": raw, "signature": sign(SECRET, raw), "num_expected_upload_files": "1"}).json()
    meta = f"assembly_url {b64(small['assembly_url'])},filename {b64('a.bin')}"
    too_big = requests.post(small["tus_url"], headers={**TUS, "Upload-Length": "100", "Upload-Metadata": meta})
    assert too_big.status_code == 413
    after = requests.get(small["assembly_ssl_url"]).json()
    assert after["error"] == "MAX_SIZE_EXCEEDED" and "ok" not in after


# ---- signature auth ("Require a correct Signature") -------------------------------------------------------
def _raw(expires: str | None = "future", key: str = KEY, nonce: str | None = None) -> str:
    from standins.transloadit import expires_in

    auth = {"key": key}
    if expires == "future":
        auth["expires"] = expires_in(600)
    elif expires is not None:
        auth["expires"] = expires
    if nonce:
        auth["nonce"] = nonce
    return json.dumps({"auth": auth, "steps": TEMPLATE["steps"], "fields": {"video_id": "x"}})


@pytest.mark.parametrize(
    "name, params, signer, status, error",
    [
        ("valid sha384", _raw(), "sha384", 200, None),
        ("valid legacy sha1", _raw(), "sha1", 200, None),
        ("valid ISO expires", _raw("2999-01-01T00:00:00.000Z"), "sha384", 200, None),
        ("no signature", _raw(), None, 401, "NO_SIGNATURE_FIELD"),
        ("wrong secret", _raw(), "wrong-secret", 401, "INVALID_SIGNATURE"),
        ("garbage signature", _raw(), "garbage", 401, "INVALID_SIGNATURE"),
        ("expired", _raw("2001/01/01 00:00:00+00:00"), "sha384", 401, "AUTH_EXPIRED"),
        ("no expires", _raw(None), "sha384", 401, "NO_AUTH_EXPIRES_PARAMETER"),
        ("unknown key", _raw(key="someone-else"), "sha384", 401, "GET_ACCOUNT_UNKNOWN_AUTH_KEY"),
        ("params not JSON", "{not json", "sha384", 400, "INVALID_PARAMS_FIELD"),
    ],
)
def test_assembly_signature_rules(standin, name, params, signer, status, error):
    from localdev.transloadit.signing import sign

    form = {"params": params, "num_expected_upload_files": "1"}
    if signer == "sha384":
        form["signature"] = sign(SECRET, params)
    elif signer == "sha1":
        form["signature"] = sign(SECRET, params, "sha1")
        assert len(form["signature"]) == 40
    elif signer == "wrong-secret":
        form["signature"] = sign("not-the-secret", params)
    elif signer == "garbage":
        form["signature"] = "sha384:zz"
    resp = requests.post(standin + "/assemblies", data=form)
    assert resp.status_code == status, resp.text
    if error:
        assert resp.json()["error"] == error and resp.json()["message"]


def test_signature_covers_exact_params_string_and_nonce_is_single_use(standin):
    from localdev.transloadit.signing import sign

    raw = _raw(nonce="n-" + os.urandom(4).hex())
    sig = sign(SECRET, raw)
    reserialised = json.dumps(json.loads(raw), separators=(",", ":"))  # same data, other bytes
    assert requests.post(standin + "/assemblies", data={"params": reserialised, "signature": sig}).json()["error"] == "INVALID_SIGNATURE"
    assert requests.post(standin + "/assemblies", data={"params": raw, "signature": sig}).status_code == 200
    again = requests.post(standin + "/assemblies", data={"params": raw, "signature": sig})
    assert again.status_code == 401 and again.json()["error"] == "SIGNATURE_REUSE_DETECTED"


@pytest.mark.parametrize(
    "steps, error",
    [
        ({"x": {"robot": "/image/resize", "use": ":original"}}, "INVALID_ROBOT"),
        ({"x": {"robot": "/video/encode", "use": ":original", "preset": "nope"}}, "VIDEO_ENCODE_VALIDATION"),
        ({"x": {"robot": "/video/encode", "use": ":original", "ffmpeg": {"i": "/etc/passwd"}}}, "VIDEO_ENCODE_VALIDATION"),
        ({"x": {"robot": "/video/thumbs", "use": ":original", "offsets": ["ten"]}}, "VIDEO_THUMBS_VALIDATION"),
        ({"x": {"robot": "/backblaze/store", "use": ":original", "credentials": "unknown"}}, "BACKBLAZE_STORE_VALIDATION"),
        ({"x": {"robot": "/backblaze/store", "use": "missing", "credentials": "b2"}}, "INVALID_STEP_USE"),
        ({}, "ASSEMBLY_NO_STEPS"),
    ],
)
def test_invalid_steps_are_refused_at_creation(standin, steps, error):
    resp = create(standin, steps)
    assert resp.status_code == 400 and resp.json()["error"] == error, resp.text


# ---- notifications ----------------------------------------------------------------------------------------
def test_notify_is_retried_with_backoff_until_2xx(make_standin, video):
    server = make_standin()
    with NotifyReceiver(responses=[500, 503]) as rx:
        status = create(server.url, notify_url=rx.url + "?video=1").json()
        tus_upload(status, video)
        notes = rx.wait(3)
        time.sleep(0.3)
        assert len(rx.received) == 3
        bodies = {n.body for n in notes}
        assert len(bodies) == 1, "every retry carries the same signed payload"
        assert notes[0].path == "/notify?video=1"
        # Backoff 0.05 s doubling, +-20 % jitter: the second wait is longer than the first.
        first_gap, second_gap = notes[1].at - notes[0].at, notes[2].at - notes[1].at
        assert first_gap >= 0.035 and second_gap >= 0.07, (first_gap, second_gap)
    final = requests.get(status["assembly_ssl_url"]).json()
    assert final["notify_status"] == "successful" and final["notify_response_code"] == 200


def test_notify_gives_up_after_bounded_attempts(make_standin, video):
    server = make_standin(notify_attempts=3)
    with NotifyReceiver(responses=[500] * 10) as rx:
        status = create(server.url, notify_url=rx.url).json()
        tus_upload(status, video)
        rx.wait(3)
        final = wait_until(lambda: (s := requests.get(status["assembly_ssl_url"]).json())["notify_response_code"] == 500
                           and s["notify_status"] == "failed" and s, what="notify to give up")
        time.sleep(0.5)
        assert len(rx.received) == 3
    assert final["ok"] == "ASSEMBLY_COMPLETED"


def test_multipart_notification_with_legacy_sha1_signature(make_standin, video):
    server = make_standin(notify_encoding="multipart", notify_signature="sha1")
    with NotifyReceiver() as rx:
        status = create(server.url, notify_url=rx.url).json()
        tus_upload(status, video)
        [note] = rx.wait(1)
    assert note.headers["Content-Type"].startswith("multipart/form-data")
    form = parse_form(note)
    assert len(form["signature"]) == 40 and ":" not in form["signature"] and independent_check(form)
    assert json.loads(form["transloadit"])["assembly_id"] == status["assembly_id"]


def test_cancel_ends_assembly_and_notifies(standin):
    with NotifyReceiver() as rx:
        status = create(standin, notify_url=rx.url).json()
        resp = requests.delete(status["assembly_ssl_url"], headers={"Transloadit-Client": "uppy"})
        assert resp.status_code == 200 and resp.json()["ok"] == "ASSEMBLY_CANCELED"
        [note] = rx.wait(1)
        assert json.loads(parse_form(note)["transloadit"])["ok"] == "ASSEMBLY_CANCELED"
    assert requests.get(standin + "/assemblies/" + "f" * 32).status_code == 404


def test_cancel_racing_execution_notifies_exactly_once(make_standin, video):
    server = make_standin()
    with NotifyReceiver() as rx:
        status = create(server.url, notify_url=rx.url).json()
        tus_upload(status, video)
        requests.delete(status["assembly_ssl_url"], timeout=10)  # while (or just after) the steps run
        [note] = rx.wait(1)
        time.sleep(1.5)  # let a would-be second notification arrive
        assert len(rx.received) == 1
    final = json.loads(parse_form(note)["transloadit"])["ok"]
    assert final in ("ASSEMBLY_CANCELED", "ASSEMBLY_COMPLETED")
    assert requests.get(status["assembly_ssl_url"]).json()["ok"] == final


def test_non_video_upload_completes_without_renditions(standin, s3, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_bytes(b"this is not a video at all\n" * 50)
    status = create(standin, video_id="vid-text").json()
    tus_upload(status, str(text))
    final = poll(status["assembly_ssl_url"])
    assert final["ok"] == "ASSEMBLY_COMPLETED"
    assert "web" not in final["results"] and "thumbnail" not in final["results"]
    assert final["uploads"][0]["meta"] == {}
    assert any("no video stream" in w["msg"] for w in final["warnings"])
    assert "store_original" in final["results"]


# ---- list, replay, SSE ------------------------------------------------------------------------------------
def test_list_by_keyword_and_replay_notification(standin, video):
    with NotifyReceiver() as rx:
        status = create(standin, video_id="vid-findme", notify_url=rx.url).json()
        tus_upload(status, video)
        rx.wait(1)
        params, sig = signed_params(SECRET, KEY, None, keywords=["vid-findme"])
        listed = requests.get(standin + "/assemblies", params={"params": params, "signature": sig})
        assert listed.status_code == 200
        assert [i["id"] for i in listed.json()["items"]] == [status["assembly_id"]]
        bad = requests.get(standin + "/assemblies", params={"params": params, "signature": "sha384:00"})
        assert bad.status_code == 401
        params, sig = signed_params(SECRET, KEY, None)
        replay = requests.post(f"{standin}/assembly_notifications/{status['assembly_id']}/replay",
                               data={"params": params, "signature": sig})
        assert replay.status_code == 200 and replay.json()["ok"] == "ASSEMBLY_NOTIFICATION_REPLAYED"
        first, second = rx.wait(2)
        # A replay carries the same assembly again (receivers must be idempotent), freshly signed.
        one, two = (json.loads(parse_form(n)["transloadit"]) for n in (first, second))
        assert independent_check(parse_form(second))
        strip = lambda d: {k: v for k, v in d.items() if not k.startswith("notify_")}
        assert strip(one) == strip(two)


def test_server_sent_events_carry_the_whole_sequence(standin, video):
    status = create(standin).json()
    stream = requests.get(status["websocket_url"], params={"assembly": status["assembly_id"]}, stream=True, timeout=30)
    assert stream.status_code == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    tus_upload(status, video)
    text = stream.text  # the server ends the stream after assembly_finished
    names = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith(("event: ", "data: assembly_"))]
    assert names[0] == "assembly_upload_finished"
    for expected in ("assembly_uploading_finished", "assembly_upload_meta_data_extracted", "assembly_result_finished",
                     "assembly_execution_progress"):
        assert expected in names
    assert names[-1] == "assembly_finished"
    # A reconnect with Last-Event-ID replays nothing already seen.
    last_id = [line for line in text.splitlines() if line.startswith("id: ")][-1][4:]
    again = requests.get(status["websocket_url"], params={"assembly": status["assembly_id"]},
                         headers={"Last-Event-ID": last_id}, timeout=10)
    assert "data:" not in again.text


def test_sse_off_answers_204_so_uppy_keeps_polling(make_standin):
    server = make_standin(sse=False)
    status = create(server.url).json()
    assert urlparse(status["websocket_url"]).netloc == urlparse(server.url).netloc
    resp = requests.get(status["websocket_url"], params={"assembly": status["assembly_id"]}, timeout=5)
    assert resp.status_code == 204

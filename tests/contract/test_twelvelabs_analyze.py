"""Contract tests of the local Twelve Labs' `analyze` (sync JSON, NDJSON stream, async tasks with webhooks),
driven by the official `twelvelabs` SDK 1.3.x: answers come from what the stand-in extracts from a made video
(scene cuts, speech, captions) and follow the JSON schema given; refusals follow the SDK 1.3.6 docs."""
from __future__ import annotations

import hashlib
import hmac
import http.server
import itertools
import json
import threading
import time
from typing import ClassVar

import jsonschema
import pytest
from standins.twelvelabs import StandIn, make_scenes, make_video, serve_dir
from twelvelabs import TwelveLabs
from twelvelabs.core.api_error import ApiError
from twelvelabs.errors import BadRequestError, ConflictError, NotFoundError

pytestmark = pytest.mark.timeout(180)

SECRET = "whsec-analyze-test"
SEGMENT = {"type": "object", "properties": {"start": {"type": "number"}, "end": {"type": "number"},
                                            "title": {"type": "string"}, "summary": {"type": "string"}},
           "required": ["start", "end", "title", "summary"]}
# the kind of schema our insights ask for (spec: summary, chapters, highlights, title, topics, hashtags)
INSIGHT_SCHEMA = {"type": "object", "properties": {
    "summary": {"type": "string"}, "chapters": {"type": "array", "items": SEGMENT},
    "highlights": {"type": "array", "items": SEGMENT}, "title": {"type": "string"},
    "topics": {"type": "array", "items": {"type": "string"}}, "hashtags": {"type": "array", "items": {"type": "string"}}},
    "required": ["summary", "chapters", "highlights", "title", "topics", "hashtags"]}
SCENES = [("The fishing boats rest in the harbour.", "HARBOUR", "navy"),
          ("Fresh bread is sold at the old market.", "MARKET", "darkorange"),
          ("The castle stands on the green hill.", "CASTLE", "darkgreen")]


class _Receiver(http.server.BaseHTTPRequestHandler):
    got: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).got.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("analyze-media")
    _, cuts = make_scenes(d / "tour.mp4", SCENES)
    make_video(d / "single.mp4", "Whales swim near the ocean coast at sunset.", "BLUE WHALE", seconds=5,
               color="teal")
    make_video(d / "blink.mp4", "", "", seconds=0.6)
    return {"dir": d, "cuts": cuts}


@pytest.fixture(scope="module")
def receiver():
    _Receiver.got = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver.got
    server.shutdown()


@pytest.fixture(scope="module")
def standin(receiver, tmp_path_factory):
    log = tmp_path_factory.mktemp("tllog") / "standin.log"
    with StandIn("--analyze-seconds", "1.5", "--index-seconds", "1", "--workers", "2", "--webhook-url", receiver[0],
                 "--webhook-secret", SECRET, log_path=str(log)) as s:
        yield s


@pytest.fixture(scope="module")
def files(media):
    with serve_dir(media["dir"]) as base:
        yield base


@pytest.fixture(scope="module")
def client(standin):
    return TwelveLabs(api_key=standin.api_key, base_url=standin.base_url, timeout=120)


def video(files: str, name: str) -> dict:
    return {"type": "url", "url": f"{files}/{name}"}


@pytest.fixture(scope="module")
def tour(client, files):
    """The sync answer for the three-scene video (one analysis; later calls hit the SHA-256 cache)."""
    started = time.monotonic()
    resp = client.analyze(video=video(files, "tour.mp4"), model_name="pegasus1.5", prompt="Describe the video.",
                          response_format={"type": "json_schema", "json_schema": INSIGHT_SCHEMA})
    return resp, time.monotonic() - started


# ---- sync --------------------------------------------------------------------------------------------------
def test_sync_answer_is_schema_valid_and_its_chapters_follow_the_scene_cuts(tour, media):
    resp, _ = tour
    assert resp.finish_reason == "stop" and resp.usage.output_tokens > 0 and resp.id
    data = json.loads(resp.data)
    jsonschema.validate(data, INSIGHT_SCHEMA)
    assert list(data) == list(INSIGHT_SCHEMA["properties"])  # properties come back in declaration order
    chapters = data["chapters"]
    assert len(chapters) == len(SCENES)
    starts = [c["start"] for c in chapters]
    assert starts[0] == 0 and all(abs(s - cut) < 0.3 for s, cut in zip(starts[1:], media["cuts"], strict=True))
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(chapters))  # contiguous, no overlap
    # each chapter is titled by the caption shown in that scene (tesseract), not by a canned label
    assert [c["title"].lower() for c in chapters] == [caption.lower() for _, caption, _ in SCENES]
    assert all(c["summary"] for c in chapters) and data["summary"]
    assert {"harbour", "market", "castle"} <= set(data["topics"])
    assert all(h.startswith("#") and " " not in h for h in data["hashtags"])
    assert 1 <= len(data["highlights"]) <= 3 and all(h["start"] < h["end"] for h in data["highlights"])


def test_another_video_gets_its_own_answer(client, files, tour):
    one = json.loads(client.analyze(video=video(files, "single.mp4"),
                                    response_format={"type": "json_schema", "json_schema": INSIGHT_SCHEMA}).data)
    tour_data = json.loads(tour[0].data)
    assert len(one["chapters"]) == 1 and one["chapters"][0]["start"] == 0 and one["chapters"][0]["end"] > 4
    assert one["summary"] != tour_data["summary"] and one["title"].lower() == "blue whale"


def test_any_schema_is_honoured(client, files, tour):
    odd = {"type": "object", "properties": {
        "headline": {"type": "string"}, "scene_count": {"type": "integer", "minimum": 1},
        "has_speech": {"type": "boolean"}, "mood": {"enum": ["harbour", "desert"]},
        "when": {"type": "timestamp", "format": "hh:mm:ss"}, "maybe": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "scenes": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/part"}},
        "unknown_thing": {"type": "string"}},
        "required": ["headline"], "$defs": {"part": {"type": "object", "properties": {
            "start_time": {"type": "string"}, "end_time": {"type": "integer"}, "label": {"type": "string"}}}}}
    data = json.loads(client.analyze(video=video(files, "tour.mp4"),
                                     response_format={"type": "json_schema", "json_schema": odd}).data)
    assert data["scene_count"] == 3 and data["has_speech"] is True and data["mood"] == "harbour"
    assert data["when"] == "00:00:00" and isinstance(data["maybe"], float) and data["unknown_thing"]
    assert [s["label"].lower() for s in data["scenes"]] == ["harbour", "market", "castle"]
    assert data["scenes"][1]["start_time"].startswith("00:00:0") and isinstance(data["scenes"][0]["end_time"], int)


def test_stream_sends_the_same_answer_as_ndjson_events(client, files, tour):
    events = list(client.analyze_stream(video=video(files, "tour.mp4"), model_name="pegasus1.5",
                                        response_format={"type": "json_schema", "json_schema": INSIGHT_SCHEMA}))
    assert events[0].event_type == "stream_start" and events[-1].event_type == "stream_end"
    texts = [e.text for e in events[1:-1]]
    assert len(texts) > 1 and all(e.event_type == "text_generation" for e in events[1:-1])
    assert json.loads("".join(texts)) == json.loads(tour[0].data)
    end = events[-1]
    assert end.finish_reason == "stop" and end.metadata.generation_id == events[0].metadata.generation_id
    assert end.metadata.usage.output_tokens > 0


def test_plain_text_answer_and_max_tokens_truncation(client, files, tour):
    text = client.analyze(video=video(files, "tour.mp4"), prompt="List the chapters.")
    assert text.finish_reason == "stop" and text.data.count("\n") == 2 and "Harbour" in text.data
    cut = client.analyze(video=video(files, "tour.mp4"), response_format={"type": "json_schema",
                                                                         "json_schema": INSIGHT_SCHEMA}, max_tokens=10)
    assert cut.finish_reason == "length" and cut.usage.output_tokens == 10 and cut.error.message
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.data)


# ---- refusals ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("keyword", [{"minLength": 1}, {"maxLength": 9}])
def test_string_length_constraints_are_refused_with_422(client, files, keyword):
    schema = {"type": "object", "properties": {"summary": {"type": "string", **keyword}}}
    with pytest.raises(ApiError) as err:
        client.analyze(video=video(files, "tour.mp4"), response_format={"type": "json_schema", "json_schema": schema})
    assert err.value.status_code == 422 and "not supported" in err.value.body["message"]


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
    {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}, "maxItems": 3}}},
    {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}}},
    {"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}, {"type": "number"}]}}},
])
def test_unsupported_schema_keywords_are_refused(client, files, schema):
    with pytest.raises(ApiError) as err:
        client.analyze(video=video(files, "tour.mp4"), response_format={"type": "json_schema", "json_schema": schema})
    assert err.value.status_code == 422


def test_refusals_of_the_request_itself(client, files):
    url = video(files, "tour.mp4")
    cases = [
        ({"video": url, "image": [{"name": "a", "url": "https://example.com/a.jpg"}], "prompt": "x"}, "parameter_invalid"),
        ({"prompt": "no media"}, "parameter_not_provided"),
        ({"video": url, "model_name": "pegasus1.2"}, "parameter_invalid"),
        ({"video": {"type": "url", "url": "ftp://example.com/v.mp4"}}, "parameter_invalid"),
        ({"video": {"type": "url", "url": "https://example.com/v.mp4"}}, "parameter_invalid"),  # loopback only
        ({"video": url, "temperature": 1.5}, "parameter_invalid"),
        ({"video": url, "start_time": 3, "end_time": 3.5}, "parameter_invalid"),
        ({"video": url, "response_format": {"type": "json_schema", "json_schema": {
            "type": "object", "properties": {"at": {"type": "timestamp"}}}}}, "parameter_invalid"),
        ({"video": video(files, "blink.mp4")}, "video_duration_too_short"),
        ({"video": video(files, "missing.mp4")}, "video_url_unreachable"),
    ]
    for kwargs, code in cases:
        with pytest.raises(BadRequestError) as err:
            client.analyze(**kwargs)
        assert err.value.body["code"] == code, kwargs


def test_unknown_asset_is_404(client):
    with pytest.raises(NotFoundError):
        client.analyze(video={"type": "asset_id", "asset_id": "0" * 24})


# ---- async tasks -------------------------------------------------------------------------------------------
def wait_task(client, task_id: str, timeout: float = 60.0):
    seen: list[str] = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        task = client.analyze_async.tasks.retrieve(task_id)
        if not seen or seen[-1] != task.status:
            seen.append(task.status)
        if task.status in ("ready", "failed", "canceled"):
            return task, seen
        time.sleep(0.1)
    raise AssertionError(f"analysis task {task_id} not done: {seen}")


def _webhook(receiver, task_id: str, timeout: float = 10.0) -> tuple[dict, dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for headers, body in list(receiver[1]):
            event = json.loads(body)
            if event["data"]["id"] == task_id:
                return headers, event | {"_raw": body}
        time.sleep(0.1)
    raise AssertionError(f"no webhook for {task_id}")


def test_async_task_runs_its_lifecycle_and_calls_the_webhook(client, files, receiver, tour):
    created = client.analyze_async.tasks.create(video=video(files, "tour.mp4"), custom_id="insights-1",
                                                response_format={"type": "json_schema", "json_schema": INSIGHT_SCHEMA})
    assert created.status == "queued"
    with pytest.raises(ConflictError):  # not while it runs
        client.analyze_async.tasks.delete(created.task_id)
    task, seen = wait_task(client, created.task_id)
    assert seen[0] == "queued" and seen[-1] == "ready" and "processing" in seen
    assert task.custom_id == "insights-1" and task.completed_at >= task.created_at
    assert json.loads(task.result.data) == json.loads(tour[0].data) and task.result.finish_reason == "stop"
    assert task.video_source.url.endswith("/tour.mp4") and task.video_source.system_metadata.duration > 15
    headers, event = _webhook(receiver, created.task_id)
    t, v1 = (p.split("=", 1)[1] for p in headers["TL-Signature"].split(","))
    assert hmac.compare_digest(v1, hmac.new(SECRET.encode(), f"{t}.".encode() + event["_raw"],
                                            hashlib.sha256).hexdigest())
    assert event["type"] == "analyze.task.ready" and event["data"]["status"] == "ready"
    assert event["data"]["custom_id"] == "insights-1" and "result" not in event["data"]
    listed = client.analyze_async.tasks.list(status="ready")
    assert created.task_id in [t.task_id for t in listed.data]
    client.analyze_async.tasks.delete(created.task_id)
    with pytest.raises(NotFoundError):
        client.analyze_async.tasks.retrieve(created.task_id)


def test_async_task_fails_with_a_reason_and_a_failed_webhook(client, files, receiver):
    created = client.analyze_async.tasks.create(video=video(files, "blink.mp4"), prompt="Summarize.")
    task, seen = wait_task(client, created.task_id)
    assert seen[-1] == "failed" and task.error.message and task.result is None
    _, event = _webhook(receiver, created.task_id)
    assert event["type"] == "analyze.task.failed" and event["data"]["error"]["message"]


def test_async_refusals(client, files):
    with pytest.raises(BadRequestError) as err:
        client.analyze_async.tasks.create(video=video(files, "tour.mp4"), max_tokens=100)  # general: 512 at least
    assert err.value.body["code"] == "parameter_invalid"
    with pytest.raises(BadRequestError):
        client.analyze_async.tasks.create(video=video(files, "tour.mp4"), custom_id="not ok!")


# ---- transcript of an indexed video; call accounting --------------------------------------------------------
def test_transcription_of_an_indexed_video_and_calls_in_stats(client, files, standin, tour):
    idx = client.indexes.create(index_name=f"analyze-{time.time_ns()}",
                                models=[{"model_name": "marengo3.0", "model_options": ["visual", "audio"]}])
    task = client.tasks.create(index_id=idx.id, video_url=f"{files}/tour.mp4")
    deadline = time.time() + 60
    while client.tasks.retrieve(task.id).status not in ("ready", "failed") and time.time() < deadline:
        time.sleep(0.2)
    got = client.indexes.videos.retrieve(idx.id, task.video_id, transcription=True)
    segments = got.transcription
    assert len(segments) >= 3 and all(s.start < s.end and s.value for s in segments)
    assert [s.start for s in segments] == sorted(s.start for s in segments)
    calls = next(iter(standin.admin("GET", "/stats").json()["calls"].values()))
    assert calls["POST /analyze"] >= 1 and calls["GET /indexes/<index_id>/videos/<video_id>"] >= 1

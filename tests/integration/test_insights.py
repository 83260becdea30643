"""Video intelligence against the real local parts: index_videos, index_tasks, insight_tasks and library under
functions-framework, the Firestore, Cloud Tasks and Auth emulators, moto as B2 and the local Twelve Labs (analyze,
transcripts, faults), driven over HTTP as the front end, Cloud Tasks and Twelve Labs call them.

One video is indexed for the module (Ready -> its insights are queued by the indexing worker, once); the failure
paths then regenerate it with a fault set in the stand-in, so each case costs one analysis, not one indexing.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from conftest import LOGS, wait_for
from standins.twelvelabs import StandIn, make_video

from localdev import auth_users, processes
from localdev.processes import free_port
from localdev.stack import grants

pytestmark = pytest.mark.timeout(300)

SECRET = "insights-test-webhook-secret"
LIMIT = 50  # INSIGHTS_DAILY_LIMIT of this module's functions
TAG = uuid.uuid4().hex[:6]
MEMBER = f"member-{TAG}@example.com"
STRANGER = f"stranger-{TAG}@example.org"
NAMES = ("index_videos", "index_tasks", "insight_tasks", "library")


class Functions:
    """The four functions on free ports, pointed at each other and at this module's stand-in, each with only the
    environment it gets deployed."""

    def __init__(self, stack, settings: dict[str, str], secrets: dict[str, str]):
        ports = {n: free_port() for n in NAMES}
        self.url = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
        settings = {**settings, **{f"FUNCTION_URL_{n.upper()}": u for n, u in self.url.items()}}
        LOGS.mkdir(parents=True, exist_ok=True)
        self.procs = []
        for name in NAMES:
            granted = {k: v for k, v in secrets.items() if k in grants(name)}
            service = stack.function(name, ports[name], overrides={**settings, **granted})
            self.procs.append(processes.start(service, service.env, LOGS / f"test-insights-{name}.log"))

    def stop(self) -> None:
        for p in self.procs:
            p.stop()


@pytest.fixture(scope="module")
def twelvelabs():
    with StandIn("--index-seconds", "1", "--analyze-seconds", "1",
                 log_path=str(LOGS / "test-twelvelabs-insights.log")) as s:
        yield s


@pytest.fixture(scope="module")
def fns(emulators, stack, twelvelabs):
    settings = {"TWELVELABS_BASE_URL": twelvelabs.base_url,
                "TWELVELABS_INDEX_NAME": f"insights-test-{uuid.uuid4().hex[:8]}",
                "INSIGHTS_DAILY_LIMIT": str(LIMIT), "ADMIN_EMAILS": "demo@example.com",
                "MEMBER_EMAILS": f"demo@example.com,{MEMBER}"}
    f = Functions(stack, settings, {"TWELVELABS_API_KEY": twelvelabs.api_key, "TWELVELABS_WEBHOOK_SECRET": SECRET})
    yield f
    f.stop()


@pytest.fixture(scope="module")
def tokens(stack, auth_emulator) -> dict[str, str]:
    out = {}
    for role, email in (("member", MEMBER), ("stranger", STRANGER)):
        auth_users.ensure_user(stack, email, "pass-word-1")
        out[role] = auth_users.sign_in(stack, email, "pass-word-1")["idToken"]
    return out


@pytest.fixture(autouse=True)
def _reset_standin(twelvelabs):
    twelvelabs.admin("DELETE", "/faults")
    twelvelabs.admin("PUT", "/webhook", json={"url": None})
    yield
    twelvelabs.admin("DELETE", "/faults")


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    path = make_video(tmp_path_factory.mktemp("insights") / "harbour.mp4", caption="Harbour tour",
                      speech="Welcome to the harbour. The fishing boats leave at dawn.", seconds=6)
    with open(path, "rb") as fh:
        return fh.read()


def new_video(clip_bytes: bytes, title: str = "Harbour tour", **fields) -> str:
    """A stored video as an upload leaves it (file in B2, record in Firestore)."""
    from mam import store
    from mam.clients import b2
    from mam.settings import load_settings
    from mam.videos import Video

    vid = uuid.uuid4().hex[:20]
    key = f"uploads/{vid}/original/clip.mp4"
    b2.put_bytes(load_settings("b2").b2, key, clip_bytes, "video/mp4")
    fields.setdefault("status", "uploaded")
    store.create_video(Video(id=vid, title=title, owner="demo@example.com", b2_original=key, **fields))
    return vid


def auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def insights(fns, vid: str, token: str | None = None) -> requests.Response:
    return requests.get(f"{fns.url['library']}/videos/{vid}/insights", headers=auth(token), timeout=30)


def regenerate(fns, vid: str, token: str | None) -> requests.Response:
    return requests.post(f"{fns.url['library']}/videos/{vid}/insights", headers=auth(token), timeout=30)


def record(vid: str):
    from mam.store import insights as store

    return store.get(vid)


def wait_state(vid: str, states: tuple[str, ...], timeout: float = 60):
    return wait_for(lambda: (r := record(vid)) is not None and r.state in states and r, timeout=timeout,
                    what=f"insights of {vid} in {states}")


def tl_calls(twelvelabs) -> dict[str, int]:
    calls = twelvelabs.admin("GET", "/stats").json()["calls"]
    return next(iter(calls.values()), {}) if calls else {}


@pytest.fixture(scope="module")
def ready_video(fns, twelvelabs, clip_bytes, demo_token, firestore):
    """One video indexed through index_videos: Ready, and its insights made once by the tasks it queued."""
    from mam import store

    vid = new_video(clip_bytes)
    resp = requests.post(f"{fns.url['index_videos']}/index", json={"ids": [vid]}, headers=auth(demo_token),
                         timeout=30)
    assert resp.status_code == 202, resp.text
    v = wait_for(lambda: (x := store.get_video(vid)) and x.status in ("ready", "failed") and x, timeout=90,
                 what="video indexed")
    assert v.status == "ready", v.status_reason
    wait_state(vid, ("ready", "failed", "skipped"), timeout=120)
    return vid


# ---- the normal path ------------------------------------------------------------------------------------------
def test_a_ready_video_gets_its_insights_once_with_one_analyze_and_one_retrieve(fns, twelvelabs, ready_video):
    from mam import store

    r = record(ready_video)
    assert r.state == "ready", r.message
    assert r.calls == {"retrieve": 1, "analyze": 1}  # the cost target: 1 + 1 per video
    assert tl_calls(twelvelabs).get("POST /analyze") == 1
    body = insights(fns, ready_video).json()
    assert set(body) == {"video_id", "state", "message", "generated_at", "summary", "title_suggestion", "topics",
                         "hashtags", "chapters", "highlights", "transcript", "can_regenerate"}
    assert body["state"] == "ready" and body["summary"] and body["generated_at"]
    assert body["can_regenerate"] is False  # anonymous
    assert body["transcript"] and any("harbour" in s["text"].lower() for s in body["transcript"])
    v = store.get_video(ready_video)
    for c in body["chapters"]:
        assert 0 <= c["start"] < c["end"] <= (v.duration or 1e9) + 0.01
    assert [c["start"] for c in body["chapters"]] == sorted(c["start"] for c in body["chapters"])
    # tags come from the generated topics and hashtags (the owner never edited them)
    from mam.insights import tags

    assert v.tags == tags.suggested(r.topics, r.hashtags) and not v.tags_edited
    detail = requests.get(f"{fns.url['library']}/videos/{ready_video}", timeout=30).json()
    assert detail["tags"] == v.tags

    # Ready seen again (a webhook replay, a late poll): nothing new is queued
    from mam.insights import start

    assert start.queue_run(v) is None
    time.sleep(1)
    assert record(ready_video).run == r.run and tl_calls(twelvelabs).get("POST /analyze") == 1

    vtt = requests.get(f"{fns.url['library']}/videos/{ready_video}/captions.vtt", timeout=30)
    assert vtt.status_code == 200 and vtt.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert vtt.headers["Content-Disposition"] == 'attachment; filename="Harbour tour.vtt"'
    assert vtt.text.startswith("WEBVTT\n\n1\n00:00:") and "-->" in vtt.text


def test_search_clips_name_their_chapter(fns, ready_video):
    r = record(ready_video)
    assert r.chapters, "the stand-in's analysis gave no chapters"
    found = requests.get(f"{fns.url['library']}/search", params={"q": "harbour"}, timeout=60)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["kind"] == "text"
    hit = next(x for x in body["results"] if x["video"]["id"] == ready_video)
    for clip in hit["clips"]:
        chapter = clip["chapter"]
        assert chapter is not None and chapter["start"] <= clip["start"] < chapter["end"]
        assert r.chapters[chapter["index"]]["title"] == chapter["title"]


def test_missing_video_and_transcript_answers(fns, clip_bytes):
    assert insights(fns, "no-such-video").status_code == 404
    vid = new_video(clip_bytes)  # stored, not indexed
    body = insights(fns, vid).json()
    assert body["state"] == "none" and body["message"].endswith(".") and body["transcript"] == []
    resp = requests.get(f"{fns.url['library']}/videos/{vid}/captions.vtt", timeout=30)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "no_transcript"


# ---- regenerate: who may, and when ----------------------------------------------------------------------------
def test_regenerate_permissions_and_conflicts(fns, twelvelabs, ready_video, clip_bytes, demo_token, tokens):
    assert regenerate(fns, ready_video, None).status_code == 401
    assert regenerate(fns, ready_video, tokens["stranger"]).json()["error"]["code"] == "not_a_member"
    other = regenerate(fns, ready_video, tokens["member"])  # a member, not the uploader
    assert other.status_code == 403 and other.json()["error"]["code"] == "not_owner"
    assert insights(fns, ready_video, tokens["member"]).json()["can_regenerate"] is False
    assert insights(fns, ready_video, demo_token).json()["can_regenerate"] is True
    not_ready = new_video(clip_bytes)
    resp = regenerate(fns, not_ready, demo_token)
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "not_ready"

    # tags the owner (here an admin) edited are never replaced by generated ones
    edited = requests.patch(f"{fns.url['library']}/videos/{ready_video}", json={"tags": ["#Harbour", "Boats"]},
                            headers=auth(demo_token), timeout=30)
    assert edited.status_code == 200 and edited.json()["tags"] == ["harbour", "boats"]
    before = record(ready_video)
    analyses = tl_calls(twelvelabs).get("POST /analyze", 0)
    resp = regenerate(fns, ready_video, demo_token)  # the admin
    assert resp.status_code == 202, resp.text
    assert resp.json()["state"] == "queued" and resp.json()["can_regenerate"] is False
    again = regenerate(fns, ready_video, demo_token)
    assert again.status_code == 409 and again.json()["error"]["code"] == "insights_running"
    after = wait_state(ready_video, ("ready", "failed"))
    assert after.state == "ready" and after.run == before.run + 1
    assert after.calls == {"retrieve": 1, "analyze": 1}
    assert tl_calls(twelvelabs).get("POST /analyze", 0) == analyses + 1
    from mam import store

    assert store.get_video(ready_video).tags == ["harbour", "boats"]


def test_a_video_shorter_than_four_seconds_is_skipped_without_a_call(fns, twelvelabs, clip_bytes, demo_token):
    vid = new_video(clip_bytes, status="ready", tl_video_id="tl-short-video", duration=3.2)
    before = tl_calls(twelvelabs)
    resp = regenerate(fns, vid, demo_token)
    assert resp.status_code == 202 and resp.json()["state"] == "skipped"
    assert "4 seconds" in resp.json()["message"]
    time.sleep(1)
    assert tl_calls(twelvelabs) == before  # nothing asked of Twelve Labs


# ---- failures --------------------------------------------------------------------------------------------------
def test_rate_limited_with_retry_after_then_ready(fns, twelvelabs, ready_video, demo_token):
    fired = twelvelabs.admin("GET", "/stats").json()["faults_fired"]
    twelvelabs.admin("POST", "/faults", json={"method": "POST", "path": "/analyze", "status": 429, "times": 1,
                                              "retry_after": 2})
    assert regenerate(fns, ready_video, demo_token).status_code == 202
    busy = wait_for(lambda: (r := record(ready_video)) and (r.message or "").startswith("Twelve Labs is busy") and r,
                    timeout=30, what="busy message")
    assert busy.state in ("generating", "queued")
    seen = time.monotonic()
    done = wait_state(ready_video, ("ready", "failed"))
    assert done.state == "ready" and done.message is None
    assert time.monotonic() - seen >= 1.0  # Retry-After (2 s) honoured, not retried at once
    assert done.calls["analyze"] == 2 and twelvelabs.admin("GET", "/stats").json()["faults_fired"] == fired + 1


def test_unavailable_until_the_deadline_ends_failed_with_a_sentence(fns, twelvelabs, ready_video, demo_token):
    from mam.insights import states
    from mam.store import insights as store

    twelvelabs.admin("POST", "/faults", json={"method": "POST", "path": "/analyze", "status": 503, "times": 100})
    assert regenerate(fns, ready_video, demo_token).status_code == 202
    wait_for(lambda: (r := record(ready_video)) and "unavailable" in (r.message or "") and r, timeout=30,
             what="unavailable message")
    # the run has been going for longer than the deadline (rather than waiting two hours for it)
    store.update(ready_video, lambda i: setattr(i, "started_at", i.started_at.replace(year=2020)) or True)
    done = wait_state(ready_video, ("ready", "failed"), timeout=40)  # the next retry (<= 20 s away) ends it
    assert done.state == "failed" and done.message == states.TIMED_OUT
    body = insights(fns, ready_video, demo_token).json()
    assert body["state"] == "failed" and body["message"] == states.TIMED_OUT and body["can_regenerate"] is True
    assert body["summary"]  # the previous summary stays
    calls = tl_calls(twelvelabs).get("POST /analyze")
    time.sleep(6)
    assert tl_calls(twelvelabs).get("POST /analyze") == calls  # and the chain stopped


def test_an_unreadable_answer_is_tried_once_more_then_fails(fns, twelvelabs, ready_video, demo_token):
    from mam.insights import states

    # a 200 whose body has no generated text (data missing): not JSON following our schema
    twelvelabs.admin("POST", "/faults", json={"method": "POST", "path": "/analyze", "status": 200, "times": 1})
    assert regenerate(fns, ready_video, demo_token).status_code == 202
    done = wait_state(ready_video, ("ready", "failed"))
    assert done.state == "ready" and done.bad_outputs == 1 and done.calls["analyze"] == 2

    twelvelabs.admin("POST", "/faults", json={"method": "POST", "path": "/analyze", "status": 200, "times": 2})
    assert regenerate(fns, ready_video, demo_token).status_code == 202
    done = wait_state(ready_video, ("ready", "failed"))
    assert done.state == "failed" and done.message == states.UNREADABLE and done.calls["analyze"] == 2


def test_the_daily_cap_makes_runs_wait_for_the_next_utc_day(fns, twelvelabs, ready_video, clip_bytes, demo_token,
                                                             stack_env, monkeypatch):
    from mam import store, tasks
    from mam.insights import budget
    from mam.insights.start import queue_run
    from mam.store import insights as insight_store

    # the task queued from this process must reach this module's insight_tasks, not the stack's
    monkeypatch.setenv("FUNCTION_URL_INSIGHT_TASKS", fns.url["insight_tasks"])
    day = budget.day()
    used = insight_store.budget_used(day)
    client = tasks._tasks_client()
    try:
        insight_store.set_budget_used(day, LIMIT)
        resp = regenerate(fns, ready_video, demo_token)
        assert resp.status_code == 429 and resp.json()["error"]["code"] == "insights_daily_limit"
        assert "midnight UTC" in resp.json()["error"]["message"] and int(resp.headers["Retry-After"]) > 0
        # a video that becomes Ready meanwhile waits, with a sentence, and its task is due after midnight UTC
        vid = new_video(clip_bytes, status="ready", tl_video_id=store.get_video(ready_video).tl_video_id)
        analyses = tl_calls(twelvelabs).get("POST /analyze", 0)
        queue_run(store.get_video(vid))
        waiting = wait_state(vid, ("waiting", "ready", "failed"))
        assert waiting.state == "waiting" and "midnight UTC" in waiting.message
        assert insights(fns, vid).json()["state"] == "waiting"
        assert tl_calls(twelvelabs).get("POST /analyze", 0) == analyses
        due = [t.schedule_time.timestamp() for t in client.list_tasks(parent=tasks.queue_path("insights"))]
        assert any(d >= time.time() + budget.seconds_to_reset() - 5 for d in due), due
    finally:
        insight_store.set_budget_used(day, used)
        client.purge_queue(name=tasks.queue_path("insights"))


# ---- webhook: an asynchronous analysis finished -----------------------------------------------------------------
def test_analyze_task_webhook_finishes_the_run(fns, twelvelabs, ready_video, stack_env):
    """The async path (videos over an hour) on a short video: the analyze task is created with our adapter and
    schema, the record waits on it, and the stand-in's signed `analyze.task.ready` webhook finishes it."""
    from mam import store
    from mam.clients import b2
    from mam.clients.twelvelabs import TwelveLabsClient
    from mam.insights import schema, states
    from mam.settings import load_settings
    from mam.store import insights as insight_store
    from mam.videos import utcnow

    twelvelabs.admin("PUT", "/webhook", json={"url": f"{fns.url['index_videos']}/webhook", "secret": SECRET})
    video = store.get_video(ready_video)
    run = record(ready_video).run + 1

    def waiting_on_task(i) -> bool:
        i.run, i.state, i.generated_for, i.analyze_task_id = run, "generating", video.tl_video_id, None
        i.counted_day, i.started_at, i.duration = "2026-01-01", utcnow(), video.duration
        return True

    insight_store.update(ready_video, waiting_on_task)
    url = b2.presigned_get(load_settings("b2").b2, video.stored_key, ttl=3600)
    client = TwelveLabsClient(twelvelabs.api_key, twelvelabs.base_url, "unused")
    task_id = client.create_analyze_task(url, schema.PROMPT, schema.INSIGHT_SCHEMA, custom_id=ready_video)
    insight_store.update(ready_video, lambda i: states.record_task(i, run, task_id))
    done = wait_state(ready_video, ("ready", "failed"), timeout=60)
    assert done.state == "ready" and done.run == run and done.chapters

    def delivered():
        got = twelvelabs.admin("GET", "/webhook/deliveries").json()["deliveries"]
        return next((d for d in got if d["task_id"] == task_id and d["status"] is not None), None)

    hook = wait_for(delivered, timeout=10, what="analyze webhook delivery")
    assert hook["type"] == "analyze.task.ready" and hook["status"] == 200
    assert json.loads(hook["response"]) == {"state": "ready"}


def test_analyze_task_followed_by_polls_at_the_indexing_pace(fns, twelvelabs, ready_video, stack_env, monkeypatch):
    """Without a webhook the run's follow task polls the analyze task (first poll after 5 s, the indexing
    schedule), stores its result and stops polling."""
    from mam import store
    from mam.clients import b2
    from mam.clients.twelvelabs import TwelveLabsClient
    from mam.insights import schema, states, worker
    from mam.settings import load_settings
    from mam.store import insights as insight_store
    from mam.videos import utcnow

    monkeypatch.setenv("FUNCTION_URL_INSIGHT_TASKS", fns.url["insight_tasks"])
    video = store.get_video(ready_video)
    run = record(ready_video).run + 1

    def waiting_on_task(i) -> bool:
        i.run, i.state, i.generated_for, i.analyze_task_id = run, "generating", video.tl_video_id, None
        i.counted_day, i.started_at, i.duration, i.calls = "2026-01-01", utcnow(), video.duration, {}
        return True

    insight_store.update(ready_video, waiting_on_task)
    url = b2.presigned_get(load_settings("b2").b2, video.stored_key, ttl=3600)
    task_id = TwelveLabsClient(twelvelabs.api_key, twelvelabs.base_url, "unused").create_analyze_task(
        url, schema.PROMPT, schema.INSIGHT_SCHEMA, custom_id=ready_video)
    insight_store.update(ready_video, lambda i: states.record_task(i, run, task_id))
    queued = time.monotonic()
    worker.enqueue_follow(ready_video, task_id, run, 0, time.time(), delay=5)
    done = wait_state(ready_video, ("ready", "failed"), timeout=60)
    assert done.state == "ready" and done.run == run and done.chapters
    assert time.monotonic() - queued >= 4.5  # not polled before the schedule's first poll
    assert 1 <= done.calls["poll"] <= 3
    polls = tl_calls(twelvelabs).get("GET /analyze/tasks/<task_id>", 0)
    time.sleep(10)  # a chain still running would poll again within the next step (8 s)
    assert tl_calls(twelvelabs).get("GET /analyze/tasks/<task_id>", 0) == polls

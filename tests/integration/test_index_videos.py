"""Indexing against the real local parts: index_videos + index_tasks under functions-framework, the Firestore,
Cloud Tasks and Auth emulators, moto as B2 and the local Twelve Labs fetching the presigned URL.

Own processes on free ports (so the settings under test — a short deadline, the webhook secret, this module's
stand-in — are exactly these), driven over HTTP the way the front end, Cloud Tasks and Twelve Labs call them.
"""
from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
import requests
from conftest import LOGS, wait_for
from mam.indexing.reasons import failure_reason
from standins.tasks import headers as cloud_tasks_token
from standins.twelvelabs import StandIn, make_video

from localdev import processes
from localdev.processes import free_port
from localdev.stack import grants

pytestmark = pytest.mark.timeout(240)

SECRET = "index-test-webhook-secret"
DEADLINE = 120  # seconds; the deadline case backdates its run instead of waiting this long


class Functions:
    """index_videos (public) and index_tasks (private) on free ports, pointed at each other and the stand-in, each
    with only the environment it gets deployed (index_tasks is not granted the webhook secret)."""

    def __init__(self, stack, settings: dict[str, str], secrets: dict[str, str]):
        self.public_port, self.private_port = free_port(), free_port()
        self.public = f"http://127.0.0.1:{self.public_port}"
        self.private = f"http://127.0.0.1:{self.private_port}"
        settings = {**settings, "FUNCTION_URL_INDEX_VIDEOS": self.public, "FUNCTION_URL_INDEX_TASKS": self.private}
        LOGS.mkdir(parents=True, exist_ok=True)
        self.procs = []
        for target, port in (("index_videos", self.public_port), ("index_tasks", self.private_port)):
            granted = {k: v for k, v in secrets.items() if k in grants(target)}
            service = stack.function(target, port, overrides={**settings, **granted})
            self.procs.append(processes.start(service, service.env, LOGS / f"test-{target}.log"))

    def stop(self):
        for p in self.procs:
            p.stop()


@pytest.fixture(scope="module")
def twelvelabs():
    with StandIn("--index-seconds", "1", "--no-understanding", log_path=str(LOGS / "test-twelvelabs-index.log")) as s:
        yield s


@pytest.fixture(scope="module")
def fns(emulators, stack, twelvelabs):
    settings = {"TWELVELABS_BASE_URL": twelvelabs.base_url, "TWELVELABS_INDEX_NAME": f"index-test-{uuid.uuid4().hex[:8]}",
                "INDEX_DEADLINE_SECONDS": str(DEADLINE)}
    f = Functions(stack, settings, {"TWELVELABS_API_KEY": twelvelabs.api_key, "TWELVELABS_WEBHOOK_SECRET": SECRET})
    yield f
    f.stop()


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    path = make_video(tmp_path_factory.mktemp("idx") / "clip.mp4", caption="Index me", seconds=4.5)
    with open(path, "rb") as fh:
        return fh.read()


@pytest.fixture(autouse=True)
def _reset_standin(twelvelabs):
    twelvelabs.admin("DELETE", "/faults")
    twelvelabs.admin("DELETE", "/failures")
    twelvelabs.admin("PUT", "/config", json={"index_seconds": 1})
    twelvelabs.admin("PUT", "/webhook", json={"url": None})
    yield


def new_video(clip_bytes: bytes, status: str = "uploaded", name: str = "clip.mp4", **fields) -> str:
    """A stored video: its file in B2 (moto) and its record in Firestore, as an upload leaves them."""
    from mam import store
    from mam.clients import b2
    from mam.settings import load_settings
    from mam.videos import Video

    vid = uuid.uuid4().hex[:20]
    key = f"uploads/{vid}/original/{name}"
    b2.put_bytes(load_settings("b2").b2, key, clip_bytes, "video/mp4")
    store.create_video(Video(id=vid, title=name, owner="demo@example.com", status=status, b2_original=key, **fields))
    return vid


def video(vid: str):
    from mam import store

    return store.get_video(vid)


def index(fns, token, **body) -> requests.Response:
    return requests.post(f"{fns.public}/index", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def wait_status(vid: str, statuses: tuple[str, ...], timeout: float = 30):
    return wait_for(lambda: (v := video(vid)) is not None and v.status in statuses and v, timeout=timeout,
                    what=f"video {vid} in {statuses}")


def tl_calls(twelvelabs) -> dict[str, int]:
    calls = twelvelabs.admin("GET", "/stats").json()["calls"]
    return next(iter(calls.values()), {}) if calls else {}


def task_state(twelvelabs, task_id: str) -> dict:
    return twelvelabs.admin("GET", "/state").json()["tasks"][task_id]


# ---- POST /index -----------------------------------------------------------------------------------------------
def test_index_runs_to_ready_with_thumbnail_and_skips_what_it_must(fns, twelvelabs, demo_token, clip_bytes,
                                                                    clean_firestore):
    from mam.clients import b2
    from mam.settings import load_settings

    ready_id = new_video(clip_bytes)
    uploading = new_video(clip_bytes, status="uploading")
    resp = index(fns, demo_token, ids=[ready_id, uploading, "no-such-video"])
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"queued": [ready_id], "skipped": {uploading: "not_stored", "no-such-video": "not_found"}}
    assert video(ready_id).status in ("sending", "validating")
    again = index(fns, demo_token, ids=[ready_id]).json()
    assert again == {"queued": [], "skipped": {ready_id: "in_flight"}}

    v = wait_status(ready_id, ("ready", "failed"))
    assert v.status == "ready", v.status_reason
    task = task_state(twelvelabs, v.tl_task_id)
    assert task["status"] == "ready" and v.tl_video_id == task["video_id"]
    assert v.b2_thumbnail == f"thumbnails/{ready_id}.jpg"
    storage = load_settings("b2").b2
    obj = b2.client(storage).get_object(Bucket=storage.bucket, Key=v.b2_thumbnail)
    assert obj["ContentType"] == "image/jpeg" and obj["Body"].read()[:2] == b"\xff\xd8"
    assert v.duration is None or v.duration > 4  # filled from Twelve Labs only when the upload did not
    # the record was written only on change: sending, validating, (pending/queued/indexing seen), ready
    assert v.version <= 6

    assert index(fns, demo_token, ids=[ready_id]).json()["skipped"] == {ready_id: "already_indexed"}
    redo = index(fns, demo_token, ids=[ready_id], reindex=True).json()
    assert redo["queued"] == [ready_id]
    v2 = wait_status(ready_id, ("ready", "failed"))
    assert v2.status == "ready" and v2.tl_task_id != v.tl_task_id and v2.tl_video_id != v.tl_video_id
    # the re-index removed the old entry from the index, so search cannot find the video twice
    gone = requests.get(f"{twelvelabs.base_url}/indexes/{task['index_id']}/videos/{v.tl_video_id}",
                        headers={"x-api-key": twelvelabs.api_key}, timeout=10)
    assert gone.status_code == 404


def test_index_request_validation(fns, demo_token):
    assert requests.post(f"{fns.public}/index", json={"ids": ["x"]}, timeout=10).status_code == 401
    for body, code in (({}, "ids_or_all"), ({"ids": "abc"}, "invalid_ids"), ({"ids": []}, "no_ids"),
                       ({"ids": ["a"], "reindex": "yes"}, "invalid_reindex"), ({"ids": ["a"], "all": True}, "ids_or_all")):
        resp = index(fns, demo_token, **body)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == code, (body, resp.text)
    raw = requests.post(f"{fns.public}/index", data=b"{not json", timeout=10,
                        headers={"Authorization": f"Bearer {demo_token}", "Content-Type": "application/json"})
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "invalid_json"


def test_index_all_thousand_videos_in_one_request(fns, demo_token, clean_firestore, stack_env):
    """1,000 records marked Sending and 1,000 submit tasks created in one request (the queue is paused so the
    tasks are not run; they are purged afterwards). How long it takes is measured by `bench/index_videos.py
    --bulk 1000`, not here: a timed test on a shared two-core machine fails on noise, not on regressions."""
    from google.cloud.firestore_v1.base_query import FieldFilter
    from mam import store, tasks
    from mam.videos import Video

    db = store.client()
    col = db.collection("videos")
    for first in range(0, 1000, 400):
        batch = db.batch()
        for i in range(first, min(1000, first + 400)):
            v = Video(id=f"bulk{i:04d}", title=f"bulk {i}", status="uploaded", b2_original=f"uploads/bulk{i:04d}/a.mp4")
            batch.set(col.document(v.id), v.to_doc())
        batch.commit()
    client = tasks._tasks_client()
    queue = tasks.queue_path("index")
    client.pause_queue(name=queue)
    try:
        resp = index(fns, demo_token, all=True)
        assert resp.status_code == 202, resp.text
        assert len(resp.json()["queued"]) == 1000 and resp.json()["skipped"] == {}
        assert len(list(client.list_tasks(parent=queue))) >= 1000
        sending = col.where(filter=FieldFilter("status", "==", "sending")).select(["status"]).stream()
        assert sum(1 for _ in sending) == 1000
        # a second request while they are in flight queues nothing
        again = index(fns, demo_token, ids=[f"bulk{i:04d}" for i in range(0, 1000, 100)]).json()
        assert again["queued"] == [] and set(again["skipped"].values()) == {"in_flight"}
    finally:
        client.purge_queue(name=queue)
        client.resume_queue(name=queue)


# ---- follow tasks --------------------------------------------------------------------------------------------
def test_duplicate_follow_tasks_poll_once_per_hop(fns, twelvelabs, demo_token, clip_bytes, clean_firestore,
                                                  monkeypatch):
    from mam import store
    from mam.indexing import worker

    # The copies enqueued from this process must reach this module's index_tasks, not the stack's.
    monkeypatch.setenv("FUNCTION_URL_INDEX_TASKS", fns.private)

    twelvelabs.admin("PUT", "/config", json={"index_seconds": 9})  # ready between the 2nd and 3rd poll
    vid = new_video(clip_bytes)
    assert index(fns, demo_token, ids=[vid]).json()["queued"] == [vid]
    v = wait_status(vid, ("validating", "pending", "queued", "indexing"))
    before = tl_calls(twelvelabs).get("GET /tasks/<task_id>", 0)
    # three more copies of the first follow task (same name: the emulator accepts duplicates, as at-least-once
    # delivery can produce them) plus a copy of a later hop
    for _ in range(3):
        worker.enqueue_follow(vid, v.tl_task_id, 0, time.time(), delay=0)
    worker.enqueue_follow(vid, v.tl_task_id, 1, time.time(), delay=0)
    done = wait_status(vid, ("ready", "failed"), timeout=40)
    assert done.status == "ready", done.status_reason
    time.sleep(2)  # any surviving duplicate chain would poll again now
    hops = [d.id for d in store.client().collection(worker.HOPS).stream() if d.id.startswith(f"{vid}.{v.tl_task_id}.")]
    polls = tl_calls(twelvelabs).get("GET /tasks/<task_id>", 0) - before
    assert polls == len(hops), f"{polls} polls for {len(hops)} hops"
    assert polls <= 5  # one chain: ~3 polls (+ the injected hop 1 taking that hop's place)


def test_rate_limits_then_success(fns, twelvelabs, demo_token, clip_bytes, clean_firestore):
    fired = twelvelabs.admin("GET", "/stats").json()["faults_fired"]
    # the first create is rate limited (JSON body + Retry-After), then a poll (empty-body 429, as documented)
    twelvelabs.admin("POST", "/faults", json={"method": "POST", "path": "/tasks", "status": 429, "times": 1,
                                              "retry_after": 1})
    twelvelabs.admin("POST", "/faults", json={"method": "GET", "path": "/tasks/.+", "status": 429, "times": 1,
                                              "body": "empty"})
    vid = new_video(clip_bytes)
    assert index(fns, demo_token, ids=[vid]).json()["queued"] == [vid]
    seen = set()
    deadline = time.time() + 40
    while time.time() < deadline:
        v = video(vid)
        seen.add(v.status)
        if v.status in ("ready", "failed"):
            break
        time.sleep(0.2)
    assert v.status == "ready", v.status_reason
    assert "failed" not in seen
    assert twelvelabs.admin("GET", "/stats").json()["faults_fired"] - fired == 2
    assert v.attempts.get("index_submit") == 1  # one retried submit, counted


def test_failed_twelvelabs_task_sets_failed_with_reason(fns, twelvelabs, demo_token, clip_bytes, clean_firestore):
    twelvelabs.admin("POST", "/failures", json={"match": "doomed", "code": "video_resolution_too_low",
                                                "message": "The video resolution is too low."})
    vid = new_video(clip_bytes, name="doomed.mp4")
    index(fns, demo_token, ids=[vid])
    v = wait_status(vid, ("ready", "failed"))
    # Twelve Labs' own message goes to the log; the person reads a sentence chosen by its code
    assert v.status == "failed" and v.status_reason == failure_reason("video_resolution_too_low")
    assert "too small" in v.status_reason
    assert v.tl_video_id is None
    # a failed video may be indexed again; this time Twelve Labs refuses the task outright (400)
    twelvelabs.admin("DELETE", "/failures")
    twelvelabs.admin("POST", "/faults", json={"method": "POST", "path": "/tasks", "status": 400,
                                              "code": "usage_limit_exceeded", "message": "Usage limit exceeded."})
    assert index(fns, demo_token, ids=[vid]).json()["queued"] == [vid]
    v = wait_status(vid, ("ready", "failed"))
    assert v.status == "failed" and v.status_reason == "Twelve Labs refused the video: Usage limit exceeded."
    # and once more, now it goes through
    assert index(fns, demo_token, ids=[vid]).json()["queued"] == [vid]
    assert wait_status(vid, ("ready", "failed")).status == "ready"


def test_deadline_ends_in_failed_timed_out(fns, twelvelabs, demo_token, clip_bytes, clean_firestore):
    from mam import store

    twelvelabs.admin("PUT", "/config", json={"index_seconds": 3600})  # Twelve Labs never gets there
    vid = new_video(clip_bytes)
    index(fns, demo_token, ids=[vid])
    v = wait_status(vid, ("validating", "pending", "queued", "indexing"))
    # the run has been going for longer than the deadline (rather than waiting two minutes for it)
    started = v.index_started_at - dt.timedelta(seconds=DEADLINE + 1)
    store.update_video(vid, lambda x: setattr(x, "index_started_at", started) or True)
    v = wait_status(vid, ("ready", "failed"), timeout=30)  # the next poll (<= 10 s away) ends it
    assert v.status == "failed" and v.status_reason == "Indexing timed out."
    hops_after = tl_calls(twelvelabs).get("GET /tasks/<task_id>", 0)
    time.sleep(6)
    assert tl_calls(twelvelabs).get("GET /tasks/<task_id>", 0) == hops_after  # and the chain stopped


# ---- webhook --------------------------------------------------------------------------------------------------
def _hook(fns, body: bytes, header: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json", **({"TL-Signature": header} if header else {})}
    return requests.post(f"{fns.public}/webhook", data=body, headers=headers, timeout=30)


def test_webhook_from_twelvelabs_finishes_the_video_at_once(fns, twelvelabs, demo_token, clip_bytes, clean_firestore):
    twelvelabs.admin("PUT", "/webhook", json={"url": f"{fns.public}/webhook", "secret": SECRET})
    twelvelabs.admin("POST", "/failures", json={"match": "broken", "code": "video_file_broken",
                                                "message": "The video file is broken."})
    vid = new_video(clip_bytes)
    bad = new_video(clip_bytes, name="broken.mp4")
    assert index(fns, demo_token, ids=[vid, bad]).json()["queued"] == [vid, bad]
    v = wait_status(vid, ("ready", "failed"), timeout=30)
    assert v.status == "ready"
    b = wait_status(bad, ("ready", "failed"), timeout=30)
    assert b.status == "failed" and b.status_reason == failure_reason("video_file_broken")

    def delivered():
        got = twelvelabs.admin("GET", "/webhook/deliveries").json()["deliveries"]
        mine = {d["task_id"]: d for d in got if d["status"] is not None}
        return mine if {v.tl_task_id, b.tl_task_id} <= set(mine) else None

    mine = wait_for(delivered, timeout=10, what="webhook deliveries")  # the responses may still be on their way
    # the webhook (not a poll) finished both, right after Twelve Labs did
    assert mine[v.tl_task_id]["status"] == 200 and json.loads(mine[v.tl_task_id]["response"])["status"] == "ready"
    assert mine[b.tl_task_id]["type"] == "index.task.failed"
    assert json.loads(mine[b.tl_task_id]["response"])["status"] == "failed"
    # (how soon after Twelve Labs: bench/index_videos.py measures it; here the instance may be cold)


def test_task_endpoints_validate_and_resume(fns, stack, twelvelabs, demo_token, clip_bytes, clean_firestore):
    def task(path, payload, retry=0):
        return requests.post(f"{fns.private}{path}", json=payload, timeout=30,
                             headers={"X-CloudTasks-TaskRetryCount": str(retry), "X-CloudTasks-TaskName": "t-x",
                                      **cloud_tasks_token(stack, fns.private)})

    bad = task("/tasks/follow", {"video_id": "v", "task_id": "t", "hop": "soon", "started": 1})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_task"
    assert task("/tasks/submit", {"run": 1}).status_code == 400
    assert task("/tasks/submit", {"video_id": "nope", "run": 1}).json() == {"skipped": "video deleted"}
    twelvelabs.admin("PUT", "/config", json={"index_seconds": 30})
    vid = new_video(clip_bytes)
    index(fns, demo_token, ids=[vid])
    v = wait_status(vid, ("validating", "pending", "queued", "indexing"))
    # a duplicate submit finds the run already submitted; a Cloud Tasks retry of it makes sure a follow exists
    assert task("/tasks/submit", {"video_id": vid, "run": 1}).json() == {"skipped": "stale run"}
    assert task("/tasks/submit", {"video_id": vid, "run": 1}, retry=1).json() == {"resumed": v.tl_task_id}
    # a follow for another task of this video (e.g. from before a re-index) stops without calling Twelve Labs
    before = tl_calls(twelvelabs).get("GET /tasks/<task_id>", 0)
    stale = task("/tasks/follow", {"video_id": vid, "task_id": "old-task", "hop": 3, "started": time.time()})
    assert stale.json() == {"stopped": "not following this task"}
    assert tl_calls(twelvelabs).get("GET /tasks/<task_id>", 0) == before


def test_webhook_signature_cases(fns, twelvelabs, demo_token, clip_bytes, clean_firestore):
    from mam.clients.twelvelabs import sign_webhook

    twelvelabs.admin("PUT", "/config", json={"index_seconds": 3})
    vid = new_video(clip_bytes)
    index(fns, demo_token, ids=[vid])
    v = wait_status(vid, ("validating", "pending", "queued", "indexing"))
    # wait until Twelve Labs says ready, then tell our function before its poll does
    wait_for(lambda: task_state(twelvelabs, v.tl_task_id)["status"] == "ready", timeout=10, what="TL ready")
    body = json.dumps({"id": "whe_test1", "created_at": "2026-01-01T00:00:00Z", "type": "index.task.ready",
                       "data": {"id": v.tl_task_id, "status": "ready", "metadata": {}, "models": [], "tags": []}},
                      separators=(",", ":")).encode()
    now = int(time.time())

    def rejected(resp):
        assert resp.status_code == 401, resp.text
        err = resp.json()["error"]
        assert err["code"] == "invalid_signature" and "Traceback" not in resp.text and SECRET not in resp.text
        return err["message"]

    rejected(_hook(fns, body, sign_webhook("wrong-secret", body, now)))
    rejected(_hook(fns, body.replace(b"ready", b"readz", 1), sign_webhook(SECRET, body, now)))  # altered body
    assert "window" in rejected(_hook(fns, body, sign_webhook(SECRET, body, now - 600)))  # stale timestamp
    rejected(_hook(fns, body, None))
    rejected(_hook(fns, body, "t=abc,v1=def"))
    assert video(vid).status != "ready"  # none of those did anything

    ok = _hook(fns, body, sign_webhook(SECRET, body, now))
    assert ok.status_code == 200 and ok.json()["status"] == "ready"
    assert video(vid).status == "ready"
    replay = _hook(fns, body, sign_webhook(SECRET, body, now))
    assert replay.status_code == 200 and replay.json() == {"already": "ready"}
    unknown = json.dumps({"id": "whe_2", "type": "index.task.ready", "data": {"id": "nope"}}).encode()
    assert _hook(fns, unknown, sign_webhook(SECRET, unknown)).json() == {"ignored": "unknown task"}
    other = json.dumps({"id": "whe_3", "type": "analyze.task.ready", "data": {"id": "x"}}).encode()
    # an analysis event goes to the insights (mam.insights.worker); no run waits on this task
    assert _hook(fns, other, sign_webhook(SECRET, other)).json() == {"ignored": "unknown analyze task"}
    unknown_kind = json.dumps({"id": "whe_4", "type": "index.task.created", "data": {"id": "x"}}).encode()
    assert _hook(fns, unknown_kind, sign_webhook(SECRET, unknown_kind)).json() == {"ignored": "index.task.created"}
    bad = b"[1,2"
    resp = _hook(fns, bad, sign_webhook(SECRET, bad))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_json"

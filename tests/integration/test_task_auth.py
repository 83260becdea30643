"""Every task route against the running stack: only a delivery with Cloud Tasks' OIDC token for its function gets
in, and a refused one changes nothing; the local Cloud Tasks sends such a token on every dispatch.

upload_tasks, index_tasks and iconik_tasks run under functions-framework with their deployed environment (the
certs URL of the local Cloud Tasks being the only difference from the cloud); tokens are minted with the key the
local Cloud Tasks wrote at start (`standins.tasks`), or forged.
"""
from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
import requests
from conftest import wait_for
from standins.tasks import Issuer, mint, service_account, stack_key
from task_receiver import TaskReceiver

pytestmark = pytest.mark.timeout(180)

TASK_FUNCTIONS = ("upload_tasks", "index_tasks", "iconik_tasks")


@pytest.fixture(scope="module")
def running(emulators, start_function, start_standin):
    start_standin("transloadit")  # upload_tasks asks it during a check
    return {name: start_function(name) for name in TASK_FUNCTIONS}


def firestore_snapshot() -> dict[str, dict]:
    """Every document a task route can write, by path: videos, indexing hops, iconik runs and their assets (the
    local Firestore has no ListCollectionIds, so the collections are named)."""
    from mam import store
    from mam.indexing.worker import HOPS
    from mam.store.iconik_runs import CHUNKS, RUNS
    from mam.store.videos import VIDEOS

    out: dict[str, dict] = {}
    for name in (VIDEOS, HOPS, RUNS):
        for doc in store.client().collection(name).stream():
            out[doc.reference.path] = doc.to_dict()
    for doc in store.client().collection_group(CHUNKS).stream():
        out[doc.reference.path] = doc.to_dict()
    return out


def seed_videos() -> dict[str, str]:
    """An upload still running and a video whose indexing is past its deadline: a genuine task changes both."""
    from mam import store
    from mam.videos import Video

    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    uploading = Video(id=f"up-{uuid.uuid4().hex[:12]}", title="clip", created_at=long_ago)
    indexing = Video(id=f"ix-{uuid.uuid4().hex[:12]}", title="clip", status="indexing", tl_task_id="tltask1",
                     index_started_at=long_ago, b2_original="videos/x.mp4")
    for video in (uploading, indexing):
        assert store.create_video(video)
    return {"uploading": uploading.id, "indexing": indexing.id}


def deliveries(ids: dict[str, str]) -> list[tuple[str, str, dict]]:
    """(function, path, payload) of one task per route; each would change state when genuine."""
    return [
        ("upload_tasks", "/check", {"video_id": ids["uploading"], "attempt": 3,
                                    "policy": {"first": 1, "max": 1, "grace_until": 1, "deadline": 1}}),
        ("index_tasks", "/tasks/submit", {"video_id": ids["indexing"], "run": 1}),
        ("index_tasks", "/tasks/follow", {"video_id": ids["indexing"], "task_id": "tltask1", "hop": 4,
                                          "started": time.time() - 86400}),
        ("iconik_tasks", "/step", {"run_id": f"run-{uuid.uuid4().hex[:8]}", "seq": 0, "token": "iconik-token"}),
    ]


def forgeries(stack, url: str) -> dict[str, tuple[int, dict[str, str]]]:
    """Name -> (expected status, headers) of deliveries that must not get in."""
    key, sa = stack_key(stack), service_account(stack)

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    with Issuer() as stranger:
        other_key = stranger.mint(url, sa, header={"kid": key.kid})  # another key claiming the local one's id
        unknown_key = stranger.mint(url, sa)
    return {
        "no token": (401, {}),
        "empty bearer": (401, {"Authorization": "Bearer "}),
        "basic auth": (401, {"Authorization": "Basic dXNlcjpwYXNz"}),
        "garbage": (403, bearer("not.a.jwt")),
        "another function's audience": (403, bearer(mint(key, url.rsplit(":", 1)[0] + ":1", sa))),
        "audience with a path": (403, bearer(mint(key, url + "/check", sa))),
        "another account": (403, bearer(mint(key, url, "intruder@example.com"))),
        "unverified email": (403, bearer(mint(key, url, sa, email_verified=False))),
        "another issuer": (403, bearer(mint(key, url, sa, iss="https://issuer.example.com"))),
        "expired": (403, bearer(mint(key, url, sa, now=time.time() - 2 * 3600))),
        "signed by another key": (403, bearer(other_key)),
        "unknown key id": (403, bearer(unknown_key)),
    }


def test_every_task_route_refuses_a_missing_or_forged_token_and_changes_nothing(running, stack, clean_firestore):
    ids = seed_videos()
    before = firestore_snapshot()
    for name, path, payload in deliveries(ids):
        url = running[name]
        for case, (status, headers) in forgeries(stack, url).items():
            resp = requests.post(url + path, json=payload, headers=headers, timeout=30)
            assert resp.status_code == status, (name, path, case, resp.text)
            error = resp.json()["error"]
            assert error["code"] == ("missing_token" if status == 401 else "invalid_token"), (name, case)
            assert "token" in error["message"] and "Traceback" not in resp.text
        # a malformed body with no token is a 401 too: nothing of the body is read before the caller is known
        assert requests.post(url + path, data="{nope", timeout=10).status_code == 401
    assert firestore_snapshot() == before


def test_every_task_route_accepts_a_token_of_the_local_cloud_tasks(running, stack, clean_firestore):
    from mam import store

    ids = seed_videos()
    answers = {}
    for name, path, payload in deliveries(ids):
        url = running[name]
        token = mint(stack_key(stack), url, service_account(stack))
        resp = requests.post(url + path, json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert resp.status_code == 200, (name, path, resp.text)
        answers[path] = resp.json()
    assert answers["/tasks/submit"] == {"skipped": "stale run"}
    assert answers["/step"]["result"] == "missing"
    # the two genuine tasks did what the forged ones could not
    assert store.get_video(ids["uploading"]).status == "failed"
    assert store.get_video(ids["indexing"]).status == "failed"


def test_the_local_cloud_tasks_dispatch_carries_a_token_the_routes_accept(running, stack, stack_env, monkeypatch):
    """What `mam.tasks.enqueue` queues reaches its target with `Authorization: Bearer <ID token>` for the target's
    URL, signed by the local Cloud Tasks' key and valid under the very check the task routes run."""
    from mam import task_auth, tasks

    receiver = TaskReceiver()
    try:
        monkeypatch.setenv("FUNCTION_URL_PROBE", receiver.url)
        marker = uuid.uuid4().hex
        tasks.enqueue("uploads", "probe", "/somewhere", {"marker": marker}, key=("oidc-probe", marker))
        [got] = wait_for(lambda: receiver.of(marker), timeout=20, what="the dispatch")
    finally:
        receiver.shutdown()
    scheme, _, token = got["headers"]["authorization"].partition(" ")
    assert scheme == "Bearer"
    claims = task_auth.verify_token(token, audience=receiver.url, email=service_account(stack),
                                    source=task_auth.certs())
    assert claims["aud"] == receiver.url  # the bare function URL, as mam.tasks sets it: no path
    assert claims["iss"] == "https://accounts.google.com" and claims["email_verified"] is True
    assert claims["exp"] - claims["iat"] == 3600
    assert got["headers"]["user-agent"] == "Google-Cloud-Tasks"

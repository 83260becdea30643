"""The Twelve Labs adapter (mam.clients.twelvelabs) over the official SDK against the local Twelve Labs: what the
indexing worker and the library's search rely on."""
from __future__ import annotations

import time
import uuid

import pytest
from mam.clients import twelvelabs as tl
from standins.twelvelabs import StandIn, make_video, serve_dir

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    log = tmp_path_factory.mktemp("tla") / "standin.log"
    with StandIn("--index-seconds", "0.5", env={"TL_STANDIN_ASR": "fast"}, log_path=str(log)) as s:
        yield s


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tlamedia")
    make_video(d / "whale.mp4", caption="Blue Whale", seconds=4.5)
    make_video(d / "fox.mp4", caption="Red Fox", seconds=4.5, color="darkgreen")
    with serve_dir(d) as base:
        yield base


@pytest.fixture(scope="module")
def client(standin):
    return tl.TwelveLabsClient(standin.api_key, standin.base_url, f"adapter-{uuid.uuid4().hex[:8]}", timeout=15)


def wait_done(client, task_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = client.retrieve_task(task_id)
        if info.done:
            return info
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} not done")


@pytest.fixture(scope="module")
def indexed(client, files):
    tasks = {name: client.create_task(f"{files}/{name}.mp4", {"mam_id": f"rec-{name}"}) for name in ("whale", "fox")}
    return {name: wait_done(client, task_id) for name, (task_id, _) in tasks.items()}


def test_ensure_index_is_created_once_and_found_by_name(standin, client, monkeypatch):
    # the wrapper SDK client would silently use this instead of base_url; ours must not
    monkeypatch.setenv("TWELVELABS_BASE_URL", "http://127.0.0.1:9/v1.3")
    first = client.ensure_index()
    other = tl.TwelveLabsClient(standin.api_key, standin.base_url, client.index_name)
    assert other.ensure_index() == first
    assert standin.admin("GET", "/state").json()["indexes"] >= 1


def test_tasks_become_ready_with_facts_and_thumbnails(indexed):
    whale = indexed["whale"]
    assert whale.status == "ready" and whale.video_id and whale.error is None
    assert whale.duration == pytest.approx(4.5, abs=0.2) and (whale.width, whale.height) == (640, 360)
    assert whale.thumbnail_urls and whale.thumbnail_urls[0].startswith("http://127.0.0.1")


def test_search_returns_our_record_id_and_pages(client, indexed, standin):
    page = client.search("blue whale", options=["visual"])
    assert page.hits and page.hits[0].video_id == indexed["whale"].video_id
    assert page.hits[0].user_metadata == {"mam_id": "rec-whale"}
    clip = page.hits[0].clips[0]
    assert clip.rank == 1 and 0 <= clip.start < clip.end <= 4.6 and clip.thumbnail_url

    both = client.search("blue whale red fox", options=["visual", "audio"], page_limit=1)
    assert len(both.hits) == 1 and both.next_page_token and both.total_results == 2
    # Twelve Labs honours include_user_metadata per page, so the adapter asks for it again on later pages
    second = client.search_page(both.next_page_token)
    assert {both.hits[0].user_metadata["mam_id"], second.hits[0].user_metadata["mam_id"]} == {"rec-whale", "rec-fox"}
    assert second.next_page_token is None
    with pytest.raises(ValueError):
        client.search("x", options=["smell"])


def test_rate_limit_and_not_found_and_rejection(client, indexed, standin):
    standin.admin("POST", "/faults", json={"method": "GET", "path": "/tasks/.+", "status": 429, "retry_after": 2})
    with pytest.raises(tl.RateLimited) as err:
        client.retrieve_task(indexed["whale"].id)
    assert err.value.retryable and err.value.retry_after == 2
    with pytest.raises(tl.NotFound):
        client.retrieve_task("0" * 24)
    with pytest.raises(tl.Rejected) as bad:
        client.search("", options=["visual"])
    assert bad.value.code == "parameter_not_provided" and not bad.value.retryable


def test_failed_task_reason(client, standin, files):
    standin.admin("POST", "/failures", json={"match": "fox", "code": "video_file_broken", "message": "Broken.",
                                             "times": 1})
    task_id, _ = client.create_task(f"{files}/fox.mp4")
    info = wait_done(client, task_id)
    assert (info.status, info.error, info.error_code) == ("failed", "Broken.", "video_file_broken")


def test_video_lookup_delete_and_expired_token(client, indexed):
    fox = indexed["fox"].video_id
    found = client.get_video(fox)
    assert found and found.user_metadata == {"mam_id": "rec-fox"} and found.filename == "fox.mp4"
    listed = {v.id: v.user_metadata.get("mam_id") for v in client.list_videos(page_limit=50)}
    assert listed[fox] == "rec-fox" and listed[indexed["whale"].video_id] == "rec-whale"
    assert client.list_videos(page=99) == []  # past the end: empty, not an error
    page = client.search("blue whale red fox", options=["visual"], page_limit=1)
    assert client.delete_video(fox) is True
    assert client.delete_video(fox) is False  # already gone is fine
    assert client.get_video(fox) is None
    with pytest.raises(tl.TokenExpired):  # the index changed under the token: search again
        client.search_page(page.next_page_token)

"""Contract tests of the local Twelve Labs, driven by the official `twelvelabs` SDK (1.3.x) over HTTP:
indexes, tasks from a URL and from a file, status progression, failures, injected 429s, search with paging
and expiring tokens, index videos, webhooks signed like Twelve Labs."""
from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from typing import ClassVar

import pytest
import requests
from twelvelabs import TwelveLabs
from twelvelabs.core.api_error import ApiError
from twelvelabs.errors import BadRequestError, NotFoundError, TooManyRequestsError
from twelvelabs.types.search_item import SearchItem
from twelvelabs.types.search_item_clips_item import SearchItemClipsItem
from twelvelabs.types.video_vector import VideoVector

from standins.twelvelabs import StandIn, make_video, serve_dir

pytestmark = pytest.mark.timeout(120)

SECRET = "whsec-contract-test"
MODELS = [{"model_name": "marengo3.0", "model_options": ["visual", "audio"]}]
# What a Marengo 3.0 clip may carry (contract §4 and the SDK's SearchItemClipsItem): no score, confidence or
# matched option. thumbnail_url needs the thumbnail addon, transcription the transcription option,
# user_metadata include_user_metadata=true on that very request.
CLIP_KEYS = {"video_id", "start", "end", "rank", "thumbnail_url", "transcription", "user_metadata"}


class _Receiver(http.server.BaseHTTPRequestHandler):
    """Records webhook requests (headers + raw body)."""

    got: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).got.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tlmedia")
    make_video(d / "cats.mp4", "The orange cat jumps over the garden fence.", "Garden Party", seconds=5)
    make_video(d / "ocean.mp4", "Whales swim near the ocean coast at sunset.", "Blue Whale", seconds=5,
               color="darkgreen")
    make_video(d / "short.mp4", "", "Tiny", seconds=2)
    (d / "notvideo.mp4").write_bytes(b"this is not a video at all" * 100)
    return d


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
    with StandIn("--index-seconds", "1.5", "--workers", "2", "--webhook-url", receiver[0], "--webhook-secret", SECRET,
                 log_path=str(log)) as s:
        yield s


@pytest.fixture(scope="module")
def files(media_dir):
    with serve_dir(media_dir) as base:
        yield base


@pytest.fixture(scope="module")
def client(standin):
    return TwelveLabs(api_key=standin.api_key, base_url=standin.base_url, timeout=30)


def wait_done(client, task_id, timeout=60.0):
    """Poll like a careful client (with a deadline, unlike the SDK's wait_for_done); returns (task, statuses)."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        task = client.tasks.retrieve(task_id)
        if not seen or seen[-1] != task.status:
            seen.append(task.status)
        if task.status in ("ready", "failed"):
            return task, seen
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} not done after {timeout} s: {seen}")


@pytest.fixture(scope="module")
def library(client, files):
    """An index with two indexed videos (created through video_url, as our product does)."""
    idx = client.indexes.create(index_name=f"contract-{time.time_ns()}", models=MODELS, addons=["thumbnail"])
    cats = client.tasks.create(index_id=idx.id, video_url=f"{files}/cats.mp4", enable_video_stream=True,
                               user_metadata=json.dumps({"mam_id": "v-cats", "kind": "pets"}))
    ocean = client.tasks.create(index_id=idx.id, video_url=f"{files}/ocean.mp4",
                                user_metadata=json.dumps({"mam_id": "v-ocean", "kind": "nature"}))
    done = {name: wait_done(client, t.id) for name, t in (("cats", cats), ("ocean", ocean))}
    return {"index_id": idx.id, "cats": cats, "ocean": ocean, "done": done}


# ---- auth and errors -------------------------------------------------------------------------------------
def test_wrong_api_key_is_401_with_json_code(standin):
    bad = TwelveLabs(api_key="nope", base_url=standin.base_url)
    with pytest.raises(ApiError) as err:
        bad.indexes.retrieve("0" * 24)
    assert err.value.status_code == 401
    assert err.value.body["code"] == "api_key_invalid"


def test_unknown_ids_are_404_resource_not_exist(client, library):
    with pytest.raises(ApiError) as err:
        client.tasks.retrieve("f" * 24)
    assert err.value.status_code == 404 and err.value.body["code"] == "resource_not_exist"
    with pytest.raises(NotFoundError):
        client.indexes.videos.retrieve(library["index_id"], "f" * 24)


# ---- indexes ---------------------------------------------------------------------------------------------
def test_index_create_list_retrieve_and_duplicate_name(client):
    name = f"idx-{time.time_ns()}"
    created = client.indexes.create(index_name=name, models=MODELS)
    got = client.indexes.retrieve(created.id)
    assert got.index_name == name and got.models[0].model_name == "marengo3.0"
    assert got.video_count == 0
    # the SDK pager asks for one page past the end; it must get an empty page and stop
    names = [i.index_name for i in client.indexes.list(index_name=name, page_limit=1)]
    assert names == [name]
    with pytest.raises(BadRequestError) as err:
        client.indexes.create(index_name=name, models=MODELS)
    assert err.value.body["code"] == "index_name_already_exists"
    with pytest.raises(BadRequestError):
        client.indexes.create(index_name="bad-model", models=[{"model_name": "gpt", "model_options": ["visual"]}])
    client.indexes.delete(created.id)
    with pytest.raises(ApiError) as err:
        client.indexes.retrieve(created.id)
    assert err.value.status_code == 404


# ---- tasks -----------------------------------------------------------------------------------------------
def test_task_from_url_moves_through_statuses_to_ready(client, library):
    task, seen = library["done"]["cats"]
    assert task.status == "ready", task
    assert seen[-1] == "ready"
    order = ["validating", "pending", "queued", "indexing", "ready"]
    assert [s for s in seen if s in order] == sorted(seen, key=order.index)  # never goes backwards
    assert task.video_id == library["cats"].video_id
    assert task.system_metadata.filename == "cats.mp4"
    assert 4.5 <= task.system_metadata.duration <= 6.5
    assert (task.system_metadata.width, task.system_metadata.height) == (640, 360)


def test_ready_task_has_hls_and_fetchable_expiring_thumbnail(client, library):
    task = client.tasks.retrieve(library["cats"].id)
    assert task.hls is not None and task.hls.status == "COMPLETE"
    url = task.hls.thumbnail_urls[0]
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/jpeg"
    assert resp.content[:2] == b"\xff\xd8"
    tampered = url.replace("exp=", "exp=9")
    assert requests.get(tampered, timeout=10).status_code == 403
    playlist = requests.get(task.hls.video_url, timeout=30)
    assert playlist.status_code == 200 and playlist.text.startswith("#EXTM3U")
    # without enable_video_stream there is no hls block
    assert client.tasks.retrieve(library["ocean"].id).hls is None


def test_task_list_filters_by_index_and_status(client, library):
    ready = list(client.tasks.list(index_id=library["index_id"], status=["ready"], page_limit=50))
    assert {t.id for t in ready} == {library["cats"].id, library["ocean"].id}
    assert list(client.tasks.list(index_id=library["index_id"], status=["failed"])) == []


def test_task_needs_exactly_one_source(client, library, files):
    with pytest.raises(BadRequestError) as err:
        client.tasks.create(index_id=library["index_id"])
    assert err.value.body["code"] == "parameter_not_provided"
    with pytest.raises(BadRequestError):
        client.tasks.create(index_id="0" * 24, video_url=f"{files}/cats.mp4")


@pytest.mark.parametrize("name,code", [("short.mp4", "video_duration_too_short"),
                                       ("notvideo.mp4", "video_file_broken"),
                                       ("missing.mp4", "video_url_unreachable")])
def test_bad_videos_fail_with_a_reason(client, library, files, name, code):
    t = client.tasks.create(index_id=library["index_id"], video_url=f"{files}/{name}")
    task, _ = wait_done(client, t.id)
    assert task.status == "failed"
    reason = task.error_reason  # not modelled by the SDK: an extra field
    assert reason["code"] == code and reason["message"]


def test_forced_failure_rule_fails_at_end_of_indexing(client, standin, library, files, media_dir):
    (media_dir / "doomed.mp4").write_bytes((media_dir / "cats.mp4").read_bytes())
    standin.admin("POST", "/failures", json={"match": "doomed", "code": "video_file_broken",
                                              "message": "Injected failure", "times": 1})
    t = client.tasks.create(index_id=library["index_id"], video_url=f"{files}/doomed.mp4")
    task, seen = wait_done(client, t.id)
    assert task.status == "failed" and task.error_reason == {"code": "video_file_broken",
                                                            "message": "Injected failure"}
    assert "indexing" in seen  # it went through the normal stages first


def test_task_from_uploaded_file(client, library, media_dir):
    with open(media_dir / "ocean.mp4", "rb") as fh:
        t = client.tasks.create(index_id=library["index_id"], video_file=fh)
    task, _ = wait_done(client, t.id)
    assert task.status == "ready" and task.system_metadata.filename == "ocean.mp4"
    client.indexes.videos.delete(library["index_id"], task.video_id)


# ---- injected rate limits ----------------------------------------------------------------------------------
def test_injected_429_empty_body_is_plain_api_error(client, standin, library):
    standin.admin("POST", "/faults", json={"path": "/tasks/.*", "method": "GET", "status": 429,
                                            "times": 1, "body": "empty"})
    with pytest.raises(ApiError) as err:
        client.tasks.retrieve(library["cats"].id)
    assert err.value.status_code == 429 and err.value.body == ""
    assert client.tasks.retrieve(library["cats"].id).status == "ready"  # used up


def test_injected_429_json_with_retry_after(client, standin, library):
    standin.admin("POST", "/faults", json={"path": "/search", "method": "POST", "status": 429,
                                            "times": 1, "retry_after": 3})
    with pytest.raises(TooManyRequestsError) as err:
        client.search.create(index_id=library["index_id"], query_text="cat", search_options=["audio"])
    assert err.value.status_code == 429
    assert err.value.headers["retry-after"] == "3"
    assert err.value.body["code"] == "too_many_requests"


# ---- search ----------------------------------------------------------------------------------------------
def test_search_finds_spoken_words_in_the_right_video(client, library):
    res = client.search.create(index_id=library["index_id"], query_text="orange cat in the garden",
                               search_options=["visual", "transcription"], group_by="video")
    assert res.data, "no results"
    top = res.data[0]
    assert top.id == library["cats"].video_id
    clip = top.clips[0]
    assert clip.rank == 1 and 0 <= clip.start < clip.end <= 5.01
    assert clip.thumbnail_url and requests.get(clip.thumbnail_url, timeout=10).status_code == 200
    assert res.search_pool.total_count == 2


def test_search_visual_reads_on_screen_text(client, library):
    res = client.search.create(index_id=library["index_id"], query_text="blue whale",
                               search_options=["visual"], group_by="clip")
    assert res.data and res.data[0].video_id == library["ocean"].video_id


def test_search_no_match_is_empty_without_token(client, library):
    res = client.search.create(index_id=library["index_id"], query_text="xylophone quartet",
                               search_options=["visual", "audio"])
    assert res.data == [] and res.page_info.next_page_token is None


def test_search_of_stop_words_alone_is_empty(client, library):
    # "the" is said in both videos, yet a query of stop words alone finds nothing (a 200 with no data, not a 400)
    res = client.search.create(index_id=library["index_id"], query_text="the", search_options=["visual", "transcription"])
    assert res.data == [] and res.page_info.next_page_token is None


def test_search_pages_with_tokens_and_metadata_filter(client, library):
    first = client.search.create(index_id=library["index_id"], query_text="cat garden whale ocean",
                                 search_options=["visual", "transcription"], group_by="video", page_limit=1,
                                 include_user_metadata=True)
    assert first.page_info.total_results == 2 and len(first.data) == 1
    # a video group is {id, clips}: the metadata rides on its clips
    assert first.data[0].clips[0].user_metadata["mam_id"] in ("v-cats", "v-ocean")
    token = first.page_info.next_page_token
    assert token
    second = client.search.retrieve(token, include_user_metadata=True)
    assert len(second.data) == 1 and second.data[0].id != first.data[0].id
    assert second.page_info.next_page_token is None and second.page_info.prev_page_token
    # the SDK pager walks all pages
    assert len(list(client.search.query(index_id=library["index_id"], query_text="cat garden whale ocean",
                                        search_options=["visual", "transcription"], group_by="video",
                                        page_limit=1))) == 2
    only = client.search.create(index_id=library["index_id"], query_text="cat garden whale ocean",
                                search_options=["visual", "transcription"], group_by="video",
                                filter=json.dumps({"kind": "nature"}))
    assert [v.id for v in only.data] == [library["ocean"].video_id]
    with pytest.raises(BadRequestError) as err:
        client.search.create(index_id=library["index_id"], query_text="cat", search_options=["audio"],
                             filter="{not json")
    assert err.value.body["code"] == "search_filter_invalid"


def test_search_rejects_bad_input(client, library):
    with pytest.raises(BadRequestError):
        client.search.create(index_id=library["index_id"], query_text="cat", search_options=["smell"])
    with pytest.raises(BadRequestError):
        client.search.create(index_id=library["index_id"], query_text="cat", search_options=["audio"],
                             page_limit=51)
    with pytest.raises(BadRequestError):
        client.search.create(index_id=library["index_id"], search_options=["audio"])
    # one field "visual,audio" is one unknown option, not two (the SDK repeats the field)
    with pytest.raises(BadRequestError) as err:
        client.search.create(index_id=library["index_id"], query_text="cat", search_options=["visual,audio"])
    assert err.value.body["code"] == "parameter_invalid"
    with pytest.raises(BadRequestError):
        client.search.create(index_id=library["index_id"], query_text="cat", search_options=["transcription"],
                             transcription_options=["fuzzy"])
    # Marengo 3.0 takes 500 tokens; 400 short words are fine, 300 long ones (two tokens each at least) are not
    assert client.search.create(index_id=library["index_id"], query_text=" ".join(["cat"] * 400),
                                search_options=["visual"]).data is not None
    with pytest.raises(BadRequestError) as err:
        client.search.create(index_id=library["index_id"], query_text=" ".join(["catamarans"] * 300),
                             search_options=["visual"])
    assert err.value.body["code"] == "parameter_invalid"


def _raw_keys(model) -> set[str]:
    """The wire keys a parsed SDK model was given (declared fields set, plus any extra the SDK did not model)."""
    return set(model.model_fields_set) | set(model.model_extra or {})


def test_marengo3_clips_carry_exactly_what_the_real_api_returns(client, library):
    idx = library["index_id"]
    clips = client.search.create(index_id=idx, query_text="cat garden whale ocean", group_by="clip",
                                 search_options=["visual", "transcription"], include_user_metadata=True)
    assert clips.data
    for item in clips.data:
        assert not item.model_extra, item.model_extra  # nothing the SDK does not model: no score, no matched_by
        keys = _raw_keys(item)
        assert keys <= CLIP_KEYS and keys <= set(SearchItem.model_fields)
        # transcription only where words were heard in the clip; everything else always
        assert keys - {"transcription"} == {"video_id", "start", "end", "rank", "thumbnail_url", "user_metadata"}
    assert [c.rank for c in clips.data] == list(range(1, len(clips.data) + 1))
    assert any(c.transcription for c in clips.data)

    grouped = client.search.create(index_id=idx, query_text="cat garden whale ocean", group_by="video",
                                   search_options=["visual"])
    assert grouped.data
    for video in grouped.data:
        assert _raw_keys(video) == {"id", "clips"} and not video.model_extra
        for clip in video.clips:
            assert not clip.model_extra, clip.model_extra
            # neither transcription (not searched) nor user_metadata (not asked for)
            assert _raw_keys(clip) == {"video_id", "start", "end", "rank", "thumbnail_url"}
            assert _raw_keys(clip) <= set(SearchItemClipsItem.model_fields)


def test_later_pages_carry_user_metadata_only_when_that_request_asks(client, library):
    first = client.search.create(index_id=library["index_id"], query_text="cat garden whale ocean",
                                 search_options=["visual", "transcription"], group_by="video", page_limit=1,
                                 include_user_metadata=True)
    assert first.data[0].clips[0].user_metadata
    token = first.page_info.next_page_token
    bare = client.search.retrieve(token)  # the first page's flag does not carry over
    assert bare.data and all(c.user_metadata is None and "user_metadata" not in _raw_keys(c)
                             for v in bare.data for c in v.clips)
    asked = client.search.retrieve(token, include_user_metadata=True)
    assert {c.user_metadata["mam_id"] for v in asked.data for c in v.clips} <= {"v-cats", "v-ocean"}
    # so the SDK pager, which fetches later pages without the flag, has metadata on page 1 only
    pager = client.search.query(index_id=library["index_id"], query_text="cat garden whale ocean",
                                search_options=["visual", "transcription"], group_by="video", page_limit=1,
                                include_user_metadata=True)
    videos = list(pager)
    assert len(videos) == 2
    assert videos[0].clips[0].user_metadata and videos[1].clips[0].user_metadata is None


def test_audio_is_non_speech_sound_and_transcription_is_speech(client, library):
    idx = library["index_id"]
    spoken = "orange cat jumps over the fence"  # said in cats.mp4, never shown (its caption is "Garden Party")
    heard = client.search.create(index_id=idx, query_text=spoken, search_options=["transcription"],
                                 group_by="video")
    assert [v.id for v in heard.data] == [library["cats"].video_id]
    assert heard.data[0].clips[0].transcription  # the words heard in the clip
    # Marengo 3.0's `audio` is non-speech sound: speech never answers it (this stand-in hears no other sound)
    assert client.search.create(index_id=idx, query_text=spoken, search_options=["audio"]).data == []
    assert client.search.create(index_id=idx, query_text=spoken, search_options=["visual"]).data == []
    assert client.search.create(index_id=idx, query_text=spoken, search_options=["transcription", "audio"],
                                operator="and").data == []
    either = client.search.create(index_id=idx, query_text=spoken, search_options=["transcription", "audio"])
    assert {c.video_id for c in either.data} == {library["cats"].video_id}
    # `visual` is the picture and on-screen text: the caption is found there, and not by transcription
    assert [c.video_id for c in client.search.create(index_id=idx, query_text="garden party",
                                                     search_options=["visual"]).data] == [library["cats"].video_id]


def test_search_options_need_a_marengo_index_with_the_matching_model_option(client):
    seen = client.indexes.create(index_name=f"visual-only-{time.time_ns()}",
                                 models=[{"model_name": "marengo3.0", "model_options": ["visual"]}])
    for option in ("transcription", "audio"):  # both come from the index option `audio`
        with pytest.raises(BadRequestError) as err:
            client.search.create(index_id=seen.id, query_text="cat", search_options=[option])
        assert err.value.body["code"] == "search_option_not_supported"
    assert client.search.create(index_id=seen.id, query_text="cat", search_options=["visual"]).data == []
    generative = client.indexes.create(index_name=f"pegasus-{time.time_ns()}",
                                       models=[{"model_name": "pegasus1.2", "model_options": ["visual", "audio"]}])
    with pytest.raises(BadRequestError) as err:
        client.search.create(index_id=generative.id, query_text="cat", search_options=["visual"])
    assert err.value.body["code"] == "index_not_supported_for_search"
    with pytest.raises(BadRequestError):  # thumbnails are a Marengo add-on
        client.indexes.create(index_name=f"pegasus-thumbs-{time.time_ns()}", addons=["thumbnail"],
                              models=[{"model_name": "pegasus1.2", "model_options": ["visual", "audio"]}])
    with pytest.raises(BadRequestError):  # not a model SDK 1.3.x documents (2.7 would answer with scores)
        client.indexes.create(index_name=f"old-{time.time_ns()}",
                              models=[{"model_name": "marengo2.7", "model_options": ["visual", "audio"]}])
    for index in (seen, generative):
        client.indexes.delete(index.id)


def test_task_user_metadata_values_are_scalars(client, library, files):
    with pytest.raises(BadRequestError) as err:
        client.tasks.create(index_id=library["index_id"], video_url=f"{files}/cats.mp4",
                            user_metadata=json.dumps({"tags": ["a", "b"]}))
    assert err.value.body["code"] == "parameter_invalid"


# ---- index videos, token invalidation, delete ----------------------------------------------------------------
def test_videos_list_retrieve_transcription_and_delete(client, library, files):
    idx = library["index_id"]
    videos = list(client.indexes.videos.list(idx, page_limit=50))
    listed = {v.id for v in videos}
    assert {library["cats"].video_id, library["ocean"].video_id} <= listed
    # list items are "video vectors": no user metadata, no stream (those come with retrieve)
    for v in videos:
        assert not v.model_extra, v.model_extra
        assert _raw_keys(v) == {"id", "created_at", "updated_at", "indexed_at", "system_metadata"}
        assert _raw_keys(v) <= set(VideoVector.model_fields)
    v = client.indexes.videos.retrieve(idx, library["cats"].video_id, transcription=True)
    assert v.system_metadata.filename == "cats.mp4" and v.user_metadata["mam_id"] == "v-cats"
    assert "garden" in " ".join(seg.value for seg in v.transcription)

    # a third video so that deleting it changes the index under a live page token
    t = client.tasks.create(index_id=idx, video_url=f"{files}/cats.mp4")
    task, _ = wait_done(client, t.id)
    res = client.search.create(index_id=idx, query_text="cat garden whale", search_options=["audio", "visual"],
                               group_by="video", page_limit=1)
    token = res.page_info.next_page_token
    assert token
    client.indexes.videos.delete(idx, task.video_id)
    with pytest.raises(BadRequestError) as err:
        client.search.retrieve(token)
    assert err.value.body["code"] == "search_page_token_expired"
    with pytest.raises(NotFoundError):
        client.indexes.videos.retrieve(idx, task.video_id)
    found = client.search.create(index_id=idx, query_text="orange cat garden fence", search_options=["transcription"],
                                 group_by="video")
    assert library["cats"].video_id in {r.id for r in found.data}  # the same words, still found in the first copy
    assert task.video_id not in {r.id for r in found.data}


# ---- webhooks --------------------------------------------------------------------------------------------
def test_webhooks_signed_like_twelve_labs(client, library, receiver, files):
    got = receiver[1]
    bad = client.tasks.create(index_id=library["index_id"], video_url=f"{files}/short.mp4")
    deadline = time.time() + 10
    wanted = {library["cats"].id, library["ocean"].id, bad.id}
    while time.time() < deadline and not wanted <= {json.loads(b)["data"]["id"] for _, b in got}:
        time.sleep(0.1)
    events = {json.loads(b)["data"]["id"]: (h, b) for h, b in got}
    assert wanted <= set(events)
    headers, body = events[library["cats"].id]
    event = json.loads(body)
    assert event["type"] == "index.task.ready" and event["data"]["status"] == "ready"
    assert event["id"].startswith("whe_")
    parts = dict(p.split("=", 1) for p in headers["TL-Signature"].split(","))
    assert abs(int(parts["t"]) - time.time()) < 60
    want = hmac.new(SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], want)
    assert json.loads(events[bad.id][1])["type"] == "index.task.failed"

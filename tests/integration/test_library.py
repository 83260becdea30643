"""Library journey (J4) against the real local parts: the `library` function under functions-framework, the
Firestore and Auth emulators, moto as B2 and a local Twelve Labs holding real index entries."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests
from conftest import LOGS, id_token
from fixtures.library import (
    LibraryFunction,
    index_entries,
    new_index_name,
    store_video,
    tl_client,
)
from standins.twelvelabs import StandIn, make_video

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def standin():
    with StandIn("--index-seconds", "0.5", "--no-understanding",
                 log_path=str(LOGS / "test-twelvelabs-library.log")) as s:
        yield s


@pytest.fixture(scope="module")
def index_name() -> str:
    return new_index_name("library-test")


@pytest.fixture(scope="module")
def fn(emulators, stack, standin, index_name):
    with LibraryFunction(stack, standin, index_name) as f:
        yield f


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    path = make_video(tmp_path_factory.mktemp("lib") / "clip.mp4", caption="Library", seconds=4.2)
    with open(path, "rb") as fh:
        return fh.read()


@pytest.fixture(scope="module")
def viewer_token(stack, auth_emulator) -> str:
    return id_token(stack, "viewer@example.com", "viewer-password")


def _settings():
    from mam.settings import load_settings

    return load_settings("b2").b2


def _exists(key: str) -> bool:
    from mam.clients import b2

    return b2.head(_settings(), key) is not None


def _record(vid: str):
    from mam import store

    return store.get_video(vid)


def _error(resp: requests.Response) -> str:
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert "Traceback" not in resp.text
    return body["error"]["code"]


# ---- list and detail -----------------------------------------------------------------------------------------
def test_list_is_newest_first_with_the_total_and_pages(fn, clean_firestore, clip, stack):
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ids = [store_video("uploads/{id}/web.mp4", clip, title=f"Video {n}", created_at=t0 + dt.timedelta(minutes=n))
           for n in range(5)]
    origin = stack.url("frontend")
    first = fn.get("/videos?page=1&page_size=2", headers={"Origin": origin})  # anonymous: PUBLIC_READ is on
    assert first.status_code == 200, first.text
    assert first.headers["Access-Control-Allow-Origin"] == origin
    body = first.json()
    assert (body["total"], body["page"], body["page_size"]) == (5, 1, 2)
    assert [v["id"] for v in body["videos"]] == [ids[4], ids[3]]
    assert [v["id"] for v in fn.get("/videos?page=2&page_size=2").json()["videos"]] == [ids[2], ids[1]]
    last = fn.get("/videos?page=3&page_size=2").json()
    assert [v["id"] for v in last["videos"]] == [ids[0]] and last["total"] == 5
    assert fn.get("/videos?page=4&page_size=2").json()["videos"] == []
    assert [v["id"] for v in fn.get("/videos").json()["videos"]] == ids[::-1]  # default page size 24
    for bad in ("page=0", "page_size=101", "page=x"):
        resp = fn.get(f"/videos?{bad}")
        assert resp.status_code == 400 and _error(resp).startswith("invalid_page"), bad


def test_pages_never_repeat_or_lose_videos_created_at_the_same_instant(fn, clean_firestore, clip):
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    same = [store_video("uploads/{id}/web.mp4", clip, created_at=t0) for _ in range(5)]
    newer = store_video("uploads/{id}/web.mp4", clip, created_at=t0 + dt.timedelta(seconds=1))
    seen = []
    for page in (1, 2, 3, 4):
        body = fn.get(f"/videos?page={page}&page_size=2").json()
        assert body["total"] == 6
        seen += [v["id"] for v in body["videos"]]
    assert seen[0] == newer and len(seen) == 6 and set(seen[1:]) == set(same)


def test_detail_plays_the_stored_file_and_unknown_ids_are_404(fn, clean_firestore, clip):
    from mam.clients import b2

    vid = store_video("uploads/{id}/original/clip.mp4", clip, title="Cats", duration=4.2, width=640, height=360,
                      size=len(clip))
    b2.put_bytes(_settings(), f"uploads/{vid}/thumbnail.jpg", b"\xff\xd8\xff\xe0jpeg", "image/jpeg")
    from mam import store

    store.update_video(vid, lambda v: setattr(v, "b2_thumbnail", f"uploads/{vid}/thumbnail.jpg") or True)
    resp = fn.get(f"/videos/{vid}")
    assert resp.status_code == 200, resp.text
    video = resp.json()
    assert {k: video[k] for k in ("id", "title", "owner", "status", "duration", "width", "height", "size",
                                  "indexed")} == {"id": vid, "title": "Cats", "owner": "demo@example.com",
                                                  "status": "uploaded", "duration": 4.2, "width": 640,
                                                  "height": 360, "size": len(clip), "indexed": False}
    assert requests.get(video["playback_url"], timeout=10).content == clip
    assert requests.get(video["thumbnail_url"], timeout=10).content.startswith(b"\xff\xd8\xff")
    for missing in ("0" * 20, "no-such-video", "..", "a%20b"):
        resp = fn.get(f"/videos/{missing}")
        assert resp.status_code == 404 and _error(resp) == "not_found", missing


# ---- delete --------------------------------------------------------------------------------------------------
def test_delete_removes_b2_objects_then_the_index_entry_then_the_record(fn, clean_firestore, clip, demo_token,
                                                                        standin, index_name):
    from mam import store
    from mam.clients import b2

    client = tl_client(standin, index_name)
    vid = store_video("uploads/{id}/original/clip.mp4", clip, status="ready")
    keys = [f"uploads/{vid}/original/clip.mp4", f"uploads/{vid}/web.mp4", f"uploads/{vid}/thumbnail.jpg",
            f"thumbnails/{vid}.jpg"]
    for key in keys[1:]:
        b2.put_bytes(_settings(), key, b"x", "application/octet-stream")
    [tl_id] = index_entries(client, [(keys[0], {"mam_id": vid})])
    store.update_video(vid, lambda v: bool(setattr(v, "tl_video_id", tl_id) or setattr(v, "b2_web", keys[1])
                                           or setattr(v, "b2_thumbnail", keys[2])) or True)
    other = store_video("uploads/{id}/original/keep.mp4", clip)  # not selected: must survive
    assert client.get_video(tl_id) is not None and all(_exists(k) for k in keys)

    resp = fn.post("/videos/delete", demo_token, json={"ids": [vid]})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"results": {vid: {"ok": True, "error": None}}}
    assert not any(_exists(k) for k in keys)
    assert client.get_video(tl_id) is None
    assert _record(vid) is None
    assert _record(other) is not None and _exists(f"uploads/{other}/original/keep.mp4")

    again = fn.post("/videos/delete", demo_token, json={"ids": [vid]})  # everything already gone: still fine
    assert again.json() == {"results": {vid: {"ok": True, "error": None}}}


def test_delete_tolerates_parts_that_are_already_gone(fn, clean_firestore, clip, demo_token, standin, index_name):
    from mam import store
    from mam.clients import b2

    client = tl_client(standin, index_name)
    # index entry deleted behind our back, B2 file gone too: the record still goes
    a = store_video("uploads/{id}/original/a.mp4", clip, status="ready")
    [tl_a] = index_entries(client, [(f"uploads/{a}/original/a.mp4", {"mam_id": a})])
    store.update_video(a, lambda v: setattr(v, "tl_video_id", tl_a) or True)
    assert client.delete_video(tl_a)
    b2.delete_keys(_settings(), [f"uploads/{a}/original/a.mp4"])
    # never indexed, discovered file in the videos prefix
    b = store_video("videos/delete-me-{id}.mp4", clip, source="discovered", owner="")
    key_b = _record(b).b2_original
    missing = uuid.uuid4().hex[:20]

    resp = fn.post("/videos/delete", demo_token, json={"ids": [a, b, missing, a]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["results"] == {a: {"ok": True, "error": None}, b: {"ok": True, "error": None},
                                      missing: {"ok": True, "error": None}}
    assert _record(a) is None and _record(b) is None and not _exists(key_b)


def test_a_failing_index_delete_keeps_the_record_and_a_retry_finishes(fn, clean_firestore, clip, demo_token,
                                                                       standin, index_name):
    from mam import store

    client = tl_client(standin, index_name)
    vid = store_video("uploads/{id}/original/clip.mp4", clip, status="ready")
    [tl_id] = index_entries(client, [(f"uploads/{vid}/original/clip.mp4", {"mam_id": vid})])
    store.update_video(vid, lambda v: setattr(v, "tl_video_id", tl_id) or True)
    standin.admin("POST", "/faults", json={"method": "DELETE", "path": "/indexes/[^/]+/videos/[^/]+",
                                           "status": 503, "times": 1})
    resp = fn.post("/videos/delete", demo_token, json={"ids": [vid]})
    assert resp.status_code == 200, resp.text
    result = resp.json()["results"][vid]
    assert result["ok"] is False and "Twelve Labs" in result["error"] and "try again" in result["error"]
    # the files went first; the entry and the record stay until the index entry is really gone
    assert not _exists(f"uploads/{vid}/original/clip.mp4")
    assert client.get_video(tl_id) is not None and _record(vid) is not None
    retry = fn.post("/videos/delete", demo_token, json={"ids": [vid]})
    assert retry.json()["results"][vid] == {"ok": True, "error": None}
    assert client.get_video(tl_id) is None and _record(vid) is None


def test_delete_all_and_bad_requests(fn, clean_firestore, clip, demo_token, viewer_token):
    ids = [store_video("uploads/{id}/original/x.mp4", clip) for _ in range(3)]
    assert fn.post("/videos/delete", json={"ids": ids}).status_code == 401  # anonymous
    assert fn.post("/videos/delete", "forged", json={"ids": ids}).status_code == 401
    for body, code in (({}, "ids_or_all"), ({"ids": []}, "no_ids"), ({"ids": "x"}, "invalid_ids"),
                       ({"ids": ["a/b"]}, "invalid_ids"), ({"ids": [".."]}, "invalid_ids"),
                       ({"ids": ids, "all": True}, "ids_or_all")):
        resp = fn.post("/videos/delete", demo_token, json=body)
        assert resp.status_code == 400 and _error(resp) == code, body
    resp = fn.post("/videos/delete", demo_token, data="{nope", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and _error(resp) == "invalid_json"
    # a signed-in stranger deletes nothing (tests/integration/test_roles.py has every role); an admin deletes all
    for body in ({"all": True}, {"ids": ids}):
        resp = fn.post("/videos/delete", viewer_token, json=body)
        assert resp.status_code == 403 and _error(resp) == "not_a_member", body
    assert all(_record(i) for i in ids)
    resp = fn.post("/videos/delete", demo_token, json={"all": True})
    assert resp.status_code == 200, resp.text
    assert resp.json()["results"] == {i: {"ok": True, "error": None} for i in ids}
    assert all(_record(i) is None for i in ids)


# ---- reset ---------------------------------------------------------------------------------------------------
def test_reset_needs_an_admin_and_deletes_everything(fn, clean_firestore, clip, demo_token, viewer_token, standin,
                                                     index_name):
    from mam.clients import b2

    client = tl_client(standin, index_name)
    ids = [store_video("uploads/{id}/original/x.mp4", clip) for _ in range(2)]
    orphan_key = f"uploads/{uuid.uuid4().hex[:20]}/original/abandoned.mp4"  # an upload whose record is gone
    b2.put_bytes(_settings(), orphan_key, b"x", "video/mp4")
    [orphan_entry] = index_entries(client, [(f"uploads/{ids[0]}/original/x.mp4", {"mam_id": "gone-record"})])

    assert fn.post("/reset").status_code == 401
    resp = fn.post("/reset", viewer_token)
    assert resp.status_code == 403 and _error(resp) == "admin_required"
    assert all(_record(i) for i in ids)

    resp = fn.post("/reset", demo_token)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["deleted"] == 2 and body["failed"] == {} and body["complete"] is True
    assert body["leftovers"]["b2"] >= 1 and body["leftovers"]["index"] >= 1
    assert fn.get("/videos").json() == {"videos": [], "total": 0, "page": 1, "page_size": 24}
    assert not _exists(orphan_key) and not any(_exists(f"uploads/{i}/original/x.mp4") for i in ids)
    assert client.get_video(orphan_entry) is None


def test_unknown_routes_and_methods_answer_json(fn):
    resp = fn.get("/nope")
    assert resp.status_code == 404 and _error(resp) == "not_found"
    resp = fn.get("/videos/delete")  # GET of the delete route is a detail lookup of an unknown id
    assert resp.status_code == 404
    resp = requests.put(fn.url + "/videos", timeout=10)
    assert resp.status_code == 405 and _error(resp) == "method_not_allowed"

"""POST /search/image against the real local parts: the library function, Firestore and B2 emulators and the local
Twelve Labs, whose image search matches a query picture to the keyframes it indexed. Pictures are checked before
any Twelve Labs call: the stand-in's call counters prove that a refused picture cost nothing."""
from __future__ import annotations

import struct
import subprocess
import zlib

import pytest
from conftest import LOGS, wait_for
from fixtures.library import LibraryFunction, env_for, index_entries, new_index_name, store_video, tl_client
from standins.twelvelabs import StandIn, make_video

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def standin():
    with StandIn("--index-seconds", "0.5", log_path=str(LOGS / "test-twelvelabs-image-search.log")) as s:
        yield s


@pytest.fixture(scope="module")
def index_name() -> str:
    return new_index_name("image-search")


@pytest.fixture(scope="module")
def library(emulators, stack, standin, index_name):
    with LibraryFunction(stack, standin, index_name) as fn:
        yield fn


@pytest.fixture(scope="module")
def videos(library, standin, index_name, stack, tmp_path_factory, monkeypatch_module):
    """Two indexed videos that look nothing alike; the harbour one has chapters."""
    from mam import store
    from mam.store import insights as insight_store

    for k, v in env_for(stack, standin, index_name).items():
        monkeypatch_module.setenv(k, v)
    folder = tmp_path_factory.mktemp("image-search")
    made = {}
    for name, color, caption in (("harbour", "darkorange", "HARBOUR"), ("forest", "darkgreen", "FOREST")):
        path = make_video(folder / f"{name}.mp4", caption=caption, color=color, seconds=6)
        made[name] = (path, store_video("uploads/{id}/original/clip.mp4", open(path, "rb").read(), title=name))
    client = tl_client(standin, index_name)
    tl_ids = index_entries(client, [(f"uploads/{vid}/original/clip.mp4", {"mam_id": vid}) for _, vid in made.values()])
    # a video is listed once the stand-in has understood it (its keyframes included), shortly after its task is ready
    wait_for(lambda: len(client.list_videos()) >= 2, timeout=90, what="videos understood")
    for (name, (_, vid)), tl_id in zip(made.items(), tl_ids):
        store.update_video(vid, lambda v, t=tl_id: setattr(v, "status", "ready") or setattr(v, "tl_video_id", t) or True)
    harbour = made["harbour"][1]
    insight_store.update(harbour, lambda i: setattr(i, "chapters", [
        {"start": 0.0, "end": 3.0, "title": "Arrival", "summary": "a"},
        {"start": 3.0, "end": 6.0, "title": "Departure", "summary": "b"}]) or True)
    return made


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def frame(path, at: float, out, size: str = "640x360") -> bytes:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", str(at), "-i", str(path), "-frames:v", "1",
                    "-s", size, str(out)], check=True)
    return out.read_bytes()


def png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def tl_total(standin) -> int:
    return sum(n for per_key in standin.admin("GET", "/stats").json()["calls"].values() for n in per_key.values())


def search_image(library, image: bytes | None, name: str = "q.jpg", kind: str = "image/jpeg", **kw):
    files = {"image": (name, image, kind)} if image is not None else None
    return library.post("/search/image", files=files, **kw)


def test_a_frame_of_a_video_finds_that_video_first_with_its_chapter(library, videos, tmp_path):
    path, vid = videos["harbour"]
    resp = search_image(library, frame(path, 4.0, tmp_path / "f.jpg"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["query"] is None and body["kind"] == "image"
    assert body["results"] and body["results"][0]["video"]["id"] == vid
    clips = body["results"][0]["clips"]
    assert clips and all(c["matched"] == ["visual"] for c in clips)
    for clip in clips:
        assert clip["chapter"]["title"] == ("Arrival" if clip["start"] < 3.0 else "Departure")
    png_resp = search_image(library, frame(videos["forest"][0], 2.0, tmp_path / "f.png"), "q.png", "image/png")
    assert png_resp.status_code == 200 and png_resp.json()["results"][0]["video"]["id"] == videos["forest"][1]


def test_pictures_are_refused_before_any_twelvelabs_call(library, videos, standin, tmp_path):
    jpeg = frame(videos["harbour"][0], 1.0, tmp_path / "ok.jpg")
    cases = [
        (search_image(library, None, data={"other": "x"}), 400, "image_missing"),
        (library.post("/search/image", files={"picture": ("q.jpg", jpeg, "image/jpeg")}), 400, "image_missing"),
        (library.post("/search/image", json={"image": "x"}), 400, "image_missing"),
        (search_image(library, b"GIF89a" + b"\x00" * 200, "q.gif", "image/gif"), 415, "image_type"),
        (search_image(library, b"%PDF-1.4 not a picture", "q.jpg", "image/jpeg"), 415, "image_type"),
        (search_image(library, png(48, 300), "q.png", "image/png"), 400, "image_too_small"),
        (search_image(library, frame(videos["harbour"][0], 1.0, tmp_path / "tiny.jpg", "40x40")), 400,
         "image_too_small"),
        (search_image(library, jpeg[:3] + b"\x00" * 64), 400, "image_unreadable"),
        (search_image(library, png(64, 64)[:20], "q.png", "image/png"), 400, "image_unreadable"),
        # over 5 MB: a real picture with padding after its end (caught by its size, inside the request limit) and
        # a body far over it (refused by its Content-Length before it is read)
        (search_image(library, jpeg + b"\x00" * (5 * 1024 * 1024)), 413, "image_too_large"),
        (search_image(library, jpeg + b"\x00" * (8 * 1024 * 1024)), 413, "image_too_large"),
    ]
    before = tl_total(standin)
    for resp, status, code in cases:
        err = resp.json()["error"]
        assert (resp.status_code, err["code"]) == (status, code), resp.text
        assert err["message"].endswith(".") and "Traceback" not in resp.text
    assert tl_total(standin) == before  # none of them reached Twelve Labs
    assert search_image(library, jpeg).status_code == 200
    assert tl_total(standin) > before  # and a good one does


def test_an_image_search_pages_with_its_token_alone(library, videos, tmp_path):
    bad = library.get("/search", params={"page_token": "nonsense-token"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_page_token"
    assert library.get("/search").json()["error"]["code"] == "empty_query"  # no token: words are needed

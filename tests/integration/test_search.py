"""Search journey (J3) against the real local parts: the `library` function, Firestore, moto as B2, and a local
Twelve Labs that really understood a few short spoken, captioned videos (pocketsphinx + tesseract)."""
from __future__ import annotations

import uuid

import pytest
import requests
from conftest import LOGS
from fixtures.library import LibraryFunction, env_for, index_entries, new_index_name, store_video, tl_client

from standins.twelvelabs import StandIn, make_video

pytestmark = pytest.mark.timeout(180)

VIDEOS = {  # name -> (narration, caption)
    "cats": ("Two cats are playing on the kitchen floor with a red ball.", "CATS PLAYING"),
    "ocean": ("The ocean waves roll onto the beach at sunset.", "OCEAN WAVES"),
    "nap": ("A dog sleeps on the sofa next to the window.", "CAT NAP"),
}


@pytest.fixture(scope="module")
def standin():
    with StandIn("--index-seconds", "0.5", "--workers", "2",
                 log_path=str(LOGS / "test-twelvelabs-search.log")) as s:
        yield s


@pytest.fixture(scope="module")
def index_name() -> str:
    return new_index_name("search-test")


@pytest.fixture(scope="module")
def library(emulators, stack, standin, index_name):
    """Records and index entries: three of ours, plus entries search must skip (unknown, foreign, stale)."""
    import urllib.request

    from mam import store

    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{stack.port('firestore') + 1}/reset",
                                                  method="POST"), timeout=5).read()
    ids, items = {}, []
    folder = LOGS.parent / "test-search-media"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (speech, caption) in VIDEOS.items():
        path = make_video(folder / f"{name}.mp4", speech=speech, caption=caption, seconds=4.5)
        with open(path, "rb") as fh:
            data = fh.read()
        ids[name] = store_video("uploads/{id}/web.mp4", data, title=name.title(), status="ready")
        items.append((f"uploads/{ids[name]}/web.mp4", {"mam_id": ids[name]}))
    cats_key = items[0][0]
    items += [(cats_key, {"mam_id": uuid.uuid4().hex[:20]}),  # a record we do not have
              (cats_key, {}),                                  # indexed by someone else
              (cats_key, {"mam_id": ids["cats"]})]             # an older entry of a re-indexed video
    tl_ids = index_entries(tl_client(standin, index_name), items, timeout=120)
    for n, name in enumerate(VIDEOS):
        store.update_video(ids[name], lambda v, t=tl_ids[n]: setattr(v, "tl_video_id", t) or True)
    return {"ids": ids, "tl": tl_ids}


@pytest.fixture(scope="module")
def fn(library, stack, standin, index_name):
    with LibraryFunction(stack, standin, index_name) as f:
        yield f


def _settings(stack, standin, index_name):
    from mam.settings import load_settings

    return load_settings("http", "b2", "twelvelabs", environ=env_for(stack, standin, index_name))


def test_results_are_ranked_grouped_by_video_and_joined_with_the_library(fn, library):
    resp = fn.get("/search", params={"q": "cats playing"})  # anonymous: PUBLIC_READ is on
    assert resp.status_code == 200, resp.text
    body = resp.json()
    ids = library["ids"]
    assert body["query"] == "cats playing" and body["kind"] == "text" and body["next_page_token"] is None
    # the cats video (both words, spoken and shown) before the cat nap (one word); no ocean; the three entries
    # that map to no current record are skipped, so every video appears once
    assert [r["video"]["id"] for r in body["results"]] == [ids["cats"], ids["nap"]]
    top = body["results"][0]
    assert top["video"]["title"] == "Cats" and top["video"]["indexed"] is True
    assert set(top["video"]) == {"id", "title", "description", "owner", "created_at", "updated_at", "status",
                                 "status_reason", "duration", "size", "width", "height", "thumbnail_url",
                                 "playback_url", "indexed", "index_started_at", "index_progress",
                                 "index_estimate_seconds", "tags"}
    # Twelve Labs gives ranks, no scores: videos come by their best clip's rank, clips best first
    best = [min(c["rank"] for c in r["clips"]) for r in body["results"]]
    assert best == sorted(best)  # not from 1: the best ranks may belong to entries skipped as unknown
    clips = top["clips"]
    assert clips and [c["rank"] for c in clips] == sorted(c["rank"] for c in clips)
    for clip in clips:
        assert set(clip) == {"start", "end", "rank", "thumbnail_url", "matched", "transcript", "chapter"}
        assert clip["chapter"] is None  # no insights made for these videos
        assert 0 <= clip["start"] < clip["end"] <= 5.5
    thumb = requests.get(clips[0]["thumbnail_url"], timeout=10)
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"
    assert requests.get(top["video"]["playback_url"], timeout=10).content[:12].endswith(b"ftypisom")


def test_search_options_choose_what_is_searched(fn, library):
    seen = fn.get("/search", params={"q": "ocean waves", "options": "visual"}).json()["results"]
    assert [r["video"]["id"] for r in seen] == [library["ids"]["ocean"]]
    # "audio" is speech and sound: Twelve Labs' `transcription` finds the words (its `audio` is non-speech sound)
    heard = fn.get("/search", params={"q": "sofa window dog", "options": "audio"}).json()["results"]
    assert [r["video"]["id"] for r in heard] == [library["ids"]["nap"]]  # only ever said, never shown
    assert fn.get("/search", params={"q": "sofa window dog", "options": "visual"}).json()["results"] == []
    assert fn.get("/search", params={"q": "zebra"}).json() == {"query": "zebra", "kind": "text", "results": [],
                                                              "next_page_token": None}


@pytest.mark.parametrize("params, code", [
    ({}, "empty_query"), ({"q": "   "}, "empty_query"), ({"q": "x" * 501}, "query_too_long"),
    ({"q": "cats", "options": "smell"}, "invalid_options"), ({"q": "cats", "page_token": "a/b"}, "invalid_page_token"),
    ({"q": "cats", "page_token": "never-issued"}, "invalid_page_token"),
])
def test_bad_searches_are_400_with_a_json_error(fn, params, code):
    resp = fn.get("/search", params=params)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == code and "Traceback" not in resp.text


def test_pages_follow_the_token_and_unknown_videos_are_skipped_and_logged(library, stack, standin, index_name,
                                                                           monkeypatch, capsys):
    from mam.library import search

    settings = _settings(stack, standin, index_name)
    monkeypatch.setattr(search, "PAGE_LIMIT", 1)  # one video per page
    pages, token = [], None
    for _ in range(10):
        page = search.search(settings, "cats", ["visual", "audio"], token)
        pages.append([r["video"]["id"] for r in page["results"]])
        token = page["next_page_token"]
        if token is None:
            break
    ids = library["ids"]
    # five entries match "cat"; three map to no current record, so their pages come back empty
    assert len(pages) == 5 and sorted(v for p in pages for v in p) == sorted([ids["cats"], ids["nap"]])
    assert sum(1 for p in pages if not p) == 3
    logged = capsys.readouterr().out
    assert logged.count("search skipped videos unknown to the library") == 3
    for tl_id in library["tl"][3:]:
        assert tl_id in logged


def test_an_expired_page_token_asks_for_a_new_search(library, stack, standin, index_name, monkeypatch):
    from mam.http import ApiError
    from mam.library import search

    settings = _settings(stack, standin, index_name)
    monkeypatch.setattr(search, "PAGE_LIMIT", 1)
    first = search.search(settings, "cats", ["visual"], None)
    assert first["next_page_token"]
    # the index changes (an entry is removed): Twelve Labs invalidates the pages of earlier searches
    assert tl_client(standin, index_name).delete_video(library["tl"][4])
    with pytest.raises(ApiError) as err:
        search.search(settings, "cats", ["visual"], first["next_page_token"])
    assert (err.value.status, err.value.code) == (400, "page_token_expired")

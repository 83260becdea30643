"""The local Twelve Labs' lexical ranking, search filters and page tokens (pure logic, no server)."""
from __future__ import annotations

import time

import pytest

from localstack.twelvelabs import ranking
from localstack.twelvelabs import search as search_mod
from localstack.twelvelabs.state import Index, SearchSession, Store, Video


def words(*items):
    return [{"w": w, "s": s, "e": e} for w, s, e in items]


CATS = {"speech": words(("the", 1.0, 1.2), ("cats", 1.2, 1.6), ("are", 1.6, 1.8), ("playing", 1.8, 2.3),
                        ("on", 2.3, 2.4), ("the", 2.4, 2.5), ("floor", 2.5, 3.0), ("dogs", 40.0, 40.5)),
        "ocr": words(("kitchen", 20.0, 22.0))}
OCEAN = {"speech": words(("whales", 3.0, 3.5), ("swim", 3.5, 3.9), ("ocean", 4.0, 4.5)),
         "ocr": words(("cat", 8.0, 10.0))}


def test_stem_and_query_terms():
    assert ranking.stem("cats") == ranking.stem("cat") == "cat"
    assert ranking.stem("playing") == ranking.stem("play") == "play"
    assert ranking.stem("dancing") == ranking.stem("danced") == ranking.stem("dance")
    assert ranking.query_terms("Cats playing on the floor!") == ["cat", "play", "floor"]
    assert ranking.query_terms("the") == ["the"]  # all stopwords: keep them rather than match nothing


def test_rank_prefers_the_clip_covering_more_of_the_query():
    clips = ranking.rank([("v-cats", 60.0, CATS), ("v-ocean", 30.0, OCEAN)], "cats playing on the floor",
                         ["visual", "audio"])
    assert [c.video_id for c in clips] == ["v-cats", "v-ocean"]
    best = clips[0]
    assert best.start <= 1.2 and best.end >= 3.0 and best.end - best.start >= ranking.WINDOW_MIN
    assert best.sources == {"speech"} and clips[1].sources == {"ocr"}
    assert best.score > clips[1].score > 0


def test_options_choose_sources_and_and_needs_every_source():
    assert ranking.rank([("v", 60.0, CATS)], "kitchen", ["audio"]) == []
    assert [c.video_id for c in ranking.rank([("v", 60.0, CATS)], "kitchen", ["visual"])] == ["v"]
    assert ranking.rank([("v", 60.0, OCEAN)], "cat whales", ["visual", "audio"], operator="and") == []
    mixed = {"speech": words(("whales", 3.0, 3.5)), "ocr": words(("whales", 2.0, 4.0))}
    assert len(ranking.rank([("v", 10.0, mixed)], "whales", ["visual", "audio"], operator="and")) == 1


def test_far_apart_hits_make_separate_clips_inside_the_video():
    clips = ranking.rank([("v", 45.0, CATS)], "cats dogs", ["audio"])
    assert len(clips) == 2
    last = max(clips, key=lambda c: c.start)
    assert last.end <= 45.0 and last.end - last.start >= ranking.WINDOW_MIN


def test_filters_parse_and_match():
    v = Video(id="a", index_id="i", task_id="t", created_at=0, updated_at=0, indexed_at=0, path="",
              system_metadata={"duration": 12.0, "filename": "x.mp4", "width": 640}, user_metadata={"kind": "pets"},
              enable_video_stream=False)
    assert search_mod.matches(v, search_mod.parse_filter('{"duration": {"gte": 10, "lte": 20}, "kind": "pets"}'))
    assert not search_mod.matches(v, search_mod.parse_filter('{"id": ["b", "c"]}'))
    assert search_mod.matches(v, search_mod.parse_filter('{"filename": "x.mp4", "width": 640}'))
    for bad in ("{nope", "[1]", '{"duration": {"between": 1}}', '{"id": [1]}', '{"x": [1, 2]}'):
        with pytest.raises(search_mod.SearchError) as err:
            search_mod.parse_filter(bad)
        assert err.value.code == "search_filter_invalid"


def _session(store: Store, expires_at: float, generation: int = 0) -> SearchSession:
    store.indexes["i"] = Index(id="i", name="n", models=[], addons=[], created_at=0, updated_at=0,
                               generation=generation)
    s = SearchSession(id="s", index_id="i", generation=0, expires_at=expires_at, pages=[[{"a": 1}], [{"b": 2}]],
                      tokens=["tok0", "tok1"], page_limit=1, total_results=2, total_inner_matches=None,
                      search_pool={}, include_user_metadata=False)
    store.sessions["s"] = s
    store.page_tokens.update({"tok0": ("s", 0), "tok1": ("s", 1)})
    return s


def test_page_tokens_work_then_expire():
    store = Store()
    _session(store, time.time() + 60)
    page = search_mod.retrieve(store, "tok1", None)
    assert page["data"] == [{"b": 2}] and page["page_info"]["prev_page_token"] == "tok0"
    assert "next_page_token" not in page["page_info"]
    _session(store, time.time() - 1)
    with pytest.raises(search_mod.SearchError) as err:
        search_mod.retrieve(store, "tok1", None)
    assert err.value.code == "search_page_token_expired"
    with pytest.raises(search_mod.SearchError):
        search_mod.retrieve(store, "never-issued", None)


def test_page_tokens_die_when_the_index_changes():
    store = Store()
    _session(store, time.time() + 60)
    store.bump("i")
    with pytest.raises(search_mod.SearchError) as err:
        search_mod.retrieve(store, "tok0", None)
    assert err.value.code == "search_page_token_expired"

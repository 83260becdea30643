"""The local Twelve Labs' lexical ranking, search filters and page tokens (pure logic, no server)."""
from __future__ import annotations

import time

import pytest

from localdev.twelvelabs import ranking
from localdev.twelvelabs import search as search_mod
from localdev.twelvelabs.state import Index, SearchSession, Store, Video


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
    assert ranking.query_terms("the") == []  # stopwords alone match nothing (issue 13, problem 5)
    assert ranking.rank([("v-cats", 60.0, CATS)], "the", ["visual", "transcription"]) == []


def test_rank_prefers_the_clip_covering_more_of_the_query():
    clips = ranking.rank([("v-cats", 60.0, CATS), ("v-ocean", 30.0, OCEAN)], "cats playing on the floor",
                         ["visual", "transcription"])
    assert [c.video_id for c in clips] == ["v-cats", "v-ocean"]
    best = clips[0]
    assert best.start <= 1.2 and best.end >= 3.0 and best.end - best.start >= ranking.WINDOW_MIN
    assert best.sources == {"speech"} and clips[1].sources == {"ocr"}
    assert best.score > clips[1].score > 0


def test_options_choose_sources_and_and_needs_every_source():
    assert ranking.rank([("v", 60.0, CATS)], "kitchen", ["transcription"]) == []
    assert [c.video_id for c in ranking.rank([("v", 60.0, CATS)], "kitchen", ["visual"])] == ["v"]
    assert ranking.rank([("v", 60.0, OCEAN)], "cat whales", ["visual", "transcription"], operator="and") == []
    mixed = {"speech": words(("whales", 3.0, 3.5)), "ocr": words(("whales", 2.0, 4.0))}
    assert len(ranking.rank([("v", 10.0, mixed)], "whales", ["visual", "transcription"], operator="and")) == 1


def test_audio_is_non_speech_sound_which_the_stand_in_cannot_hear():
    # Marengo 3.0: `audio` = non-speech sound, `transcription` = speech. No sound model here: audio finds nothing.
    assert ranking.rank([("v", 60.0, CATS)], "cats playing", ["audio"]) == []
    assert [c.sources for c in ranking.rank([("v", 60.0, CATS)], "cats playing", ["transcription"])] == [{"speech"}]
    # with `or` audio adds nothing; with `and` it must match too, so nothing does
    assert len(ranking.rank([("v", 60.0, CATS)], "cats playing", ["audio", "transcription"])) == 1
    mixed = {"speech": words(("whales", 3.0, 3.5)), "ocr": words(("whales", 2.0, 4.0))}
    assert ranking.rank([("v", 10.0, mixed)], "whales", ["visual", "transcription", "audio"], operator="and") == []


def test_far_apart_hits_make_separate_clips_inside_the_video():
    clips = ranking.rank([("v", 45.0, CATS)], "cats dogs", ["transcription"])
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
    # fps is no search filter field in the docs: it is read as user metadata, which this video lacks
    v.system_metadata["fps"] = 25.0
    assert not search_mod.matches(v, search_mod.parse_filter('{"fps": 25}'))
    for bad in ("{nope", "[1]", '{"duration": {"between": 1}}', '{"id": [1]}', '{"x": [1, 2]}'):
        with pytest.raises(search_mod.SearchError) as err:
            search_mod.parse_filter(bad)
        assert err.value.code == "search_filter_invalid"


def _session(store: Store, expires_at: float, generation: int = 0) -> SearchSession:
    store.indexes["i"] = Index(id="i", name="n", models=[], addons=[], created_at=0, updated_at=0,
                               generation=generation)
    s = SearchSession(id="s", index_id="i", generation=0, expires_at=expires_at, pages=[[{"a": 1}], [{"b": 2}]],
                      tokens=["tok0", "tok1"], page_limit=1, total_results=2, total_inner_matches=None,
                      search_pool={})
    store.sessions["s"] = s
    store.page_tokens.update({"tok0": ("s", 0), "tok1": ("s", 1)})
    return s


def test_page_tokens_work_then_expire():
    store = Store()
    _session(store, time.time() + 60)
    page = search_mod.retrieve(store, "tok1")
    assert page["data"] == [{"b": 2}] and page["page_info"]["prev_page_token"] == "tok0"
    assert "next_page_token" not in page["page_info"]
    _session(store, time.time() - 1)
    with pytest.raises(search_mod.SearchError) as err:
        search_mod.retrieve(store, "tok1")
    assert err.value.code == "search_page_token_expired"
    with pytest.raises(search_mod.SearchError) as err:
        search_mod.retrieve(store, "never-issued")
    assert err.value.code == "parameter_invalid"
    # long after expiry the search is dropped, yet a token we issued still reads as expired, not unknown
    store.sessions["s"].expires_at = time.time() - 7200
    store.drop_expired_sessions(time.time())
    assert "s" not in store.sessions
    with pytest.raises(search_mod.SearchError) as err:
        search_mod.retrieve(store, "tok1")
    assert err.value.code == "search_page_token_expired"


def test_page_tokens_die_when_the_index_changes():
    store = Store()
    _session(store, time.time() + 60)
    store.bump("i")
    with pytest.raises(search_mod.SearchError) as err:
        search_mod.retrieve(store, "tok0")
    assert err.value.code == "search_page_token_expired"


def test_user_metadata_is_shown_only_on_pages_that_ask_for_it():
    store = Store()
    s = _session(store, time.time() + 60)
    s.pages = [[{"id": "v1", "clips": [{"video_id": "v1", "rank": 1, "user_metadata": {"mam_id": "a"}}]}],
               [{"id": "v2", "clips": [{"video_id": "v2", "rank": 2, "user_metadata": {"mam_id": "b"}}]}]]
    # the first page's include_user_metadata does not carry over: a later page without the flag has none
    bare = search_mod.retrieve(store, "tok1")
    assert bare["data"] == [{"id": "v2", "clips": [{"video_id": "v2", "rank": 2}]}]
    asked = search_mod.retrieve(store, "tok1", include_meta=True)
    assert asked["data"][0]["clips"][0]["user_metadata"] == {"mam_id": "b"}
    assert "user_metadata" not in asked["data"][0]  # a video group is {id, clips}


def test_query_token_estimate_errs_high():
    assert search_mod.query_tokens("cats playing on the floor") == 7  # "playing" and "floor" count 2 each
    assert search_mod.query_tokens("Hello, world!") == 6
    # 500 short words are at the limit; the app's 500-character queries never exceed it
    assert search_mod.query_tokens(" ".join(["cat"] * 500)) == 500
    assert search_mod.query_tokens("x" * 500) <= search_mod.MAX_QUERY_TOKENS
    assert search_mod.query_tokens("!" * 501) > search_mod.MAX_QUERY_TOKENS

"""The local Twelve Labs' analyze facts (pure logic): chapters at scene cuts or speech pauses, an extractive
summary, titles from on-screen phrases in reading order, keyword topics and hashtags."""
from __future__ import annotations

from localdev.twelvelabs import insights


def utt(start, end, text):
    return {"start": start, "end": end, "value": text}


def ocr(word, s, e, x=0, y=300):
    return {"w": word, "s": s, "e": e, "x": x, "y": y}


TOUR = {"transcript": [utt(0.5, 3.0, "the boats rest in the harbour"), utt(6.0, 9.0, "fresh bread at the old market"),
                       utt(11.0, 14.0, "the castle stands on the hill")],
        "ocr": [ocr("harbour", 0, 5), ocr("market", 5, 10, x=300), ocr("old", 5, 10, x=10),
                ocr("castle", 10, 15), ocr("hill", 10, 15, x=400)],
        "scenes": [5.0, 10.0, 10.8]}


def test_chapters_follow_scene_cuts_and_are_titled_by_their_caption():
    ins = insights.build(TOUR, 15.0)
    assert [(c.start, c.end) for c in ins.chapters] == [(0.0, 5.0), (5.0, 10.0), (10.0, 15.0)]  # 10.8: too close
    assert [c.title for c in ins.chapters] == ["Harbour", "Old Market", "Castle Hill"]  # reading order, not a-z
    assert [c.summary for c in ins.chapters] == ["The boats rest in the harbour.", "Fresh bread at the old market.",
                                                 "The castle stands on the hill."]


def test_summary_is_extracted_from_what_was_said():
    ins = insights.build(TOUR, 15.0)
    said = {insights.sentence(u["value"]) for u in TOUR["transcript"]}
    assert ins.sentences and set(ins.sentences) <= said and ins.summary == " ".join(ins.sentences)
    assert ins.topics[:3] == sorted(ins.topics[:3], key=lambda t: -len(t)) or "old market" in ins.topics
    assert all(h == "#" + t.replace(" ", "") for h, t in zip(ins.hashtags, ins.topics, strict=True))
    assert 1 <= len(ins.highlights) <= 3 and all(h.summary in said for h in ins.highlights)


def test_without_cuts_long_pauses_split_chapters():
    talk = {"transcript": [utt(0, 8, "we start the engine"), utt(8.2, 16, "we check the oil"),
                           utt(20, 28, "then we drive away"), utt(28.1, 35, "and park the car")]}
    ins = insights.build(talk, 36.0)
    assert [c.start for c in ins.chapters] == [0.0, 18.0]  # the one long pause; short ones do not cut
    assert not ins.has_text and ins.title  # keywords stand in for a caption


def test_window_and_empty_video():
    ins = insights.build(TOUR, 15.0, start=5.0, end=10.0)
    assert [c.title for c in ins.chapters] == ["Old Market"] and ins.start == 5.0 and ins.end == 10.0
    empty = insights.build({}, 6.0)
    assert [(c.start, c.end) for c in empty.chapters] == [(0.0, 6.0)] and empty.summary == ""
    assert empty.highlights == [] and not empty.has_speech

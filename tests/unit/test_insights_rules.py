"""Insights rules without I/O: the schema we send (only keywords the analyze API accepts) and how answers are
checked and tidied, the state machine (once per indexed version, regenerate, waiting, deadline), tags, WebVTT and
the query-image checks (on real PNG/JPEG files made by ffmpeg, and on hand-made headers)."""
from __future__ import annotations

import datetime as dt
import json
import struct
import subprocess
import zlib

import pytest
from mam.insights import budget, schema, states, tags, vtt
from mam.insights.record import GENERATING, QUEUED, READY, SKIPPED, WAITING, Insight
from mam.library import images

T0 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


def answer(**over) -> str:
    body = {"summary": "A  talk\nabout boats.", "title": "Boats", "topics": ["Sailing", "sailing", " boats "],
            "hashtags": ["#Sea", "#Sea"],
            "chapters": [{"start": 5, "end": 12, "title": "Harbour", "summary": "The harbour."},
                         {"start": -2, "end": 6, "title": "Intro", "summary": "Hello."},
                         {"start": 12, "end": 99, "title": "Open sea", "summary": "Waves."},
                         {"start": 3, "end": 3, "title": "Empty", "summary": "none"}],
            "highlights": [{"start": 7, "end": 8, "title": "Jump", "summary": "A dolphin."}]}
    body.update(over)
    return json.dumps(body)


# ---- schema ------------------------------------------------------------------------------------------------
def test_the_schema_uses_only_keywords_the_api_accepts_and_no_reserved_names():
    assert schema.unsupported_keywords(schema.INSIGHT_SCHEMA) == set()
    assert not {"minLength", "maxLength", "additionalProperties", "uniqueItems", "maxItems"} & \
        schema.keywords_used(schema.INSIGHT_SCHEMA)
    text = json.dumps(schema.INSIGHT_SCHEMA)
    assert '"start_time"' not in text and '"end_time"' not in text  # reserved names with their own rules
    assert schema.unsupported_keywords({"type": "string", "maxLength": 3}) == {"maxLength"}


def test_an_answer_is_checked_and_tidied_chapters_clamped_sorted_overlaps_cut():
    content = schema.parse(answer(), "stop", duration=30.0)
    assert content.summary == "A talk about boats." and content.title_suggestion == "Boats"
    assert content.topics == ["Sailing", "sailing", "boats"] and content.hashtags == ["#Sea"]
    assert [(c.start, c.end, c.title) for c in content.chapters] == [
        (0.0, 5.0, "Intro"), (5.0, 12.0, "Harbour"), (12.0, 30.0, "Open sea")]
    assert [(h.start, h.end) for h in content.highlights] == [(7.0, 8.0)]


@pytest.mark.parametrize("data,finish,why", [
    (answer(), "length", "cut short"),
    (answer()[:-20], "stop", "not JSON"),
    (json.dumps({"summary": "x"}), "stop", "missing"),
    (answer(chapters=[{"start": "0", "end": 1, "title": "a", "summary": "b"}]), "stop", "must be a number"),
    (answer(topics="sailing"), "stop", "must be an array"),
    ("[]", "stop", "must be an object"),
])
def test_unreadable_answers_are_refused(data, finish, why):
    with pytest.raises(schema.BadOutput, match=why):
        schema.parse(data, finish, duration=30.0)


# ---- states ------------------------------------------------------------------------------------------------
def test_a_run_starts_once_per_indexed_version_and_again_on_demand():
    ins = Insight("v1")
    assert states.start_run(ins, "tl1", T0, force=False) and (ins.state, ins.run) == (QUEUED, 1)
    assert not states.start_run(ins, "tl1", T0, force=False)  # Ready seen again (webhook and poll): nothing
    assert not states.start_run(ins, "tl1", T0, force=True)  # a run is under way: no second one
    assert states.begin_analysis(ins, 1, "2026-12-07", T0, attempt=0) and ins.state == GENERATING
    content = schema.parse(answer(), "stop", 30.0)
    assert states.finish_ready(ins, 1, content, {"input_tokens": 5, "output_tokens": 7}, T0)
    assert ins.state == READY and ins.chapters[0]["title"] == "Intro" and ins.usage == {"input_tokens": 5,
                                                                                        "output_tokens": 7}
    assert not states.finish_failed(ins, 1, "late")  # a stale task cannot undo it
    assert not states.start_run(ins, "tl1", T0, force=False)
    assert states.start_run(ins, "tl1", T0, force=True) and ins.run == 2 and ins.summary  # old content kept meanwhile
    assert not states.note_transcript(ins, 1, [], 3.0)  # run 1's tasks are stale now
    assert states.start_run(Insight("v2", state=READY, generated_for="tl-old", run=4), "tl-new", T0, force=False)


def test_waiting_does_not_count_towards_the_deadline_the_run_does_once_counted():
    ins = Insight("v1")
    states.start_run(ins, "tl1", T0 - dt.timedelta(days=1), force=False)
    assert states.wait(ins, 1, "cap") and ins.state == WAITING
    assert not states.past_deadline(ins, T0, 7200)  # a day of waiting is not a day of work
    states.begin_analysis(ins, 1, "2026-12-07", T0)
    assert not states.past_deadline(ins, T0 + dt.timedelta(seconds=7200), 7200)
    assert states.past_deadline(ins, T0 + dt.timedelta(seconds=7201), 7200)
    assert states.skip(Insight("v3", state=QUEUED, run=1), 1) is True
    short = Insight("v3", state=QUEUED, run=1)
    states.skip(short, 1)
    assert short.state == SKIPPED and "4 seconds" in short.message


def test_the_cap_message_says_when_it_resets():
    at = dt.datetime(2026, 12, 7, 21, 30, tzinfo=dt.UTC)
    assert budget.day(at) == "2026-12-07" and budget.seconds_to_reset(at) == 2.5 * 3600
    msg = budget.limit_message(200, at)
    assert "200" in msg and "midnight UTC" in msg and "about 2 hours" in msg


# ---- tags --------------------------------------------------------------------------------------------------
def test_tags_are_normalised_and_limited():
    assert tags.parse(["  #Beach ", "beach", "Sun   Set", "#", "x"][:3] + ["x"]) == ["beach", "sun set", "x"]
    for bad, why in ((["ok", "  "], "empty"), (["a" * 33], "too long"), ([f"t{i}" for i in range(21)], "at most 20"),
                     ("beach", "list"), ([1], "list")):
        with pytest.raises(tags.TagError, match=why):
            tags.parse(bad)
    assert tags.parse(["a" * 32]) == ["a" * 32]
    assert tags.suggested(["Boats", "a" * 40], ["#Boats", "#Sea"]) == ["boats", "sea"]
    assert len(tags.suggested([f"t{i}" for i in range(30)])) == 20


# ---- WebVTT ------------------------------------------------------------------------------------------------
def test_webvtt_from_a_transcript():
    text = vtt.to_webvtt([{"start": 3725.5, "end": 3727, "text": "second --> <b>&"},
                          {"start": 0, "end": 1.25, "text": "Hello  there"},
                          {"start": 2, "end": 2, "text": "zero length"}])
    assert text == ("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.250\nHello there\n\n"
                    "2\n01:02:05.500 --> 01:02:07.000\nsecond -&#45;&gt; &lt;b&gt;&amp;\n")
    assert vtt.to_webvtt([]) == "WEBVTT\n\n"
    assert vtt.filename('Café "night"/../x') == "Cafe night . x.vtt"
    assert vtt.filename("///") == "captions.vtt"


# ---- query images ------------------------------------------------------------------------------------------
def png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return images.PNG_MAGIC + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def ffmpeg_jpeg(tmp_path, size: str) -> bytes:
    out = tmp_path / f"{size}.jpg"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=red:size={size}",
                    "-frames:v", "1", str(out)], check=True)
    return out.read_bytes()


def refused(data) -> tuple[int, str]:
    with pytest.raises(images.ImageRefused) as err:
        images.check(data)
    assert err.value.message.endswith(".")
    return err.value.status, err.value.code


def test_query_images_are_checked_by_their_own_headers(tmp_path):
    assert images.check(png(64, 80)) == images.QueryImage("png", 64, 80)
    assert images.check(ffmpeg_jpeg(tmp_path, "320x240")) == images.QueryImage("jpeg", 320, 240)
    assert refused(ffmpeg_jpeg(tmp_path, "63x200")) == (400, "image_too_small")
    assert refused(png(200, 10)) == (400, "image_too_small")
    assert refused(None) == (400, "image_missing") and refused(b"") == (400, "image_missing")
    assert refused(b"GIF89a" + b"\x00" * 100) == (415, "image_type")
    assert refused(png(64, 64)[:20]) == (400, "image_unreadable")  # a header cut short
    assert refused(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 7 + b"\xff\xda\x00\x02") == (400, "image_unreadable")
    big = png(64, 64) + b"\x00" * images.MAX_BYTES
    assert refused(big) == (413, "image_too_large")

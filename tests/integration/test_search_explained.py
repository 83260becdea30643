"""Search results that explain themselves (issue 13, problem 5) and a 404 the browser can read (problem 4), against
the real local parts: the `library` function, Firestore, local B2 and the local Twelve Labs, which really reads the
speech (pocketsphinx) and the on-screen text (tesseract) of videos made here."""
from __future__ import annotations

import os
import subprocess
import tempfile
import wave
from pathlib import Path

import pytest
import requests
from conftest import LOGS
from fixtures.library import (
    LibraryFunction,
    index_entries,
    new_index_name,
    store_video,
    tl_client,
)
from standins.twelvelabs import StandIn, make_video

pytestmark = pytest.mark.timeout(240)

SPOKEN = "The pineapple is on the table."  # pocketsphinx hears "pineapple" reliably from espeak-ng


def blinking_caption_video(path: Path, caption: str, shown: list[tuple[float, float]], speech: str,
                           seconds: float) -> str:
    """A video whose caption is on screen only during `shown`, and `speech` said at the start: the local Twelve Labs
    then finds the caption twice, in two clips that overlap once widened to its 5 s minimum."""
    with tempfile.TemporaryDirectory(prefix="mkvideo-") as tmp:
        wav = os.path.join(tmp, "speech.wav")
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", wav, speech], check=True, capture_output=True)
        with wave.open(wav) as w:
            assert w.getnframes() / w.getframerate() < 3.0
        txt = os.path.join(tmp, "caption.txt")
        Path(txt).write_text(caption)
        when = "+".join(f"between(t,{a},{b})" for a, b in shown)
        vf = (f"drawtext=textfile='{txt}':fontsize=h/9:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=20:"
              f"x=(w-text_w)/2:y=(h-text_h)/2:enable='{when}'")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=navy:size=640x360:rate=25",
                        "-i", wav, "-filter_complex", f"[0:v]{vf}[v];[1:a]apad[a]", "-map", "[v]", "-map", "[a]",
                        "-t", f"{seconds:.2f}", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-movflags", "+faststart", str(path)], check=True, capture_output=True)
    return str(path)


@pytest.fixture(scope="module")
def standin():
    with StandIn("--index-seconds", "0.5", "--workers", "2",
                 log_path=str(LOGS / "test-twelvelabs-search-explained.log")) as s:
        yield s


@pytest.fixture(scope="module")
def library(emulators, stack, standin):
    """Two indexed videos of ours: "fruit" (PINEAPPLE shown at 0-0.8 s and 6-7 s, "pineapple" said at the start) and
    "nap" (a dog on the sofa, said only; CAT NAP shown only)."""
    from mam import store

    index_name = new_index_name("search-explained")
    folder = LOGS.parent / "test-search-explained-media"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "fruit": blinking_caption_video(folder / "fruit.mp4", "PINEAPPLE", [(0, 0.8), (6.0, 7.0)], SPOKEN, 10.0),
        "nap": make_video(folder / "nap.mp4", speech="A dog sleeps on the sofa next to the window.",
                          caption="CAT NAP", seconds=4.5),
    }
    ids, items = {}, []
    for name, path in paths.items():
        ids[name] = store_video("uploads/{id}/web.mp4", Path(path).read_bytes(), title=name.title(), status="ready")
        items.append((f"uploads/{ids[name]}/web.mp4", {"mam_id": ids[name]}))
    tl_ids = index_entries(tl_client(standin, index_name), items, timeout=150)
    for n, name in enumerate(paths):
        store.update_video(ids[name], lambda v, t=tl_ids[n]: setattr(v, "tl_video_id", t) or True)
    return {"ids": ids, "tl": tl_ids, "index_name": index_name}


@pytest.fixture(scope="module")
def fn(library, stack, standin):
    with LibraryFunction(stack, standin, library["index_name"]) as f:
        yield f


def _result(fn, q: str, **params) -> list[dict]:
    resp = fn.get("/search", params={"q": q, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


def test_overlapping_clips_are_merged_and_labelled_with_what_matched(fn, library, standin):
    # Twelve Labs itself answers two overlapping clips of the fruit video for "pineapple" (both sightings of the
    # caption; the first also heard): the API shows them as one, labelled with both options
    raw = tl_client(standin, library["index_name"]).search("pineapple", ["visual", "audio"], 10)
    fruit_tl = library["tl"][0]
    spans = sorted((c.start, c.end) for h in raw.hits if h.video_id == fruit_tl for c in h.clips)
    assert len(spans) == 2 and spans[1][0] < spans[0][1], spans  # they do overlap
    results = _result(fn, "pineapple")
    assert [r["video"]["id"] for r in results] == [library["ids"]["fruit"]]
    clips = results[0]["clips"]
    assert len(clips) == 1, clips
    clip = clips[0]
    assert (clip["start"], clip["end"]) == (spans[0][0], max(e for _, e in spans))
    assert clip["rank"] == min(c.rank for h in raw.hits for c in h.clips)
    assert clip["matched"] == ["visual", "speech"]
    assert "pineapple" in (clip["transcript"] or "").lower()


def test_a_clip_found_by_one_option_says_which(fn, library):
    heard = _result(fn, "sofa")
    assert [r["video"]["id"] for r in heard] == [library["ids"]["nap"]]
    assert [c["matched"] for c in heard[0]["clips"]] == [["speech"]]
    assert "sofa" in heard[0]["clips"][0]["transcript"].lower()
    seen = _result(fn, "nap")
    assert [c["matched"] for c in seen[0]["clips"]] == [["visual"]]
    assert "sofa" in seen[0]["clips"][0]["transcript"].lower()  # the words said in it, though speech did not match
    # one option searched: it is what matched, without asking Twelve Labs again
    only = _result(fn, "sofa", options="audio")
    assert {m for c in only[0]["clips"] for m in c["matched"]} == {"speech"}
    assert [c["matched"] for c in _result(fn, "nap", options="visual")[0]["clips"]] == [["visual"]]


def test_stop_words_alone_find_nothing(fn, library):
    # "the" is said in the fruit video; the local Twelve Labs, like the real one, finds nothing for it alone
    assert _result(fn, "the") == []
    assert _result(fn, "the on is") == []


def test_any_unknown_path_answers_404_with_cors_after_a_successful_preflight(fn, stack):
    origin = stack.url("frontend")
    path = "/videos/%2F..%2F.."  # the page's #/videos/%2F..%2F.. : an id with encoded slashes
    pre = requests.options(fn.url + path, headers={"Origin": origin, "Access-Control-Request-Method": "GET",
                                                   "Access-Control-Request-Headers": "authorization"}, timeout=10)
    assert pre.status_code == 204, pre.text  # a failed preflight made the page say "Could not reach the server"
    assert pre.headers["Access-Control-Allow-Origin"] == origin
    assert "GET" in pre.headers["Access-Control-Allow-Methods"]
    assert "authorization" in pre.headers["Access-Control-Allow-Headers"].lower()
    got = requests.get(fn.url + path, headers={"Origin": origin}, timeout=10)
    assert got.status_code == 404 and got.json()["error"]["code"] == "not_found"
    assert got.headers["Access-Control-Allow-Origin"] == origin
    # another origin gets no CORS grant, on known and unknown paths alike
    other = requests.options(fn.url + "/nowhere", headers={"Origin": "https://evil.example",
                                                          "Access-Control-Request-Method": "GET"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers

"""The front end's pure helpers of issue 14, run in Node (frontend/src/insight-text.ts, image-check.ts): tags as the
server normalises them, the chapter or transcript line at a time, find-in-transcript, the insights poll's back-off,
and the picture checks made before POST /search/image, on real JPEG/PNG files made by ffmpeg, compared with the
server's own checks (functions/mam/library/images.py) on the same files.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"

RUNNER = r"""
const ts = require(process.argv[1]);
const fs = require('fs');
const js = ts.transpileModule(fs.readFileSync(process.argv[2], 'utf8'),
  { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } });
const m = { exports: {} };
new Function('module', 'exports', js.outputText)(m, m.exports);
const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
const arg = (a) => (a && a.b64 !== undefined ? new Uint8Array(Buffer.from(a.b64, 'base64')) : a);
process.stdout.write(JSON.stringify(cases.map(([fn, args]) => {
  const out = m.exports[fn](...args.map(arg));
  return out instanceof Set ? [...out] : out;
})));
"""


def run(module: str, cases: list[tuple[str, list]]) -> list:
    node = shutil.which("node")
    assert node, "node is needed (scripts/setup.sh installs it with the front end's packages)"
    tsc = FRONTEND / "node_modules" / "typescript"
    assert tsc.exists(), "frontend/node_modules is missing: npm ci in frontend/"
    out = subprocess.run([node, "-e", RUNNER, str(tsc), str(FRONTEND / "src" / module)], input=json.dumps(cases),
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def b64(data: bytes) -> dict:
    return {"b64": base64.b64encode(data).decode()}


# ---- tags ----------------------------------------------------------------------------------------------------------
def test_a_tag_is_normalised_as_the_server_stores_it() -> None:
    got = run("insight-text.ts", [("normaliseTag", [t]) for t in
                                  ["  #Cats ", "##Sunset", "Kitchen   Floor", "\tRED\nball ", "#", "Ünïcode Tag"]])
    assert got == ["cats", "sunset", "kitchen floor", "red ball", "", "ünïcode tag"]


def test_added_tags_split_on_commas_without_repeats_in_order() -> None:
    got = run("insight-text.ts", [("addTags", [["cats"], "#Cats, kitchen floor ,, Sunset,sunset"]),
                                  ("addTags", [[], "  "])])
    assert got == [["cats", "kitchen floor", "sunset"], []]


def test_tags_the_server_would_refuse_get_a_sentence() -> None:
    ok, long, many = run("insight-text.ts", [
        ("tagProblem", [["a" * 32, "b"]]),
        ("tagProblem", [["ok", "x" * 33]]),
        ("tagProblem", [[f"t{i}" for i in range(21)]]),
    ])
    assert ok is None
    assert "longer than 32 characters" in long and long.endswith("save again.")
    assert "at most 20 tags" in many and "21" in many


# ---- the span playing at a time -------------------------------------------------------------------------------------
SPANS = [{"start": 0, "end": 5}, {"start": 5, "end": 9.5}, {"start": 12, "end": 20}]


AT = [(0, 0), (4.99, 0), (5, 1), (9.4, 1), (10, -1), (12, 2), (20, 2), (20.1, -1), (-1, -1)]


def test_the_span_at_a_time() -> None:
    got = run("insight-text.ts", [("spanAt", [SPANS, t]) for t, _ in AT])
    assert list(zip([t for t, _ in AT], got)) == AT


def test_no_spans_no_index() -> None:
    assert run("insight-text.ts", [("spanAt", [[], 3])]) == [-1]


# ---- find in transcript --------------------------------------------------------------------------------------------
def test_find_in_lines_is_plain_case_insensitive_text_in_reading_order() -> None:
    lines = ["The Cat sat.", "cat and CAT", "no match here", "a.b (c)"]
    cat, dot, paren, blank = run("insight-text.ts", [("findInLines", [lines, "cat"]), ("findInLines", [lines, "."]),
                                                     ("findInLines", [lines, "(c)"]), ("findInLines", [lines, "  "])])
    assert cat == [{"line": 0, "from": 4, "to": 7}, {"line": 1, "from": 0, "to": 3}, {"line": 1, "from": 8, "to": 11}]
    assert [(m["line"], m["from"]) for m in dot] == [(0, 11), (3, 1)]  # not a pattern: "." is a full stop
    assert paren == [{"line": 3, "from": 4, "to": 7}]
    assert blank == []


def test_the_match_count_reads_as_a_phrase() -> None:
    assert run("insight-text.ts", [("matchCountText", [0, 12, True]), ("matchCountText", [0, 1, True]),
                                   ("matchCountText", [0, 0, True]), ("matchCountText", [0, 0, False])]) == [
        "1 of 12 matches", "1 of 1 match", "No matches", ""]


# ---- polling -------------------------------------------------------------------------------------------------------
def test_the_insights_poll_backs_off_to_30_seconds() -> None:
    previous = [None, 0, 2000, 3000, 4500, 6750, 20000, 25000, 30000]
    got = run("insight-text.ts", [("nextPollDelay", [p]) for p in previous])
    assert got == [2000, 2000, 3000, 4500, 6750, 10125, 30000, 30000, 30000]


def test_the_state_line_prefers_the_servers_sentence() -> None:
    server, queued, ready = run("insight-text.ts", [
        ("insightStateText", ["waiting", "Today's limit is reached; it runs after midnight UTC."]),
        ("insightStateText", ["queued", None]), ("insightStateText", ["ready", None])])
    assert server == "Today's limit is reached; it runs after midnight UTC."
    assert queued.startswith("The summary, chapters and transcript are queued")
    assert ready == ""


# ---- picture checks before POST /search/image ----------------------------------------------------------------------
def picture(tmp: Path, name: str, size: str, codec_args: list[str] | None = None) -> bytes:
    out = tmp / name
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}",
                    "-frames:v", "1", *(codec_args or []), str(out)], check=True, capture_output=True, timeout=60)
    return out.read_bytes()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("pictures")
    jpeg = picture(tmp, "frame.jpg", "640x360")
    return {
        "jpeg": jpeg,
        "progressive": picture(tmp, "progressive.jpg", "320x240", ["-c:v", "mjpeg", "-q:v", "5"]),
        "png": picture(tmp, "frame.png", "64x64"),
        "small_jpeg": picture(tmp, "small.jpg", "40x30"),
        "narrow_png": picture(tmp, "narrow.png", "62x200"),  # testsrc2 keeps sizes even
        "gif": picture(tmp, "frame.gif", "100x100"),
        "truncated_jpeg": jpeg[:20],
        "empty": b"",
    }


def client_verdicts(pictures: dict[str, bytes]) -> dict[str, tuple[str | None, int | None, int | None, str | None]]:
    names = list(pictures)
    cases = []
    for n in names:
        cases += [("sniffImage", [b64(pictures[n])]), ("imageProblem", [len(pictures[n]), b64(pictures[n])])]
    out = run("image-check.ts", cases)
    verdicts = {}
    for i, n in enumerate(names):
        facts, problem = out[2 * i], out[2 * i + 1]
        verdicts[n] = ((facts or {}).get("type"), (facts or {}).get("width"), (facts or {}).get("height"), problem)
    return verdicts


def test_picture_type_and_size_come_from_the_files_own_header(pictures) -> None:
    v = client_verdicts(pictures)
    assert v["jpeg"][:3] == ("image/jpeg", 640, 360) and v["jpeg"][3] is None
    assert v["progressive"][:3] == ("image/jpeg", 320, 240) and v["progressive"][3] is None
    assert v["png"][:3] == ("image/png", 64, 64) and v["png"][3] is None
    assert v["gif"][0] is None


def test_refused_pictures_get_a_sentence_saying_what_to_do(pictures) -> None:
    v = client_verdicts(pictures)
    assert v["small_jpeg"][3] == ("This picture is 40 × 30 pixels; search needs at least 64 × 64. "
                                  "Choose a larger picture and try again.")
    assert "62 × 200 pixels" in v["narrow_png"][3]
    assert v["gif"][3].startswith("This file is not a JPEG or PNG picture.")
    assert v["truncated_jpeg"][3].startswith("This picture could not be read")
    assert v["empty"][3].startswith("This file is empty.")


def test_a_picture_over_5_mb_is_refused_before_its_header_is_read(pictures) -> None:
    head = pictures["jpeg"][:64]
    over, at = run("image-check.ts", [("imageProblem", [5 * 1024 * 1024 + 1, b64(head)]),
                                      ("imageProblem", [5 * 1024 * 1024, b64(pictures["jpeg"])])])
    assert over.startswith("This picture is 5.0 MB; search takes pictures up to 5 MB.")
    assert at is None


def test_the_browser_refuses_exactly_what_the_server_refuses(pictures) -> None:
    """Same files through the server's checks (mam.library.images): refused by one means refused by the other."""
    from mam.library import images

    v = client_verdicts(pictures)
    for name, data in pictures.items():
        try:
            images.check(data)
            server_ok = True
        except images.ImageRefused:
            server_ok = False
        assert server_ok == (v[name][3] is None), name

"""Issue 13 in Chromium: search results that explain themselves (5), long or odd input (4), developer words that
reached people (6), and the library and search pages at phone width. Real parts throughout: the built front end,
the functions, Firestore, local B2, Cloud Tasks and the local Twelve Labs (espeak-ng speech heard by pocketsphinx,
on-screen text read by tesseract)."""
from __future__ import annotations

import subprocess
import tempfile
import uuid
import wave
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from e2e.helpers import Api, delete_prefix, index_seconds, put_file, wait_until
from e2e.pages import App, ResultPage, SearchPage
from localdev.stack import BUCKET, DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.e2e

SPOKEN = "The pineapple is on the table."  # pocketsphinx hears "pineapple" reliably from espeak-ng
WORD = "pineapple"
PHONE = {"width": 390, "height": 844}
NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth"


def blinking_caption_video(path: Path, caption: str, shown: list[tuple[float, float]], speech: str,
                           seconds: float) -> Path:
    """`caption` on screen only during `shown` and `speech` said at the start: Twelve Labs finds the caption twice,
    in two clips that overlap (each widened to its 5 s minimum), the first also heard."""
    with tempfile.TemporaryDirectory(prefix="e2e-media-") as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(wav), speech], check=True,
                       capture_output=True, timeout=60)
        with wave.open(str(wav)) as w:
            assert w.getnframes() / w.getframerate() < 3.0
        txt = Path(tmp) / "caption.txt"
        txt.write_text(caption)
        when = "+".join(f"between(t,{a},{b})" for a, b in shown)
        vf = (f"drawtext=textfile='{txt}':fontsize=h/9:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=20:"
              f"x=(w-text_w)/2:y=(h-text_h)/2:enable='{when}'")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "color=c=navy:size=640x360:rate=25", "-i", str(wav), "-filter_complex",
                        f"[0:v]{vf}[v];[1:a]apad,aresample=44100[a]", "-map", "[v]", "-map", "[a]",
                        "-t", f"{seconds:.2f}", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-movflags", "+faststart", str(path)], check=True, capture_output=True,
                       timeout=120)
    return path


def twelvelabs_admin(stack, method: str, path: str, **kw) -> requests.Response:
    resp = requests.request(method, f"{stack.url('twelvelabs')}/_admin{path}", timeout=10, **kw)
    resp.raise_for_status()
    return resp


def index_and_wait(stack, api: Api, ids: list[str], statuses=("ready", "failed"), timeout: float = 150) -> dict:
    """Sync the bucket, send `ids` for indexing through the API, wait until each reaches one of `statuses`."""
    from mam import store

    api.post("library", "/sync")
    queued = api.post("index_videos", "/index", {"ids": ids})["queued"]
    assert sorted(queued) == sorted(ids), queued

    def settled() -> dict | None:
        got = {i: store.get_video(i) for i in ids}
        return got if all(v and v.status in statuses for v in got.values()) else None

    return wait_until(settled, timeout, f"{ids} to reach {statuses}")


@pytest.fixture(scope="module")
def indexed(full_stack, demo_token, tmp_path_factory):
    """Two videos in the bucket, synced and sent for indexing: "fruit stand" (PINEAPPLE shown twice, said once),
    which gets ready, and one whose indexing Twelve Labs fails the way a broken video URL does."""
    from conftest import id_token
    from mam.library.discover import video_id_for

    token = id_token(full_stack, DEMO_EMAIL, DEMO_PASSWORD)
    api = Api(full_stack, token)
    tag = uuid.uuid4().hex[:8]
    folder = f"videos/e2e-explained-{tag}/"
    media = tmp_path_factory.mktemp("explained")
    fruit = blinking_caption_video(media / "fruit_stand.mp4", "PINEAPPLE", [(0, 0.8), (6.0, 7.0)], SPOKEN, 10.0)
    keys = {"fruit": f"{folder}fruit_stand.mp4", "broken": f"{folder}lost_{tag}.mp4"}
    for key in keys.values():
        put_file(full_stack, key, fruit)
    ids = {name: video_id_for(BUCKET, key) for name, key in keys.items()}
    twelvelabs_admin(full_stack, "POST", "/failures", json={
        "match": f"lost_{tag}", "code": "video_url_unreachable", "message": "Fetching video_url returned HTTP 404."})
    try:
        with index_seconds(full_stack, 2):
            got = index_and_wait(full_stack, api, list(ids.values()))
    finally:
        twelvelabs_admin(full_stack, "DELETE", "/failures")
    assert got[ids["fruit"]].status == "ready", got[ids["fruit"]].status_reason
    assert got[ids["broken"]].status == "failed"
    yield {"ids": ids, "api": api}
    api.delete(*ids.values())
    delete_prefix(full_stack, folder)


# ---- 5: results that explain themselves ------------------------------------------------------------------------
def test_a_result_shows_one_merged_clip_labelled_with_what_matched_and_its_chip_plays_it(page, app, indexed):
    fruit = indexed["ids"]["fruit"]
    results = app.search(WORD)
    expect(results.results().first).to_be_visible()
    result = results.result(fruit)
    # Twelve Labs answers two overlapping clips (the caption seen twice): they are shown as one
    expect(result.get_by_test_id("clip-count")).to_have_text("1 matching clip")
    chip = result.get_by_test_id("clip-chip")
    expect(chip).to_have_count(1)
    expect(chip.get_by_test_id("clip-matched")).to_have_attribute("data-matched", "visual speech")
    expect(chip).to_contain_text("Picture")
    expect(chip).to_contain_text("Speech")
    start = float(chip.get_attribute("data-start") or "nan")
    # the chip is a link: it opens the result page and plays that clip from its start
    page.add_init_script("""window.__plays = [];
        document.addEventListener('playing', e => window.__plays.push(e.target.currentTime), true);""")
    chip.click()
    view = ResultPage(page)
    item = view.clips().first
    expect(item).to_have_attribute("aria-current", "true")
    player = page.get_by_test_id("video-player")
    page.wait_for_function("() => { const v = document.querySelector('[data-testid=video-player]'); "
                           "return v && !v.paused && v.currentTime > 0 }", timeout=15_000)
    assert abs(float(player.get_attribute("data-clip-start") or "nan") - start) < 0.01
    now = page.get_by_test_id("now-playing")
    expect(now).to_have_attribute("data-state", "playing")
    expect(now).to_contain_text("Playing clip")
    # labelled in full, with the words said in it and the searched word marked
    expect(item.get_by_test_id("clip-matched")).to_contain_text("Picture or on-screen text")
    expect(item.get_by_test_id("clip-transcript").locator("mark")).to_have_text(WORD)
    assert page.errors == []


def test_the_line_under_the_player_follows_the_player(page, app, indexed):
    fruit = indexed["ids"]["fruit"]
    app.search(WORD).results()
    SearchPage(page).open(fruit)
    view = ResultPage(page)
    view.clips()
    player = page.get_by_test_id("video-player")
    page.wait_for_function("v => v.readyState >= 1", arg=player.element_handle())
    now = page.get_by_test_id("now-playing")
    # the best clip is cued, not played: the page must not say it plays
    expect(now).to_contain_text("Press play")
    assert view.paused()
    expect(now).not_to_contain_text("Playing")
    player.evaluate("v => v.play()")
    expect(now).to_contain_text("Playing clip")
    player.evaluate("v => v.pause()")
    expect(now).to_have_attribute("data-state", "paused")
    expect(now).to_contain_text("Paused")
    expect(player).to_have_attribute("data-state", "paused")


def test_stop_words_alone_find_nothing(page, app, indexed):
    app.search("the")  # said in the fruit video
    expect(page.get_by_test_id("search-empty")).to_contain_text("No matching videos")


# ---- 4: long or odd input ----------------------------------------------------------------------------------------
def test_the_search_box_shows_its_limit(page, app):
    box = page.get_by_test_id("search-input")
    box.fill("a" * 450)
    expect(page.get_by_test_id("search-counter")).to_have_text("450/500")
    box.fill("")
    box.focus()
    # a long paste is cut to 500 characters, and the page says so
    page.evaluate("""() => { const i = document.querySelector('[data-testid=search-input]');
        const dt = new DataTransfer(); dt.setData('text/plain', 'x'.repeat(5000));
        const ev = new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true});
        i.dispatchEvent(ev); i.value = 'x'.repeat(5000).slice(0, i.maxLength);
        i.dispatchEvent(new Event('input', {bubbles: true})); }""")
    assert box.evaluate("i => i.maxLength") == 500 and len(box.input_value()) == 500
    expect(page.get_by_test_id("search-counter")).to_have_text("Cut to 500 characters")
    box.press("End")
    box.type("y")  # nothing more goes in
    assert len(box.input_value()) == 500
    box.press("Backspace")
    expect(page.get_by_test_id("search-counter")).to_have_text("499/500")


def test_a_very_long_search_address_is_a_clamped_heading_and_a_sentence_without_try_again(page, app):
    app.open("/search?q=" + "elephant" * 625)  # 5,000 characters
    error = page.get_by_test_id("page-error")
    expect(error).to_be_visible()
    text = error.locator("p").inner_text()
    assert text[0].isupper() and text.endswith(".") and "500" in text, text
    expect(error.get_by_role("button", name="Try again")).to_have_count(0)  # the same request would fail again
    heading = page.locator("h1.page-title")
    box = heading.bounding_box()
    line = float(heading.evaluate("h => parseFloat(getComputedStyle(h).lineHeight) || 30"))
    assert box and box["height"] <= 2 * line + 4, (box, line)
    assert page.evaluate(NO_OVERFLOW), page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert len(page.title()) < 200


def test_a_malformed_video_id_is_video_not_found(page, app):
    app.open("/videos/%2F..%2F..")
    expect(page.get_by_test_id("video-title")).to_have_text("Video not found")
    expect(page.get_by_test_id("video-missing")).to_be_visible()
    expect(page.get_by_test_id("page-error")).to_have_count(0)


# ---- 6: developer words ------------------------------------------------------------------------------------------
def test_skips_and_failures_are_sentences(page, app, indexed):
    fruit, broken = indexed["ids"]["fruit"], indexed["ids"]["broken"]
    # a failed indexing says what happened in words, not Twelve Labs' developer text
    app.open(f"/videos/{broken}")
    reason = page.get_by_test_id("fact-reason")
    expect(reason).to_have_text("Twelve Labs could not download the video file. Try indexing it again in a few minutes.")
    # indexing a ready video again without "re-index" skips it, in a sentence
    app.open(f"/videos/{fruit}")
    expect(page.get_by_test_id("video-status")).to_have_attribute("data-status", "ready")
    app.open("/")
    library = app.library
    library.wait_loaded()
    library.select(fruit)
    page.get_by_test_id("index-button").click()
    toast = page.get_by_test_id("toast-info")
    expect(toast).to_contain_text("Not sent: 1 video is already indexed.")
    expect(toast).not_to_contain_text("already_indexed")


# ---- phones ---------------------------------------------------------------------------------------------------
def test_library_and_search_fit_a_phone(browser, full_stack, indexed):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        app = App(page, full_stack.url("frontend"))
        app.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
        app.open("/")
        app.library.wait_loaded()
        expect(app.library.tiles().first).to_be_visible()
        assert page.evaluate(NO_OVERFLOW), ("library", page.evaluate("() => document.documentElement.scrollWidth"))
        app.search(WORD).results()
        expect(page.get_by_test_id("clip-chip").first).to_be_visible()
        assert page.evaluate(NO_OVERFLOW), ("search", page.evaluate("() => document.documentElement.scrollWidth"))
        SearchPage(page).open(indexed["ids"]["fruit"])
        ResultPage(page).clips()
        assert page.evaluate(NO_OVERFLOW), ("result", page.evaluate("() => document.documentElement.scrollWidth"))
        app.open("/search?q=" + "x" * 5000)
        expect(page.get_by_test_id("page-error")).to_be_visible()
        assert page.evaluate(NO_OVERFLOW), ("long query", page.evaluate("() => document.documentElement.scrollWidth"))
    finally:
        context.close()

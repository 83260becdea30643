"""J5 + J2 + J3 in Chromium: a spoken video put straight into the bucket's videos prefix is found by the Sync
button, indexed from the library with live per-tile status until Ready with a thumbnail copied from Twelve Labs,
then found by a word that is only ever spoken in it; its result page plays the matching clip from its start and
stops at its end. Real parts throughout: local S3, the Twelve Labs stand-in (ffmpeg, pocketsphinx, tesseract),
Cloud Tasks emulator, Firestore emulator, the functions and the built front end."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    Api,
    delete_prefix,
    index_seconds,
    put_file,
    record_page,
    status_history,
)
from e2e.media import make_video, probe
from e2e.pages import App, ResultPage, tid
from localdev.stack import BUCKET, DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.e2e

SPOKEN = "The pineapple is on the table."  # pocketsphinx hears this one reliably from espeak-ng
WORD = "pineapple"                           # spoken only: the caption says something else
SPEECH_AT = 4.0                              # so the clip starts well after 0 and ends well before the end
INTERMEDIATE = {"validating", "pending", "queued", "indexing"}


@pytest.fixture
def spoken_video(full_stack, demo_token, tmp_path):
    """A 10 s spoken video in the bucket's videos prefix (not yet in the library); removed afterwards."""
    from mam.library.discover import video_id_for

    folder = f"videos/e2e-{uuid.uuid4().hex[:8]}/"
    key = f"{folder}fruit_stand.mp4"
    path = make_video(tmp_path / "fruit_stand.mp4", caption="FRUIT STAND", speech=SPOKEN, speech_at=SPEECH_AT,
                      seconds=10.0, color="darkgreen")
    put_file(full_stack, key, path)
    video_id = video_id_for(BUCKET, key)
    # 8 s from task creation to ready: long enough to see the live statuses on the way, short enough for CI.
    with index_seconds(full_stack, 8):
        yield {"key": key, "id": video_id, "path": path, "duration": probe(path).duration}
    Api(full_stack, demo_token).delete(video_id)  # files, index entry, record
    delete_prefix(full_stack, folder)


def test_sync_index_search_and_play_the_matching_clip(page, full_stack, spoken_video):
    from mam import store

    video_id, s3_base = spoken_video["id"], full_stack.url("s3")
    record_page(page)
    app = App(page, full_stack.url("frontend"))
    app.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
    page.get_by_test_id("nav-library").click()
    library = app.library
    library.wait_loaded()
    expect(library.tile(video_id)).to_have_count(0)

    # J5: Sync finds the file nobody uploaded through the page.
    page.get_by_test_id("sync-button").click()
    expect(page.get_by_test_id("toast-success").filter(has_text="new video")).to_be_visible()
    tile = library.tile(video_id)
    expect(tile).to_be_visible()
    expect(tile.get_by_test_id("tile-title")).to_have_text("fruit stand")
    expect(tile.get_by_test_id("tile-owner")).to_have_text("Found in bucket")
    expect(tile).to_have_attribute("data-status", "uploaded")
    expect(tile.get_by_test_id("thumbnail")).to_have_attribute("data-placeholder", "true")

    # J2: select it, Index; the tile's badge follows the work live until Ready, then shows the copied thumbnail.
    library.select(video_id)
    expect(page.get_by_test_id("selection-count")).to_have_text("1 selected")
    page.get_by_test_id("index-button").click()
    expect(page.get_by_test_id("toast-success").filter(has_text="Indexing started for 1 video.")).to_be_visible()
    library.wait_status(video_id, "ready", timeout_ms=150_000)
    expect(tile.get_by_test_id("status-badge")).to_have_attribute("data-status", "ready")
    history = status_history(page, "video-tile", video_id)
    assert history[:2] == ["uploaded", "sending"] and history[-1] == "ready", history
    assert INTERMEDIATE & set(history), f"no live status between Sending and Ready was shown: {history}"
    assert "failed" not in history, history
    img = tile.locator(f'{tid("thumbnail")} img')
    # presigned URL: the query string carries a signature, so only its start is fixed
    assert (img.get_attribute("src") or "").startswith(f"{s3_base}/mam-local/thumbnails/{video_id}.jpg")
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle(), timeout=15_000)
    rec = store.get_video(video_id)
    assert rec.status == "ready" and rec.tl_video_id and rec.b2_thumbnail == f"thumbnails/{video_id}.jpg"

    # J3: the spoken word finds it; the result shows its clip count.
    results = app.search(WORD).results()
    expect(results.first).to_be_visible()
    result = page.locator(f'{tid("search-result")}[data-video-id="{video_id}"]')
    expect(result).to_have_count(1)
    expect(result.get_by_test_id("result-title")).to_have_text("fruit stand")
    clips = int(result.get_by_test_id("clip-count").get_attribute("data-count") or 0)
    assert clips >= 1
    expect(result.get_by_test_id("clip-count")).to_have_text(f"{clips} matching clip" + ("s" if clips > 1 else ""))

    # Open the result: the clip around the spoken word plays from its start and pauses at its end.
    result.get_by_test_id("result-title").click()
    view = ResultPage(page)
    items = view.clips()
    expect(items).to_have_count(clips)
    first = items.first
    start, end = float(first.get_attribute("data-start")), float(first.get_attribute("data-end"))
    duration = spoken_video["duration"]
    assert 1.0 < start < SPEECH_AT + 0.5 and SPEECH_AT + 1.0 < end < duration - 0.5, (start, end)
    player = page.get_by_test_id("video-player")
    handle = player.element_handle()
    page.wait_for_function("v => v.readyState >= 1", arg=handle)
    # Scrub away from the clip first (the page cues the best clip on load), so the click has to seek to it.
    player.evaluate("""v => new Promise(ok => { v.addEventListener('seeked', ok, {once: true}); v.currentTime = 0.2 })""")
    player.evaluate("""v => { const log = window.__clip = {times: []};
        v.addEventListener('playing', () => { if (log.playingAt === undefined) log.playingAt = v.currentTime }, {once: true});
        v.addEventListener('timeupdate', () => log.times.push(v.currentTime)); }""")
    first.click()
    expect(first).to_have_attribute("aria-current", "true")
    expect(player).to_have_attribute("data-clip-start", first.get_attribute("data-start") or "")
    page.wait_for_function("() => window.__clip.playingAt !== undefined", timeout=15_000)
    playing_at = page.evaluate("() => window.__clip.playingAt")
    assert abs(playing_at - start) <= 0.3, (playing_at, start)
    # It plays through the clip and stops at its end (well before the end of the video).
    page.wait_for_function("v => v.paused && v.currentTime > 0", arg=handle, timeout=int((end - start + 10) * 1000))
    stopped_at = player.evaluate("v => v.currentTime")
    times = page.evaluate("() => window.__clip.times")
    assert abs(stopped_at - end) <= 0.3, (stopped_at, end)
    assert max(times) <= end + 0.3 and max(times) - min(times) >= (end - start) - 0.6, (start, end, times)
    expect(page.get_by_test_id("now-playing")).to_contain_text("finished")
    assert page.errors == []


def test_a_word_nobody_said_finds_nothing(page, full_stack):
    app = App(page, full_stack.url("frontend"))
    app.open("/")
    app.search("xylophonequartz")
    expect(page.get_by_test_id("search-empty")).to_be_visible()
    expect(page.get_by_test_id("search-empty")).to_contain_text("No matching videos")
    expect(page.get_by_test_id("search-result")).to_have_count(0)

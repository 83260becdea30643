"""J1 upload in Chromium: the real Uppy Transloadit plugin sends an ffmpeg-made video through the local TransloadIt
(tus, ffmpeg robots, store into the local B2, signed notification) to the functions; the video page shows
progress until the file is stored, then plays the stored web MP4; the library shows the real thumbnail."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    get_bytes,
    object_versions,
    record_page,
    seen_testids,
    status_history,
    text_history,
)
from e2e.media import make_video, probe
from e2e.pages import App, tid
from localdev.stack import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.e2e



def test_upload_plays_the_stored_web_mp4_and_the_library_shows_its_thumbnail(page, full_stack, tmp_path, created):
    from mam import store

    source = make_video(tmp_path / "harbour_at_dawn.mp4", caption="Harbour at dawn", seconds=8.0, color="teal")
    facts = probe(source)
    record_page(page)
    app = App(page, full_stack.url("frontend"))
    app.sign_in(DEMO_EMAIL, DEMO_PASSWORD)

    page.get_by_test_id("nav-upload").click()
    upload = app.upload
    upload.choose_file(str(source))
    expect(upload.title).to_have_value("harbour at dawn")  # the default title comes from the file name
    title = f"Harbour {uuid.uuid4().hex[:6]}"
    upload.title.fill(title)
    upload.start()
    page.wait_for_url(re.compile(r".*#/videos/[^/?]+$"), timeout=90_000)
    video_id = page.url.rsplit("/", 1)[1]
    created.append(video_id)
    assert re.fullmatch(r"[0-9a-f]{20}", video_id), video_id
    # The upload page showed its progress on the way (the small file may go from 0 to 100 % in one step).
    said = text_history(page, "upload-status")
    assert said[0] == "Starting the upload…" and said[-1] == "Upload complete. Opening the video page…", said
    assert any(re.fullmatch(r"Uploading… \d+% \(.+ of .+\)", t) for t in said), said

    # The video page: "Uploading" with a progress bar until TransloadIt has stored the files, then the player.
    video = app.video
    expect(page.get_by_test_id("video-title")).to_have_text(title)
    video.wait_playable(timeout_ms=90_000)
    assert "video-processing" in seen_testids(page), "the page never showed the processing state"
    history = status_history(page, "video-page", video_id)
    assert history[0] == "uploading" and history[-1] == "uploaded", history
    expect(page.get_by_test_id("video-status")).to_have_attribute("data-status", "uploaded")

    # The player plays the stored web MP4 from the bucket: same length as the source, and time really advances.
    s3_base = full_stack.url("s3")
    src = video.player.get_attribute("src") or ""
    assert src.startswith(f"{s3_base}/mam-local/uploads/{video_id}/web.mp4"), src
    assert video.poster().startswith(f"{s3_base}/mam-local/uploads/{video_id}/thumbnail.jpg"), video.poster()
    assert abs(video.media_duration() - facts.duration) <= 0.5, (video.media_duration(), facts.duration)
    width, height = video.player.evaluate("v => [v.videoWidth, v.videoHeight]")
    assert width > 0 and abs(width / height - 16 / 9) < 0.02, (width, height)
    video.player.evaluate("v => { v.muted = true; return v.play() }")
    page.wait_for_function("v => v.currentTime > 1.5 && !v.paused && !v.error", arg=video.player.element_handle(),
                           timeout=20_000)
    expect(page.get_by_test_id("player-error")).to_have_count(0)
    expect(page.get_by_test_id("fact-owner")).to_have_text(DEMO_EMAIL)

    # Behind the page: the record and the three stored files, the web copy H.264/AAC of the source's length.
    rec = store.get_video(video_id)
    assert rec is not None and rec.status == "uploaded" and rec.owner == DEMO_EMAIL and rec.title == title
    expect(page.get_by_test_id("fact-duration")).to_have_text(f"0:{int(rec.duration or 0):02d}")
    expect(page.get_by_test_id("fact-resolution")).to_have_text("640 × 360")
    assert rec.b2_web == f"uploads/{video_id}/web.mp4" and rec.b2_thumbnail == f"uploads/{video_id}/thumbnail.jpg"
    assert rec.b2_original and rec.b2_original.startswith(f"uploads/{video_id}/original/")
    assert abs((rec.duration or 0) - facts.duration) <= 0.5 and (rec.width, rec.height) == (640, 360)
    keys = set(object_versions(full_stack, f"uploads/{video_id}/"))
    assert keys == {rec.b2_original, rec.b2_web, rec.b2_thumbnail}, keys
    web = tmp_path / "web.mp4"
    web.write_bytes(get_bytes(full_stack, rec.b2_web))
    stored = probe(web)
    assert (stored.video_codec, stored.audio_codec) == ("h264", "aac")
    assert abs(stored.duration - facts.duration) <= 0.5
    assert get_bytes(full_stack, rec.b2_original) == source.read_bytes()  # the original is kept byte for byte

    # The library tile shows the real thumbnail from the bucket (loaded, not the placeholder).
    page.get_by_test_id("nav-library").click()
    app.library.wait_loaded()
    tile = app.library.tile(video_id)
    tile.scroll_into_view_if_needed()
    expect(tile).to_have_attribute("data-status", "uploaded")
    expect(tile.get_by_test_id("tile-title")).to_have_text(title)
    expect(tile.get_by_test_id("thumbnail")).not_to_have_attribute("data-placeholder", "true")
    img = tile.locator(f'{tid("thumbnail")} img')
    assert (img.get_attribute("src") or "").startswith(f"{s3_base}/mam-local/uploads/{video_id}/thumbnail.jpg")
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle(), timeout=15_000)
    assert img.evaluate("i => i.naturalWidth / i.naturalHeight") == pytest.approx(16 / 9, abs=0.05)
    assert page.errors == []


def test_a_file_that_is_not_a_video_is_refused_with_a_readable_message(page, full_stack, tmp_path):
    from mam import store

    notes = tmp_path / "meeting-notes.txt"
    notes.write_text("not a video\n" * 100)
    before = store.count_videos()
    app = App(page, full_stack.url("frontend"))
    app.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
    page.get_by_test_id("nav-upload").click()
    app.upload.choose_file(str(notes))
    expect(app.upload.error).to_be_visible()
    expect(app.upload.error).to_have_text(
        "“meeting-notes.txt” is not a video file. Choose a video file, for example an .mp4 or .mov file.")
    expect(page.get_by_test_id("upload-submit")).to_be_disabled()
    expect(app.upload.title).to_have_value("")
    assert store.count_videos() == before  # nothing was started
    assert page.errors == []


def test_a_broken_video_file_ends_failed_with_a_reason_on_the_video_page(page, full_stack, tmp_path, created):
    """A file that looks like a video (extension, MIME type) but is not: the upload itself succeeds, TransloadIt's
    encode fails, and the video page says so instead of spinning forever."""
    broken = tmp_path / "broken_clip.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"definitely not a movie " * 4000)
    app = App(page, full_stack.url("frontend"))
    app.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
    page.get_by_test_id("nav-upload").click()
    video_id = app.upload.upload(str(broken), timeout_ms=60_000)
    created.append(video_id)
    expect(page.get_by_test_id("video-page")).to_have_attribute("data-status", "failed", timeout=60_000)
    expect(page.get_by_test_id("video-status")).to_have_attribute("data-status", "failed")
    reason = page.get_by_test_id("fact-reason")
    expect(reason).to_contain_text("not a video")  # TransloadIt's encode error, in words a person can read
    assert "Traceback" not in reason.inner_text() and "ERROR" not in reason.inner_text()
    # The failure panel with the reason, not a player that cannot load the stored (broken) original.
    expect(page.get_by_test_id("video-failed")).to_contain_text(reason.inner_text())
    expect(page.get_by_test_id("video-player")).to_have_count(0)
    expect(page.get_by_test_id("player-error")).to_have_count(0)
    assert page.errors == []

"""Media details in Chromium: the size Uppy shows while uploading is the size the library and the video page show,
the thumbnail is a picture (not the video's blank opening), and a video put straight into the bucket shows its
thumbnail, duration and resolution in the library after a sync, before anyone indexes it."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect
from standins.frames import make_blank_start_video, spread

from e2e.helpers import get_bytes, record_page
from e2e.pages import App, tid
from localdev.stack import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.e2e



def test_upload_sizes_agree_with_uppy_and_the_thumbnail_is_a_picture(page, full_stack, tmp_path, created):
    from mam import store

    source = make_blank_start_video(str(tmp_path / "fade_in.mp4"), seconds=4.0, blank=0.6)
    record_page(page)
    app = App(page, full_stack.url("frontend"))
    app.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
    page.get_by_test_id("nav-upload").click()
    app.upload.choose_file(source)
    uppy_size = page.locator(".uppy-Dashboard-Item-statusSize").first
    expect(uppy_size).to_have_text(re.compile(r"\d"))
    shown_by_uppy = uppy_size.inner_text().strip()
    app.upload.title.fill(f"Fade in {uuid.uuid4().hex[:6]}")
    app.upload.start()
    page.wait_for_url(re.compile(r".*#/videos/[^/?]+$"), timeout=90_000)
    video_id = page.url.rsplit("/", 1)[1]
    created.append(video_id)
    app.video.wait_playable(timeout_ms=90_000)
    page.reload()  # the facts are read with the page
    app.video.wait_playable(timeout_ms=30_000)
    expect(page.get_by_test_id("fact-size")).to_have_text(shown_by_uppy)
    expect(page.get_by_test_id("fact-resolution")).to_have_text("320 × 240")
    rec = store.get_video(video_id)
    assert rec is not None and rec.b2_thumbnail
    assert spread(get_bytes(full_stack, rec.b2_thumbnail)) > 20, "the thumbnail is the blank opening"

    page.get_by_test_id("nav-library").click()
    app.library.wait_loaded()
    tile = app.library.tile(video_id)
    tile.scroll_into_view_if_needed()
    expect(tile.get_by_test_id("tile-media")).to_have_text(f"0:04 · 320 × 240 · {shown_by_uppy}")
    assert page.errors == []


def test_a_video_put_into_the_bucket_shows_its_details_before_indexing(page, full_stack, tmp_path, created):
    from mam.clients import b2
    from mam.library.discover import video_id_for
    from mam.settings import load_settings

    source = make_blank_start_video(str(tmp_path / "found.mp4"), seconds=4.0, blank=0.6)
    settings = load_settings("b2").b2
    key = f"videos/e2e-{uuid.uuid4().hex[:8]}/Found in the bucket.mp4"
    with open(source, "rb") as fh:
        b2.put_bytes(settings, key, fh.read(), "video/mp4")
    video_id = video_id_for(settings.bucket, key)
    created.append(video_id)
    record_page(page)
    app = App(page, full_stack.url("frontend"))
    app.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
    page.get_by_test_id("nav-library").click()
    app.library.wait_loaded()
    app.library.sync()

    def tile_ready() -> bool:
        page.reload()
        app.library.wait_loaded()
        tile = app.library.tile(video_id)
        return tile.count() == 1 and tile.get_by_test_id("tile-media").count() == 1 and \
            "320 × 240" in tile.get_by_test_id("tile-media").inner_text() and app.library.has_thumbnail(video_id)

    for _ in range(60):
        if tile_ready():
            break
        page.wait_for_timeout(1000)
    tile = app.library.tile(video_id)
    expect(tile.get_by_test_id("tile-media")).to_have_text(re.compile(r"^0:04 · 320 × 240 · [\d.]+ KB$"))
    expect(tile).to_have_attribute("data-status", "uploaded")
    img = tile.locator(f'{tid("thumbnail")} img')
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle(), timeout=15_000)
    assert page.errors == []

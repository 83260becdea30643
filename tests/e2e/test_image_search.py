"""Issue 14 in Chromium: search by picture. A frame of a demo video — captured in the browser by "Find scenes like
this" from the playing video, or extracted by ffmpeg and chosen with the search box's picture button — finds that
video first among two indexed demos, with each clip's chapter; a picture the API would refuse gets the page's own
sentence and is never sent. Real parts throughout (the local Twelve Labs matches the picture to the keyframes it
indexed: perceptual hash and colour histogram)."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    Api,
    delete_prefix,
    demo_video,
    extract_frame,
    index_and_wait_ready,
    index_seconds,
    multi_scene_demo,
    put_file,
    still_picture,
    wait_insights_ready,
)
from e2e.media import probe
from e2e.pages import InsightsPanel, SearchPage, search_by_image_file
from localdev.stack import BUCKET, DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.e2e

OTHER_DEMO = "Ocean_waves_at_sunset"  # SMPTE bars: nothing like the multi-scene demo's pictures


@pytest.fixture(scope="module")
def indexed(full_stack, tmp_path_factory):
    """The multi-scene demo (with its insights: chapters) and one other demo, indexed; removed afterwards."""
    from conftest import id_token
    from mam.library.discover import video_id_for

    token = id_token(full_stack, DEMO_EMAIL, DEMO_PASSWORD)
    api = Api(full_stack, token)
    media = tmp_path_factory.mktemp("image-search")
    folder = f"videos/e2e-image-{uuid.uuid4().hex[:8]}/"
    files = {"scenes": multi_scene_demo(media), "other": demo_video(media, OTHER_DEMO)}
    ids = {}
    for name, path in files.items():
        key = f"{folder}{path.name}"
        put_file(full_stack, key, path)
        ids[name] = video_id_for(BUCKET, key)
    try:
        with index_seconds(full_stack, 2):
            index_and_wait_ready(full_stack, api, list(ids.values()))
        made = wait_insights_ready(full_stack, token, ids["scenes"])
        yield {"ids": ids, "files": files, "insights": made, "media": media}
    finally:
        api.delete(*ids.values())
        delete_prefix(full_stack, folder)


def image_posts(page) -> list[str]:
    """Record every POST /search/image the page makes from now on."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.method == "POST" and r.url.endswith("/search/image") else None)
    return seen


def test_find_scenes_like_this_captures_the_frame_and_finds_its_video_first(page, app, indexed):
    scenes = indexed["ids"]["scenes"]
    chapters = indexed["insights"]["chapters"]
    posts = image_posts(page)
    app.open(f"/videos/{scenes}")
    panel = InsightsPanel(page)
    panel.wait_ready()
    # play from the second chapter (a scene of its own), then pause a moment into it: the frame on screen is searched
    chapter = panel.chapters().nth(1)
    start = float(chapter.get_attribute("data-start") or "nan")
    chapter.click()
    panel.wait_time_near(start, tolerance=1.5)
    page.get_by_test_id("video-player").evaluate("v => v.pause()")
    at = panel.current_time()
    panel.find_scenes()
    expect(page).to_have_url(re.compile(r"#/search\?image="))
    results = SearchPage(page).results()
    expect(results.first).to_have_attribute("data-video-id", scenes)
    assert len(posts) == 1
    # the picture searched with is shown, named after where it was captured
    preview = page.get_by_test_id("image-query-preview")
    expect(preview).to_be_visible()
    # the frame at the video's own size (not its thumbnail), named after where it was captured
    assert preview.evaluate("img => img.naturalWidth") == probe(indexed["files"]["scenes"]).width
    expect(page.get_by_test_id("image-query")).to_contain_text("a frame of “")
    # each clip of the video says which chapter it falls in (the stored chapter holding its start)
    first = results.first
    labels = first.get_by_test_id("clip-chapter")
    expect(labels.first).to_be_visible()
    titles = {c["title"] for c in chapters}
    for text in labels.all_inner_texts():
        assert text in titles, (text, titles)
    # the clip list of the result page says it in full
    SearchPage(page).open(scenes)
    expect(page.get_by_test_id("clip-item").first.get_by_test_id("clip-chapter")).to_have_text(
        re.compile(r"^Chapter \d+: .+"))
    assert at >= start - 0.05
    assert page.errors == []


@pytest.mark.parametrize(("which", "suffix"), [("other", "jpg"), ("scenes", "png")])
def test_a_frame_chosen_as_a_file_finds_its_video_first(page, app, indexed, which, suffix):
    video = indexed["files"][which]
    at = 4.0 if which == "other" else float(indexed["insights"]["chapters"][-1]["start"]) + 1.0
    frame = extract_frame(video, at, indexed["media"] / f"{which}-frame.{suffix}")
    posts = image_posts(page)
    app.open("/")
    search_by_image_file(page, str(frame))
    expect(page).to_have_url(re.compile(r"#/search\?image="))
    results = SearchPage(page).results()
    expect(results.first).to_have_attribute("data-video-id", indexed["ids"][which])
    expect(page.get_by_test_id("image-query")).to_contain_text(frame.name)
    assert len(posts) == 1
    assert page.errors == []


def test_a_picture_the_api_would_refuse_gets_a_sentence_and_is_not_sent(page, app, tmp_path):
    small = still_picture(tmp_path / "small.png", "40x30")
    not_a_picture = tmp_path / "notes.png"
    not_a_picture.write_text("these are words, not a picture")
    posts = image_posts(page)
    app.open("/")
    before = page.url
    error = page.get_by_test_id("image-search-error")

    search_by_image_file(page, str(small))
    expect(error).to_have_text("This picture is 40 × 30 pixels; search needs at least 64 × 64. "
                               "Choose a larger picture and try again.")
    expect(error).to_have_attribute("role", "alert")
    assert page.url == before

    search_by_image_file(page, str(not_a_picture))
    expect(error).to_have_text(re.compile(r"^This file is not a JPEG or PNG picture\. Choose a JPEG or PNG image"))
    assert page.url == before
    assert posts == []
    # the message goes away with the next page
    page.get_by_test_id("nav-upload").click()
    expect(error).to_be_hidden()
    assert page.errors == []


DROP = """([bytes, name, type]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], name, { type }));
    const form = document.querySelector('[data-testid=search-form]');
    for (const kind of ['dragenter', 'dragover', 'drop'])
      form.dispatchEvent(new DragEvent(kind, { dataTransfer: dt, bubbles: true, cancelable: true }));
}"""
PASTE = """([bytes, name, type]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], name, { type }));
    const input = document.querySelector('[data-testid=search-input]');
    input.focus();
    input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
}"""


@pytest.mark.parametrize(("how", "which", "suffix"), [("drop", "other", "jpg"), ("paste", "scenes", "png")])
def test_a_picture_dropped_on_or_pasted_into_the_search_box_is_searched(page, app, indexed, how, which, suffix):
    """The browser's own drop and paste events, carrying the file in a DataTransfer as a real drag or paste does."""
    frame = extract_frame(indexed["files"][which], 2.0, indexed["media"] / f"{how}.{suffix}")
    app.open("/")
    kind = "image/jpeg" if suffix == "jpg" else "image/png"
    page.evaluate(DROP if how == "drop" else PASTE, [list(frame.read_bytes()), frame.name, kind])
    expect(page).to_have_url(re.compile(r"#/search\?image="))
    expect(SearchPage(page).results().first).to_have_attribute("data-video-id", indexed["ids"][which])
    expect(page.get_by_test_id("search-input")).to_have_value("")  # a picture search has no words
    assert page.errors == []


def test_without_a_bucket_cors_rule_for_the_site_the_video_still_plays(page, app, indexed, full_stack):
    """The players read media with CORS (a canvas only yields CORS-read pixels, for "Find scenes like this"); storage
    whose CORS rule does not name this site must not cost playback: the player loads the file again without CORS."""
    from localdev.b2.client import for_stack
    from localdev.bootstrap import ensure_bucket

    for_stack(full_stack).put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["https://elsewhere.example"], "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"]}]})
    try:
        app.open(f"/videos/{indexed['ids']['other']}")
        player = page.get_by_test_id("video-player")
        expect(player).to_have_attribute("data-cors", "off")
        page.wait_for_function("() => document.querySelector('[data-testid=video-player]').readyState >= 2")
        expect(page.get_by_test_id("player-error")).to_have_count(0)
        assert player.evaluate("v => v.getAttribute('crossorigin')") is None
    finally:
        ensure_bucket(full_stack)  # the stack's own rule back (the front end's origins)
    assert page.errors == []

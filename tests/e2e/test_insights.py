"""Issue 14 in Chromium: a demo video's page after indexing shows what Twelve Labs made of it — summary, chapters
that seek (and follow the player), a transcript whose lines seek, find-in-transcript, captions in the player and as
a download, tags that filter the library. Real parts throughout: the built front end, the functions, Firestore,
local B2, Cloud Tasks and the local Twelve Labs (scene changes, speech and on-screen text it really extracted)."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from e2e.helpers import (
    Api,
    delete_prefix,
    index_and_wait_ready,
    index_seconds,
    insights,
    multi_scene_demo,
    put_file,
    wait_insights_ready,
)
from e2e.pages import App, InsightsPanel, tid
from localdev.stack import BUCKET, DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(full_stack, tmp_path_factory):
    """The multi-scene demo video put into the bucket, synced, indexed and its insights made; removed afterwards."""
    from conftest import id_token
    from mam.library.discover import video_id_for

    token = id_token(full_stack, DEMO_EMAIL, DEMO_PASSWORD)
    api = Api(full_stack, token)
    folder = f"videos/e2e-insights-{uuid.uuid4().hex[:8]}/"
    path = multi_scene_demo(tmp_path_factory.mktemp("insights"))
    key = f"{folder}{path.name}"
    put_file(full_stack, key, path)
    video_id = video_id_for(BUCKET, key)
    try:
        with index_seconds(full_stack, 2):
            index_and_wait_ready(full_stack, api, [video_id])
        made = wait_insights_ready(full_stack, token, video_id)
        yield {"id": video_id, "insights": made, "path": path, "token": token}
    finally:
        api.delete(video_id)
        delete_prefix(full_stack, folder)


def open_video(app: App, video_id: str) -> InsightsPanel:
    app.open(f"/videos/{video_id}")
    panel = InsightsPanel(app.page)
    panel.wait_ready()
    return panel


def test_the_summary_and_chapters_are_shown_and_a_chapter_seeks(page, app, demo):
    made = demo["insights"]
    assert len(made["chapters"]) >= 2, made["chapters"]  # the demo has 3+ visually distinct scenes
    panel = open_video(app, demo["id"])
    expect(page.get_by_test_id("insights-summary")).to_have_text(made["summary"])
    chapters = panel.chapters()
    expect(chapters).to_have_count(len(made["chapters"]))
    for item, chapter in zip(chapters.all(), made["chapters"]):
        expect(item).to_contain_text(chapter["title"])
    # a later chapter: the player jumps to its start and plays; that chapter is the current one
    second = chapters.nth(1)
    start = float(second.get_attribute("data-start") or "nan")
    assert start > 0.5
    second.click()
    at = panel.wait_time_near(start, tolerance=1.5)
    assert start - 0.05 <= at <= start + 1.5
    expect(second).to_have_attribute("aria-current", "true")
    expect(chapters.first).not_to_have_attribute("aria-current", "true")
    # the highlight comes from the player's position (its seek and time updates), not from the click
    last = chapters.nth(chapters.count() - 1)
    last_start = float(last.get_attribute("data-start") or "nan")
    last.focus()
    page.keyboard.press("Enter")  # the chapter list works from the keyboard: each chapter is a button
    panel.wait_time_near(last_start, tolerance=1.5)
    expect(last).to_have_attribute("aria-current", "true")
    # arrow keys move between chapters
    page.keyboard.press("Home")
    expect(chapters.first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(chapters.nth(1)).to_be_focused()
    assert page.errors == []


def test_a_transcript_line_seeks_and_find_counts_the_matches(page, app, demo):
    made = demo["insights"]
    assert made["transcript"], "the demo's narration gives a transcript"
    panel = open_video(app, demo["id"])
    lines = panel.transcript_lines()
    expect(lines).to_have_count(len(made["transcript"]))
    target = lines.nth(len(made["transcript"]) - 1)
    start = float(target.get_attribute("data-start") or "nan")
    target.click()
    panel.wait_time_near(start, tolerance=1.5)
    expect(target).to_have_attribute("aria-current", "true")

    # find-in-transcript: a word of the last line, counted over every line as the page shows them
    word = max(re.findall(r"[A-Za-z]{4,}", made["transcript"][-1]["text"]), key=len)
    expected = sum(line["text"].lower().count(word.lower()) for line in made["transcript"])
    find = page.get_by_test_id("transcript-find")
    find.fill(word)
    count = page.get_by_test_id("transcript-count")
    expect(count).to_have_text(f"1 of {expected} {'match' if expected == 1 else 'matches'}")
    expect(page.get_by_test_id("transcript-match-current")).to_have_text(re.compile(re.escape(word), re.IGNORECASE))
    if expected > 1:
        page.get_by_test_id("transcript-next").click()
        expect(count).to_have_text(f"2 of {expected} matches")
        find.press("Shift+Enter")
        expect(count).to_have_text(f"1 of {expected} matches")
    find.fill("zzzz-not-said")
    expect(count).to_have_text("No matches")
    assert page.errors == []


def test_captions_play_in_the_player_and_download_as_webvtt(page, app, demo):
    made = demo["insights"]
    panel = open_video(app, demo["id"])
    track = page.locator(f'{tid("video-player")} track')
    expect(track).to_have_attribute("kind", "captions")
    expect(track).to_have_attribute("srclang", "en")
    cues = panel.caption_cues()
    assert cues[0]["lang"] == "en" and cues[0]["mode"] == "showing"
    assert len(cues) == len(made["transcript"])
    for cue, line in zip(cues, made["transcript"]):
        assert abs(cue["start"] - line["start"]) < 0.01 and cue["text"].strip() == line["text"].strip()

    with page.expect_download() as info:
        page.get_by_test_id("download-captions").click()
    download = info.value
    assert download.suggested_filename.endswith(".vtt")
    body = Path(download.path()).read_text(encoding="utf-8")
    assert body.startswith("WEBVTT")
    assert made["transcript"][0]["text"].strip() in body
    assert page.errors == []


def test_tags_are_shown_and_a_tag_filters_the_library(page, app, demo):
    from mam import store

    video = store.get_video(demo["id"])
    tags = list(video.tags or [])
    assert tags, "tags come from the generated topics and hashtags"
    open_video(app, demo["id"])
    chips = page.get_by_test_id("tag-chip")
    expect(chips).to_have_count(len(tags))
    # the owner (the demo user is an admin) adds a tag; the server's normalised form comes back
    page.get_by_test_id("tag-input").fill("  #Film Test ")
    page.get_by_test_id("tag-add").click()
    expect(page.locator(f'{tid("tag-chip")}[data-tag="film test"]')).to_have_count(1)
    page.get_by_test_id("tags-save").click()
    expect(page.get_by_test_id("toast-success").filter(has_text="Tags saved.")).to_be_visible()
    assert "film test" in (store.get_video(demo["id"]).tags or [])
    # a library tile shows the tags; choosing one filters by it and the address keeps it
    app.open("/")
    app.library.wait_loaded()
    tile = app.library.tile(demo["id"])
    tag = tile.locator(f'{tid("tile-tag")}[data-tag="film test"]')
    if tag.count() == 0:  # only the first five are on the tile; filter through the bar instead
        page.get_by_test_id("find-tag").fill("film test")
    else:
        tag.click()
    expect(page).to_have_url(re.compile(r"[?&]tag=film(\+|%20)test"))
    expect(app.library.tiles()).to_have_count(1)
    expect(app.library.tile(demo["id"])).to_be_visible()
    page.reload()
    page.wait_for_selector("html[data-ready]")
    expect(page.get_by_test_id("find-tag")).to_have_value("film test")
    expect(app.library.tiles()).to_have_count(1)
    assert page.errors == []


def test_the_title_suggestion_becomes_the_title_in_one_click(page, app, demo):
    from mam import store

    suggestion = demo["insights"]["title_suggestion"]
    assert suggestion, "the analyze answer carries a title suggestion"
    open_video(app, demo["id"])
    expect(page.get_by_test_id("title-suggestion-text")).to_have_text(suggestion)
    page.get_by_test_id("use-title").click()
    expect(page.get_by_test_id("video-title")).to_have_text(suggestion)
    expect(page.get_by_test_id("title-suggestion")).to_have_count(0)  # nothing left to suggest
    assert store.get_video(demo["id"]).title == suggestion
    assert page.errors == []


def test_regenerating_shows_progress_and_the_page_updates_by_itself(page, app, demo, full_stack):
    from mam import store

    before = insights(full_stack, demo["token"], demo["id"])["generated_at"]
    # tags the owner set are theirs: regenerating must not replace them with generated ones
    edited = requests.patch(f"{full_stack.url('library')}/videos/{demo['id']}", json={"tags": ["kept tag"]},
                            headers={"Authorization": f"Bearer {demo['token']}"}, timeout=30)
    assert edited.status_code == 200, edited.text
    open_video(app, demo["id"])
    page.get_by_test_id("insights-regenerate").click()
    app.confirm()
    card = page.get_by_test_id("insights")
    # the 202 answer (queued) is shown at once, with a progress bar and a sentence; no Regenerate while it runs
    expect(card).to_have_attribute("data-state", re.compile(r"^(queued|generating)$"))
    expect(page.get_by_test_id("insights-status").locator("progress")).to_be_visible()
    expect(page.get_by_test_id("insights-message")).not_to_be_empty()
    expect(page.get_by_test_id("insights-regenerate")).to_have_count(0)
    # polling (2 s, then longer) brings the new insights without a reload
    expect(card).to_have_attribute("data-state", "ready", timeout=90_000)
    expect(page.get_by_test_id("chapter-item")).to_have_count(len(demo["insights"]["chapters"]))
    after = insights(full_stack, demo["token"], demo["id"])["generated_at"]
    assert after and after != before
    expect(page.get_by_test_id("tag-chip")).to_have_count(1)
    expect(page.get_by_test_id("tag-chip")).to_have_attribute("data-tag", "kept tag")
    assert store.get_video(demo["id"]).tags == ["kept tag"]
    assert page.errors == []

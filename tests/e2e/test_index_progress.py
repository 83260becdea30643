"""Problem 8 in Chromium: indexing shows more than a badge. From the video page's Index button until Ready, the
page says how long indexing has run and about how long is left (the local Twelve Labs, like API v1.3, reports no
percentage, so the estimate comes from the video's duration); the library tile says the same; both lines go away
once the video is Ready. Real parts throughout: local S3, the Twelve Labs stand-in, Cloud Tasks and Firestore
emulators, the functions and the built front end."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from e2e.helpers import Api, delete_prefix, index_seconds, put_file
from e2e.media import make_video, probe
from e2e.pages import App, tid
from localdev.stack import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.e2e

# "Indexing — 0:07 elapsed, less than a minute left" / "Indexing — 1:23 elapsed, about 2 min left"
ELAPSED_AND_LEFT = re.compile(r"^Indexing — \d+:\d\d elapsed, (less than a minute|about \d+ min) left$")


@pytest.fixture
def stored_video(full_stack, demo_token, tmp_path):
    """An uploaded, not yet indexed 12 s video (its file in the bucket, its record as an upload leaves it)."""
    from mam import store
    from mam.videos import Video

    vid = f"e2eprog{uuid.uuid4().hex[:12]}"
    folder = f"uploads/{vid}/"
    path = make_video(tmp_path / "harbour.mp4", caption="HARBOUR", seconds=12.0, color="teal")
    put_file(full_stack, f"{folder}original/harbour.mp4", path)
    duration = probe(path).duration
    store.create_video(Video(id=vid, title="Harbour at dusk", owner=DEMO_EMAIL, status="uploaded", duration=duration,
                             size=path.stat().st_size, width=640, height=360,
                             b2_original=f"{folder}original/harbour.mp4"))
    # 25 s from task creation to ready: time to read the line on both pages, short enough for CI
    with index_seconds(full_stack, 25):
        yield {"id": vid, "duration": duration}
    Api(full_stack, demo_token).delete(vid)
    delete_prefix(full_stack, folder)


def test_indexing_shows_elapsed_time_and_an_estimate_until_ready(page, full_stack, stored_video):
    vid = stored_video["id"]
    app = App(page, full_stack.url("frontend"))
    app.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
    app.open(f"/videos/{vid}")
    line = page.locator(tid("index-progress"))
    expect(page.locator(tid("video-title"))).to_have_text("Harbour at dusk")
    expect(line).to_be_hidden()  # not indexing: nothing to say

    page.locator(tid("video-index")).click()
    expect(page.locator(tid("toast-success")).filter(has_text="Indexing started.")).to_be_visible()
    expect(line).to_be_visible()
    expect(line).to_have_text(ELAPSED_AND_LEFT, timeout=15_000)
    first = line.inner_text()
    # the elapsed time moves by itself, between the page's status polls
    expect(line).not_to_have_text(first, timeout=5_000)
    expect(line).to_have_text(re.compile(r"^Indexing — \d+:\d\d elapsed"))
    assert "%" not in line.inner_text()  # no percentage is invented where Twelve Labs reports none

    # the library tile says the same while the video is in flight
    page.locator(tid("nav-library")).click()
    tile = page.locator(f'{tid("video-tile")}[data-video-id="{vid}"]')
    expect(tile).to_be_visible()
    expect(tile.locator(tid("index-progress"))).to_have_text(ELAPSED_AND_LEFT)

    # and both lines go once the video is Ready
    expect(tile).to_have_attribute("data-status", "ready", timeout=120_000)
    expect(tile.locator(tid("index-progress"))).to_be_hidden()
    app.open(f"/videos/{vid}")
    expect(page.locator(tid("video-page"))).to_have_attribute("data-status", "ready")
    expect(line).to_be_hidden()

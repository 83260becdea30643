"""J4 manage in Chromium: delete selected (with confirmation) removes the B2 objects, the Twelve Labs index entry
and the record; the library pages when there is more than a page; "select all N" and Delete empty it; Reset
asks for RESET to be typed. What is removed is checked behind the page: boto3 on the bucket, the official
`twelvelabs` SDK on the stand-in, mam.store on Firestore."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    Api,
    delete_prefix,
    index_entry_exists,
    index_id,
    index_seconds,
    object_versions,
    put_file,
    wait_until,
)
from e2e.media import make_video
from e2e.pages import App, confirm_dialog
from localdev.stack import BUCKET, DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.e2e

PAGE_SIZE = 24  # the library page's page size (frontend/src/pages/library.ts)


@pytest.fixture
def indexed_video(full_stack, demo_token, tmp_path):
    """A video with all three parts a delete must remove: its files in the bucket (the original under the videos
    prefix and the thumbnail copied from Twelve Labs), its index entry and its record. Set up through the
    functions' HTTP API (sync, index) — the browser journey under test is the delete."""
    from mam import store
    from mam.library.discover import video_id_for

    folder = f"videos/e2e-{uuid.uuid4().hex[:8]}/"
    key = f"{folder}old_rehearsal.mp4"
    put_file(full_stack, key, make_video(tmp_path / "v.mp4", caption="REHEARSAL", seconds=5.0, color="maroon"))
    video_id = video_id_for(BUCKET, key)
    api = Api(full_stack, demo_token)
    with index_seconds(full_stack, 2):
        assert video_id in api.post("library", "/sync")["added"]
        assert api.post("index_videos", "/index", {"ids": [video_id]})["queued"] == [video_id]
        rec = wait_until(lambda: (v := store.get_video(video_id)) and v.status in ("ready", "failed") and v,
                         timeout=120, what="the video to be indexed")
    assert rec.status == "ready", rec.status_reason
    yield {"id": video_id, "key": key, "title": "old rehearsal", "tl_video_id": rec.tl_video_id}
    api.delete(video_id)  # in case the test failed before deleting it
    delete_prefix(full_stack, folder)


def test_delete_selected_removes_files_index_entry_and_record(page, full_stack, indexed_video):
    from mam import store

    video_id, thumb = indexed_video["id"], f"thumbnails/{indexed_video['id']}.jpg"
    index = index_id(full_stack)
    # Before: every part exists, so the checks after the delete can fail.
    assert set(object_versions(full_stack, indexed_video["key"])) == {indexed_video["key"]}
    assert object_versions(full_stack, thumb) == [thumb]
    assert index and index_entry_exists(full_stack, index, indexed_video["tl_video_id"])

    app = App(page, full_stack.url("frontend"))
    app.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
    page.get_by_test_id("nav-library").click()
    library = app.library
    library.wait_loaded()
    tile = library.tile(video_id)
    expect(tile).to_have_attribute("data-status", "ready")
    library.select(video_id)
    delete = page.get_by_test_id("delete-button")
    expect(delete).to_have_text(re.compile(r"Delete \(1\)"))

    # Cancel first: nothing happens.
    delete.click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Delete “{indexed_video['title']}”?")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_have_count(0)
    expect(tile).to_be_visible()
    assert store.get_video(video_id) is not None

    # Confirm: the tile goes, and so do the files, the index entry and the record.
    delete.click()
    confirm_dialog(page)
    expect(page.get_by_test_id("toast-success").filter(has_text="Deleted 1 video.")).to_be_visible(timeout=30_000)
    expect(tile).to_have_count(0)
    assert object_versions(full_stack, indexed_video["key"]) == []
    assert object_versions(full_stack, thumb) == []
    assert object_versions(full_stack, f"uploads/{video_id}/") == []
    assert not index_entry_exists(full_stack, index, indexed_video["tl_video_id"])
    assert store.get_video(video_id) is None

    # Its page now says it is gone.
    app.open(f"/videos/{video_id}")
    expect(page.get_by_test_id("video-missing")).to_be_visible()
    assert page.errors == []


def _make_records(n: int, prefix: str) -> list[str]:
    """`n` stored videos created directly in Firestore, one minute apart; ids newest first."""
    from mam import store
    from mam.videos import UPLOADED, Video, new_video_id

    base = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    ids = []
    for i in range(n):
        at = base + dt.timedelta(minutes=i)
        vid = new_video_id()
        assert store.create_video(Video(id=vid, title=f"{prefix} {i + 1:02d}", owner=DEMO_EMAIL, status=UPLOADED,
                                        created_at=at, updated_at=at, duration=5.0, width=640, height=360))
        ids.append(vid)
    return ids[::-1]


def test_library_pages_and_select_all_deletes_every_video(page, full_stack, clean_firestore):
    from mam import store

    total = PAGE_SIZE + 6
    newest_first = _make_records(total, "Paged")
    app = App(page, full_stack.url("frontend"))
    app.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
    page.get_by_test_id("nav-library").click()
    library = app.library
    library.wait_loaded()

    expect(page.get_by_test_id("library-total")).to_have_text(f"{total} videos")
    expect(library.tiles()).to_have_count(PAGE_SIZE)
    assert [t.get_attribute("data-video-id") for t in library.tiles().all()] == newest_first[:PAGE_SIZE]
    expect(page.get_by_test_id("page-info")).to_have_text("Page 1 of 2")
    expect(page.get_by_test_id("page-prev")).to_have_attribute("aria-disabled", "true")
    page.get_by_test_id("page-next").click()
    expect(page).to_have_url(re.compile(r"#/\?page=2$"))
    expect(page.get_by_test_id("page-info")).to_have_text("Page 2 of 2")
    expect(library.tiles()).to_have_count(total - PAGE_SIZE)
    assert [t.get_attribute("data-video-id") for t in library.tiles().all()] == newest_first[PAGE_SIZE:]
    expect(page.get_by_test_id("page-next")).to_have_attribute("aria-disabled", "true")
    page.get_by_test_id("page-prev").click()
    expect(page.get_by_test_id("page-info")).to_have_text("Page 1 of 2")

    # Select the page, then "all N": the delete covers the videos on the other page too.
    library.select_page()
    expect(page.get_by_test_id("selection-count")).to_have_text(f"{PAGE_SIZE} selected")
    page.get_by_test_id("select-all-button").click()
    expect(page.get_by_test_id("selection-count")).to_have_text(f"All {total} videos selected")
    page.get_by_test_id("delete-button").click()
    expect(page.get_by_test_id("confirm-dialog")).to_contain_text(f"Delete all {total} videos?")
    confirm_dialog(page)
    expect(page.get_by_test_id("toast-success").filter(has_text=f"Deleted {total} videos.")).to_be_visible(
        timeout=30_000)
    expect(page.get_by_test_id("library-empty")).to_be_visible()
    expect(page.get_by_test_id("pagination")).to_have_count(0)
    assert store.count_videos() == 0
    assert page.errors == []


def test_reset_asks_for_the_word_and_empties_the_library(page, full_stack, clean_firestore):
    from mam import store

    _make_records(3, "Reset me")
    app = App(page, full_stack.url("frontend"))
    app.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
    page.get_by_test_id("nav-library").click()
    app.library.wait_loaded()
    expect(app.library.tiles()).to_have_count(3)
    page.get_by_test_id("reset-button").click()
    dialog = page.get_by_test_id("confirm-dialog")
    ok = dialog.get_by_test_id("confirm-ok")
    expect(ok).to_be_disabled()
    dialog.get_by_test_id("confirm-input").fill("reset")  # not the word
    expect(ok).to_be_disabled()
    dialog.get_by_test_id("confirm-input").fill("RESET")
    expect(ok).to_be_enabled()
    ok.click()
    expect(page.get_by_test_id("toast-success").filter(has_text="Library reset: 3 videos deleted.")).to_be_visible(
        timeout=45_000)
    expect(page.get_by_test_id("library-empty")).to_be_visible()
    assert store.count_videos() == 0

"""Finding a video in a large library in real Chromium (README "Finding videos"): a member's video, far beyond the
first page of 600, is found by a title prefix typed in the find bar and by "My videos"; the search survives a
reload (it lives in the URL hash); more results come by cursor ("Load more"); the owner edits the title on the
video page and finds it by its new title, while another member's video offers no edit."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from e2e.pages import App
from localdev import auth_users

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

TAG = uuid.uuid4().hex[:6]
FILLERS = 600


def _records(owner_email: str, owner_uid: str) -> tuple[str, str]:
    """FILLERS videos of someone else, newest, and three of the member's, oldest; (target id, others' id)."""
    from mam import store
    from mam.videos import UPLOADED, Video

    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)

    def put(i: int, title: str, email: str = "someone@example.com", uid: str = "someone-else") -> str:
        vid = f"find{TAG}{i:05d}"
        store.create_video(Video(id=vid, title=title, owner=email, owner_uid=uid, status=UPLOADED,
                                 created_at=t0 + dt.timedelta(minutes=i), duration=float(i % 90)))
        return vid

    target = put(0, f"Lighthouse at dawn {TAG}", owner_email, owner_uid)
    put(1, f"Harbour walk {TAG}", owner_email, owner_uid)
    put(2, f"Pier interview {TAG}", owner_email, owner_uid)
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: put(i, f"Filler clip {i}"), range(3, FILLERS + 3)))
    return target, ids[0]


@pytest.fixture
def library(full_stack, clean_firestore):
    email, password = f"e2e-finder-{TAG}@example.com", "pass-word-1"
    uid = auth_users.ensure_user(full_stack, email, password, claims={"member": True})
    target, other = _records(email, uid)
    return email, password, target, other


def test_find_a_video_in_a_large_library_by_title_and_mine_then_edit_its_title(page, full_stack, library):
    email, password, target, other = library
    app = App(page, full_stack.url("frontend"))
    app.sign_in(email, password)
    page.get_by_test_id("nav-library").click()
    lib = app.library
    lib.wait_loaded()
    expect(lib.tiles()).to_have_count(24)
    expect(lib.tile(target)).to_have_count(0)  # on the last of 26 pages

    # By a title prefix, any case: one result, and the search is in the address.
    page.get_by_test_id("find-q").fill("LIGHTH")
    expect(lib.tile(target)).to_be_visible()
    expect(lib.tiles()).to_have_count(1)
    expect(page.get_by_test_id("library-total")).to_have_text("1 video found")
    expect(page).to_have_url(re.compile(r"#/\?q=LIGHTH$"))
    page.reload()
    expect(page.get_by_test_id("find-q")).to_have_value("LIGHTH")
    expect(lib.tile(target)).to_be_visible()
    expect(lib.tiles()).to_have_count(1)

    # By "My videos": the member's three, whatever the title.
    page.get_by_test_id("find-clear").click()
    expect(lib.tiles()).to_have_count(24)
    page.get_by_test_id("find-owner").select_option("mine")
    expect(lib.tiles()).to_have_count(3)
    expect(lib.tile(target)).to_be_visible()
    expect(page).to_have_url(re.compile(r"owner=mine"))

    # A filtered, sorted search pages by cursor.
    page.get_by_test_id("find-clear").click()
    page.get_by_test_id("find-sort").select_option("title")
    page.get_by_test_id("find-q").fill("filler")
    expect(page).to_have_url(re.compile(r"q=filler&sort=title$"))  # typing applies after a pause
    expect(page.get_by_test_id("library-total")).to_have_text(f"{FILLERS} videos found")
    expect(lib.tiles()).to_have_count(24)
    expect(lib.tiles().first.get_by_test_id("tile-title")).to_have_text("Filler clip 10")  # "10" < "100" < "11"
    page.get_by_test_id("load-more").click()
    expect(lib.tiles()).to_have_count(48)

    # The owner renames it on its page; the library finds it by the new title.
    app.open(f"/videos/{target}")
    page.get_by_test_id("video-edit").click()
    page.get_by_test_id("edit-title").fill(f"Beacon renamed {TAG}")
    page.get_by_test_id("edit-description").fill("Filmed from the north pier.")
    page.get_by_test_id("edit-save").click()
    expect(page.get_by_test_id("video-title")).to_have_text(f"Beacon renamed {TAG}")
    expect(page.get_by_test_id("video-description")).to_have_text("Filmed from the north pier.")
    app.open("/?q=beacon")
    expect(lib.tile(target)).to_be_visible()
    expect(lib.tiles()).to_have_count(1)

    # An empty title is refused with a sentence; another member's video offers no edit at all.
    app.open(f"/videos/{target}")
    page.get_by_test_id("video-edit").click()
    page.get_by_test_id("edit-title").fill("   ")
    page.get_by_test_id("edit-save").click()
    expect(page.get_by_test_id("edit-error")).to_have_text("The title cannot be empty.")
    app.open(f"/videos/{other}")
    expect(page.get_by_test_id("video-title")).to_have_text(re.compile("Filler clip"))
    expect(page.get_by_test_id("video-edit")).to_have_count(0)
    assert page.errors == []

"""The front end offers only what the signed-in user may do (GET /me): a signed-in stranger reads the library and is
told to ask an admin; a member (custom claim member: true) may index and delete their own videos but not others',
and sees no admin actions; the admin (demo user) sees sync, reset and re-index."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from e2e.conftest import sign_in
from localdev import auth_users

pytestmark = pytest.mark.e2e

TAG = uuid.uuid4().hex[:6]
NOT_MEMBER = "Your account is not a member of this library yet; ask an admin for access."


def _record(title: str, owner: str = "", owner_uid: str = "") -> str:
    from mam import store
    from mam.videos import UPLOADED, Video

    vid = uuid.uuid4().hex[:20]
    store.create_video(Video(id=vid, title=title, owner=owner, owner_uid=owner_uid, status=UPLOADED))
    return vid


@pytest.fixture
def two_videos(full_stack, clean_firestore):
    """A member's own video and a video of someone else; returns (member email, password, own id, other id)."""
    email, password = f"e2e-member-{TAG}@example.com", "pass-word-1"
    uid = auth_users.ensure_user(full_stack, email, password, claims={"member": True})
    own = _record(f"Mine {TAG}", email, uid)
    other = _record(f"Theirs {TAG}", "someone@example.com", "someone-else")
    return email, password, own, other


def _tile(page, vid: str):
    return page.locator(f'[data-testid="video-tile"][data-video-id="{vid}"]')


def test_a_signed_in_stranger_is_told_to_ask_an_admin(page, full_stack, two_videos):
    email = f"e2e-stranger-{TAG}@example.org"
    auth_users.ensure_user(full_stack, email, "pass-word-1")
    sign_in(page, full_stack, email, "pass-word-1")
    page.get_by_test_id("nav-library").click()
    expect(page.get_by_test_id("not-member")).to_have_text(NOT_MEMBER)
    expect(page.get_by_test_id("user-role")).to_have_text("Not a member")
    expect(_tile(page, two_videos[2])).to_be_visible()  # reading stays public (PUBLIC_READ)
    for action in ("index-button", "delete-button", "sync-button", "reset-button", "upload-link", "tile-checkbox"):
        expect(page.get_by_test_id(action)).to_have_count(0)
    page.goto(f"{full_stack.url('frontend')}/#/videos/{two_videos[2]}")
    expect(page.get_by_test_id("not-member")).to_be_visible()
    expect(page.get_by_test_id("video-delete")).to_have_count(0)
    page.goto(f"{full_stack.url('frontend')}/#/upload")
    expect(page.get_by_test_id("not-member")).to_have_text(NOT_MEMBER)
    expect(page.get_by_test_id("upload-dashboard")).to_have_count(0)
    assert page.errors == []


def test_a_member_may_delete_only_their_own_videos_and_sees_no_admin_actions(page, full_stack, two_videos):
    email, password, own, other = two_videos
    sign_in(page, full_stack, email, password)
    page.get_by_test_id("nav-library").click()
    expect(page.get_by_test_id("user-role")).to_have_text("Member")
    expect(_tile(page, own)).to_be_visible()
    for action in ("sync-button", "reset-button", "reindex-toggle", "not-member"):
        expect(page.get_by_test_id(action)).to_have_count(0)
    delete = page.get_by_test_id("delete-button")
    _tile(page, other).get_by_test_id("tile-checkbox").check()
    expect(page.get_by_test_id("index-button")).to_be_enabled()
    expect(delete).to_be_disabled()
    expect(delete).to_have_attribute("title", "You may delete only videos you uploaded; ask an admin to delete the "
                                              "others.")
    _tile(page, other).get_by_test_id("tile-checkbox").uncheck()
    _tile(page, own).get_by_test_id("tile-checkbox").check()
    expect(delete).to_be_enabled()
    page.goto(f"{full_stack.url('frontend')}/#/videos/{other}")
    expect(page.get_by_test_id("fact-owner")).to_have_text("someone@example.com")
    expect(page.get_by_test_id("video-delete")).to_have_count(0)
    page.goto(f"{full_stack.url('frontend')}/#/videos/{own}")
    expect(page.get_by_test_id("video-delete")).to_be_visible()
    assert page.errors == []


def test_the_admin_sees_the_library_wide_actions(page, full_stack, two_videos):
    sign_in(page, full_stack)  # the demo user: ADMIN_EMAILS locally, verified email
    page.get_by_test_id("nav-library").click()
    expect(page.get_by_test_id("user-role")).to_have_text("Admin")
    for action in ("sync-button", "reset-button", "reindex-toggle", "upload-link"):
        expect(page.get_by_test_id(action)).to_be_visible()
    _tile(page, two_videos[3]).get_by_test_id("tile-checkbox").check()
    expect(page.get_by_test_id("delete-button")).to_be_enabled()
    page.goto(f"{full_stack.url('frontend')}/#/videos/{two_videos[3]}")
    expect(page.get_by_test_id("video-delete")).to_be_visible()
    assert page.errors == []

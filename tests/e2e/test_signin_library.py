"""J9/J4 basics in a real browser: the demo user signs in, sees the library page, signs out."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_sign_in_shows_the_library_and_sign_out_works(page, full_stack):
    sign_in(page, full_stack)
    expect(page.get_by_test_id("user-email")).to_have_text(re.compile("demo@example.com"))
    page.get_by_test_id("nav-library").click()
    expect(page.get_by_role("heading", name="Library", exact=True)).to_be_visible()
    # The library page rendered from the library function: either tiles or its empty state, never an error.
    expect(page.get_by_test_id("video-tile").first.or_(page.get_by_text("No videos yet"))).to_be_visible()
    expect(page.get_by_test_id("app-error")).to_have_count(0)
    page.get_by_test_id("signout-button").click()
    expect(page.get_by_test_id("signin-link")).to_be_visible()
    assert page.errors == []


def test_wrong_password_gives_a_readable_error(page, full_stack):
    page.goto(f"{full_stack.url('frontend')}/#/signin")
    page.get_by_test_id("signin-email").fill("demo@example.com")
    page.get_by_test_id("signin-password").fill("not-the-password")
    page.get_by_test_id("signin-submit").click()
    error = page.get_by_test_id("signin-error")
    expect(error).to_be_visible()
    assert "password" in error.inner_text().lower() or "incorrect" in error.inner_text().lower()

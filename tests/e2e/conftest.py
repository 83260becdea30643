"""Browser end-to-end fixtures: the whole local stack on test ports and Playwright driving Debian's Chromium."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ROOT, Processes
from localdev.stack import Stack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="session")
def full_stack(stack: Stack, processes: Processes, emulators, stack_env) -> Stack:
    """Every stand-in, every function of the manifest and the built front end, on the test ports."""
    dist = ROOT / "frontend" / "dist"
    if not (dist / "index.html").exists():
        pytest.fail("frontend/dist is missing: scripts/test.sh builds it (npm run build in frontend/)")
    site = stack.state_dir / "site"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(dist, site)
    stack.site_dir = site
    from localdev.bootstrap import write_frontend_config

    write_frontend_config(stack)
    for service in stack.standins() + stack.functions() + [stack.frontend()]:
        processes.start(service)
    return stack


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium under Playwright (no browser download: the system binary is used)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: scripts/setup.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, full_stack: Stack, request) -> Iterator[object]:
    """A fresh browser context and page; a screenshot is kept in .local/test-logs when the test fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        out = ROOT / ".local" / "test-logs" / f"{request.node.name}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(out), full_page=True)
    context.close()


@pytest.fixture
def app(page, full_stack: Stack):
    """The app in the test's page, signed in as the demo user (an admin locally)."""
    from e2e.pages import App
    from localdev.stack import DEMO_EMAIL, DEMO_PASSWORD

    a = App(page, full_stack.url("frontend"))
    a.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
    return a


@pytest.fixture
def created(full_stack: Stack, demo_token: str) -> Iterator[list[str]]:
    """Ids of videos a test made; deleted through the library function afterwards (files, index entry, record)."""
    from e2e.helpers import Api

    ids: list[str] = []
    yield ids
    Api(full_stack, demo_token).delete(*[i for i in ids if i])

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def sign_in(page, stack: Stack, email: str = "demo@example.com", password: str = "demo-password") -> None:
    """Sign in through the real form."""
    page.goto(f"{stack.url('frontend')}/#/signin")
    page.get_by_test_id("signin-email").fill(email)
    page.get_by_test_id("signin-password").fill(password)
    page.get_by_test_id("signin-submit").click()
    page.get_by_test_id("user-email").wait_for()

"""README screenshots from the running local stack: the library with the find bar in use, a search result with
labelled clip chips, and a video page, captured in headless Chromium at a fixed viewport.

Starts a private copy of the local stack (loopback only, offline) on the manifest ports + MAM_PORT_OFFSET (default
4000, beside dev.sh and the tests), seeds a small library (the demo seeder's short videos made with ffmpeg and
espeak-ng, and three more, put in the bucket and found by the library's sync, with fixed dates), has the local Twelve
Labs index five of them, signs in as the demo user and writes docs/screenshots/{library,search,video}.png in
Chromium (the e2e tests' flags). Everything it started is stopped at the end.

Usage: .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from localdev.demo import DEMOS, Demo
from localdev.processes import Group, poll, port_open
from localdev.stack import DEMO_EMAIL, DEMO_PASSWORD, Stack

VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-dev-shm-usage", "--font-render-hinting=none",
                 "--hide-scrollbars"]
# Beyond the demo seeder's four: one more that says "sunset" (so the search finds two videos), and two that stay
# stored but not indexed (so the library's status filter visibly filters).
HARBOUR = Demo("Harbour_boats_at_dusk", "mandelbrot", "HARBOUR",
               "Fishing boats return to the harbour after sunset and the crew unloads the nets.")
# ffmpeg's "gradients" pattern is random from run to run; a fixed pattern keeps the pictures the same
INDEXED: tuple[Demo, ...] = (*(replace(d, pattern="colorspectrum") if d.pattern == "gradients" else d
                               for d in DEMOS), HARBOUR)
STORED: tuple[Demo, ...] = (
    Demo("City_traffic_at_night", "testsrc", "CITY TRAFFIC", "Cars and buses move slowly through the city at night."),
    Demo("Interview_rough_cut", "pal75bars", "INTERVIEW", "This is the first rough cut of the interview."),
)
QUERY = "sunset"                                      # heard in two videos, read on screen in one
LIBRARY_VIEW = "/?status=ready&sort=title"            # the find bar in use: ready videos, title A-Z
FIRST_DAY = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)  # fixed dates, so the pictures change only with the app
SHOWN = "Ocean waves at sunset"                       # the video page shown


# ---- the stack ---------------------------------------------------------------------------------------------------
def start_stack(stack: Stack, procs: Group) -> None:
    """Emulators (bucket, queues, demo user), stand-ins, every function and the built front end, on `stack`'s ports."""
    from localdev import bootstrap
    from localdev.run import _build_frontend

    services = stack.emulators() + stack.standins() + stack.functions() + [stack.frontend()]
    taken = [f"{s.name} ({s.port})" for s in services if port_open(s.port)]
    if taken:
        raise RuntimeError("these ports are already in use: " + ", ".join(taken) +
                           ". Stop what holds them, or set MAM_PORT_OFFSET to another value.")
    _build_frontend()
    site = stack.state_dir / "site"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(ROOT / "frontend" / "dist", site)
    stack.site_dir = site
    bootstrap.write_frontend_config(stack)
    os.environ.update(stack.env())
    for service in stack.emulators():
        procs.start(service, stack.process_env(service))
    bootstrap.ensure_bucket(stack)
    bootstrap.ensure_queues(stack)
    bootstrap.ensure_user(stack)
    for service in stack.standins() + stack.functions() + [stack.frontend()]:
        procs.start(service, stack.process_env(service))


# ---- the library -------------------------------------------------------------------------------------------------
def _token(stack: Stack) -> str:
    body = json.dumps({"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "returnSecureToken": True}).encode()
    req = urllib.request.Request(
        f"{stack.url('auth')}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=local", data=body,
        headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=10).read())["idToken"]


def _post(url: str, token: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    return json.loads(urllib.request.urlopen(req, timeout=60).read())


def _set_index_seconds(stack: Stack, seconds: float) -> None:
    req = urllib.request.Request(f"{stack.url('twelvelabs')}/_admin/config", method="PUT",
                                 data=json.dumps({"index_seconds": seconds}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


def _put_videos(demos: tuple[Demo, ...]) -> dict[Demo, str]:
    """Render the demo videos the bucket lacks (in parallel) and put them in; returns every one's key."""
    from mam.clients import b2
    from mam.settings import load_settings

    from localdev import demo

    storage = load_settings("b2").b2
    keys = {d: demo.key_of(storage.videos_prefix, d) for d in demos}
    missing = [d for d in demos if b2.head(storage, keys[d]) is None]
    with tempfile.TemporaryDirectory(prefix="mam-shots-") as tmp, ThreadPoolExecutor(4) as pool:
        for d, path in zip(missing, pool.map(lambda d: demo.make_video(d, Path(tmp) / f"{d.name}.mp4"), missing)):
            b2.put_bytes(storage, keys[d], path.read_bytes(), "video/mp4")
    return keys


def _dated(day: dt.datetime):
    def mutate(video) -> bool:
        if video.created_at == day:
            return False
        video.created_at = day
        return True

    return mutate


def seed_library(stack: Stack, indexed: tuple[Demo, ...] = INDEXED, stored: tuple[Demo, ...] = STORED,
                 timeout: float = 240.0) -> dict[str, str]:
    """Put the videos into the bucket, have the library discover them (its sync, as "Sync bucket" does), date the
    records a day apart from FIRST_DAY, send `indexed` to the local Twelve Labs and wait until every video has its
    thumbnail and the indexed ones are ready. Needs the stack's settings in os.environ. Returns {title: id}."""
    from mam import store
    from mam.library import discover

    from localdev.stack import BUCKET

    demos = (*indexed, *stored)
    keys = _put_videos(demos)
    token = _token(stack)
    _post(f"{stack.url('library')}/sync", token, {})
    ids = {discover.title_for(d.name): discover.video_id_for(BUCKET, keys[d]) for d in demos}
    if not poll(lambda: all(store.get_video(v) for v in ids.values()), 30, 0.5):
        raise RuntimeError("the library's sync did not add the seeded videos within 30 s")
    for n, vid in enumerate(ids.values()):
        store.update_video(vid, _dated(FIRST_DAY + dt.timedelta(days=n, minutes=7 * n)))
    want = [ids[discover.title_for(d.name)] for d in indexed]
    todo = [v for v in want if store.get_video(v).status != "ready"]
    _set_index_seconds(stack, 1)
    try:
        if todo:
            _post(f"{stack.url('index_videos')}/index", token, {"ids": todo})

        def settled() -> bool:
            got = {v: store.get_video(v) for v in ids.values()}
            return all(g.b2_thumbnail for g in got.values()) and \
                all(got[v].status in ("ready", "failed") for v in want)

        done = poll(settled, timeout, 0.5)
    finally:
        _set_index_seconds(stack, float(stack.env().get("TWELVELABS_INDEX_SECONDS", "10")))
    got = {v: store.get_video(v) for v in ids.values()}
    if not done or any(got[v].status != "ready" for v in want):
        raise RuntimeError(f"the library was not ready within {timeout:.0f} s: " + ", ".join(
            f"{g.title} {g.status}{'' if g.b2_thumbnail else ' (no thumbnail)'}" for g in got.values()))
    return ids


# ---- the pictures ------------------------------------------------------------------------------------------------
_SETTLED = "() => [...document.images].every((i) => i.complete) && !document.querySelector('.loading, [aria-busy=\"true\"]')"
_QUIET = """() => {
  for (const v of document.querySelectorAll('video')) { v.pause(); v.removeAttribute('autoplay') }
  document.activeElement && document.activeElement.blur && document.activeElement.blur()
}"""
# a frame well inside the video (its first frame is a poor picture), shown paused
_SEEK = """(t) => new Promise((done) => {
  const v = document.querySelector('video')
  v.pause()
  v.addEventListener('seeked', () => done(v.currentTime), { once: true })
  v.currentTime = t
})"""


def _settle(page) -> None:
    """Wait until the page's requests and images are done, players paused, focus gone and the pointer parked."""
    page.mouse.move(VIEWPORT["width"] - 1, VIEWPORT["height"] - 1)  # no hover effect on a tile
    page.wait_for_load_state("networkidle")
    page.wait_for_function(_SETTLED, timeout=30_000)
    page.evaluate(_QUIET)
    page.wait_for_timeout(300)


def capture(base_url: str, out: Path, video_id: str, query: str = QUERY, view: str = LIBRARY_VIEW) -> list[Path]:
    """Sign in as the demo user and write library.png, search.png and video.png into `out` (returned in that order)."""
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "library.png", out / "search.png", out / "video.png"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC",
                                          color_scheme="light", reduced_motion="reduce")
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{base_url}/#/signin")
            page.get_by_test_id("signin-email").fill(DEMO_EMAIL)
            page.get_by_test_id("signin-password").fill(DEMO_PASSWORD)
            page.get_by_test_id("signin-submit").click()
            expect(page.get_by_test_id("user-email")).to_have_text(DEMO_EMAIL)

            page.goto(f"{base_url}/#{view}")
            expect(page.get_by_test_id("library-total")).to_be_visible()
            _settle(page)
            page.screenshot(path=str(paths[0]), animations="disabled")

            page.goto(f"{base_url}/#/search?q={urllib.parse.quote(query)}")
            expect(page.get_by_test_id("clip-matched").first).to_be_visible()
            _settle(page)
            page.screenshot(path=str(paths[1]), animations="disabled")

            page.goto(f"{base_url}/#/videos/{video_id}")
            expect(page.get_by_test_id("video-player")).to_be_visible()
            page.wait_for_function("() => { const v = document.querySelector('video'); return v && v.readyState >= 2 }")
            page.evaluate(_SEEK, 3.0)
            _settle(page)
            # the player's own controls fade their loading spinner out: let it finish (freezing animations, as
            # for the other pages, can leave it half drawn over the picture)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(paths[2]))
        finally:
            browser.close()
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    offset = int(os.environ.get("MAM_PORT_OFFSET", "4000"))
    stack = Stack(offset=offset, state_dir=ROOT / ".local" / f"screenshots-stack-{offset}")
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    procs = Group(stack.state_dir / "logs")
    started = time.monotonic()
    try:
        start_stack(stack, procs)
        ids = seed_library(stack)
        paths = capture(stack.url("frontend"), args.out, ids[SHOWN])
    except Exception as exc:  # noqa: BLE001 - one line for the developer, the logs hold the rest
        print(f"screenshots: {type(exc).__name__}: {exc} (process logs: {stack.state_dir / 'logs'})",
              file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
    for p in paths:
        print(f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}  {p.stat().st_size // 1024} KB")
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Page objects for the browser tests: every selector the e2e tests need, in one place, by `data-testid`.

Playwright's sync API. The site sets `html[data-ready]` once config.json is loaded and Auth has restored the
session; every object waits for that before acting. Statuses are the raw API values (`data-status`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect


def tid(name: str) -> str:
    """CSS selector for a data-testid."""
    return f'[data-testid="{name}"]'


def confirm_dialog(page: Page) -> None:
    """Press the confirm button of the open confirmation dialog."""
    page.locator(tid("confirm-dialog")).locator(tid("confirm-ok")).click()


@dataclass
class App:
    """The whole site: navigation, sign-in / sign-out, and the pages below."""

    page: Page
    base_url: str  # e.g. http://127.0.0.1:9000 (the served frontend/dist)

    def open(self, path: str = "/") -> None:
        self.page.goto(f"{self.base_url.rstrip('/')}/#{path}")
        self.page.wait_for_selector("html[data-ready]")

    def sign_in(self, email: str, password: str) -> None:
        """Sign in through the sign-in page and wait until the header shows the user."""
        self.open("/signin")
        form = self.page.locator(tid("signin-form"))
        form.locator(tid("signin-email")).fill(email)
        form.locator(tid("signin-password")).fill(password)
        form.locator(tid("signin-submit")).click()
        expect(self.page.locator(tid("user-email"))).to_have_text(email)

    def sign_out(self) -> None:
        self.page.locator(tid("signout-button")).click()
        expect(self.page.locator(tid("signin-link"))).to_be_visible()

    def search(self, query: str) -> SearchPage:
        self.page.locator(tid("search-input")).fill(query)
        self.page.locator(tid("search-submit")).click()
        return SearchPage(self.page)

    @property
    def library(self) -> LibraryPage:
        return LibraryPage(self.page)

    @property
    def upload(self) -> UploadPage:
        return UploadPage(self.page)

    @property
    def video(self) -> VideoPage:
        return VideoPage(self.page)

    def confirm(self) -> None:
        confirm_dialog(self.page)


@dataclass
class LibraryPage:
    page: Page

    def wait_loaded(self) -> None:
        self.page.wait_for_selector(f'{tid("library-grid")}, {tid("library-empty")}')

    def tiles(self) -> Locator:
        return self.page.locator(tid("video-tile"))

    def tile(self, video_id: str) -> Locator:
        return self.page.locator(f'{tid("video-tile")}[data-video-id="{video_id}"]')

    def tile_by_title(self, title: str) -> Locator:
        return self.tiles().filter(has=self.page.locator(tid("tile-title"), has_text=title))

    def status(self, video_id: str) -> str:
        return self.tile(video_id).get_attribute("data-status") or ""

    def wait_status(self, video_id: str, status: str, timeout_ms: int = 60_000) -> None:
        """Wait until the tile's live status (updated by the page's /status polling) is `status`."""
        expect(self.tile(video_id)).to_have_attribute("data-status", status, timeout=timeout_ms)

    def has_thumbnail(self, video_id: str) -> bool:
        return self.tile(video_id).locator(f'{tid("thumbnail")} img').count() > 0

    def select(self, video_id: str) -> None:
        self.tile(video_id).locator(tid("tile-checkbox")).check()

    def select_page(self) -> None:
        self.page.locator(tid("select-page")).check()

    def select_all(self) -> None:
        """Select every video in the library (the banner appears once the whole page is selected)."""
        self.select_page()
        banner_button = self.page.locator(tid("select-all-button"))
        if banner_button.count():
            banner_button.click()

    def index(self, reindex: bool = False) -> None:
        if reindex:
            self.page.locator(tid("reindex-toggle")).check()
        self.page.locator(tid("index-button")).click()
        expect(self.page.locator(tid("toast-success")).or_(self.page.locator(tid("toast-info"))).first).to_be_visible()

    def delete(self) -> None:
        """Delete the selection, confirming the dialog, and wait for the grid to reload."""
        self.page.locator(tid("delete-button")).click()
        confirm_dialog(self.page)
        expect(self.page.locator(tid("toast-success")).or_(self.page.locator(tid("toast-error"))).first).to_be_visible()

    def sync(self) -> None:
        self.page.locator(tid("sync-button")).click()
        expect(self.page.locator(tid("toast-success")).or_(self.page.locator(tid("toast-info"))).first).to_be_visible()

    def open_video(self, video_id: str) -> VideoPage:
        self.tile(video_id).locator(tid("tile-title")).click()
        return VideoPage(self.page)


@dataclass
class UploadPage:
    page: Page

    def choose_file(self, path: str) -> None:
        self.page.wait_for_selector(f'{tid("upload-dashboard")} input[type=file]', state="attached")
        self.page.locator(f'{tid("upload-dashboard")} input[type=file]').first.set_input_files(path)

    @property
    def title(self) -> Locator:
        return self.page.locator(tid("upload-title"))

    @property
    def error(self) -> Locator:
        return self.page.locator(tid("upload-error"))

    def start(self) -> None:
        self.page.locator(tid("upload-submit")).click()

    def upload(self, path: str, title: str | None = None, timeout_ms: int = 120_000) -> str:
        """Upload a file and return the new video's id once the video page opened."""
        self.choose_file(path)
        if title is not None:
            self.title.fill(title)
        self.start()
        self.page.wait_for_url(re.compile(r".*#/videos/[^/?]+$"), timeout=timeout_ms)
        return self.page.url.rsplit("/", 1)[1]


@dataclass
class VideoPage:
    page: Page

    @property
    def player(self) -> Locator:
        return self.page.locator(tid("video-player"))

    def status(self) -> str:
        return self.page.locator(tid("video-page")).get_attribute("data-status") or ""

    def wait_playable(self, timeout_ms: int = 120_000) -> None:
        """Wait for the stored upload: the processing panel gives way to the <video> element."""
        expect(self.player).to_be_visible(timeout=timeout_ms)

    def media_duration(self) -> float:
        """Duration the browser read from the stored file (waits for its metadata)."""
        return self.player.evaluate(
            "v => v.readyState >= 1 ? v.duration : new Promise((ok, bad) => {"
            " v.addEventListener('loadedmetadata', () => ok(v.duration), {once: true});"
            " v.addEventListener('error', () => bad(new Error('video failed to load')), {once: true}); })")

    def poster(self) -> str:
        return self.player.get_attribute("poster") or ""

    def fact(self, name: str) -> str:
        """Text of a fact: duration, size, resolution, owner, created, status, indexed."""
        return self.page.locator(tid(f"fact-{name}")).inner_text()

    def delete(self) -> None:
        self.page.locator(tid("video-delete")).click()
        confirm_dialog(self.page)
        self.page.wait_for_url(re.compile(r".*#/$"))


@dataclass
class SearchPage:
    page: Page

    def results(self) -> Locator:
        self.page.wait_for_selector(f'{tid("search-results")}, {tid("search-empty")}, {tid("page-error")}')
        return self.page.locator(tid("search-result"))

    def result(self, video_id: str) -> Locator:
        return self.page.locator(f'{tid("search-result")}[data-video-id="{video_id}"]')

    def clip_count(self, video_id: str) -> int:
        return int(self.result(video_id).locator(tid("clip-count")).get_attribute("data-count") or 0)

    def next_page(self) -> None:
        self.page.locator(tid("page-next")).click()

    def open(self, video_id: str) -> ResultPage:
        self.result(video_id).locator(tid("result-title")).click()
        return ResultPage(self.page)


@dataclass
class ResultPage:
    page: Page

    def clips(self) -> Locator:
        self.page.wait_for_selector(tid("clip-list"))
        return self.page.locator(tid("clip-item"))

    def play_clip(self, index: int = 0) -> tuple[float, float]:
        """Click a clip in the list; returns its (start, end) in seconds."""
        clip = self.clips().nth(index)
        start, end = float(clip.get_attribute("data-start")), float(clip.get_attribute("data-end"))
        clip.click()
        return start, end

    def current_time(self) -> float:
        return self.page.locator(tid("video-player")).evaluate("v => v.currentTime")

    def paused(self) -> bool:
        return self.page.locator(tid("video-player")).evaluate("v => v.paused")


@dataclass
class InsightsPanel:
    """The video page's summary, chapters, transcript, tags and player tools (issue 14)."""

    page: Page

    def wait_ready(self, timeout_ms: int = 60_000) -> None:
        expect(self.page.locator(tid("insights"))).to_have_attribute("data-state", "ready", timeout=timeout_ms)

    def chapters(self) -> Locator:
        return self.page.locator(tid("chapter-item"))

    def transcript_lines(self) -> Locator:
        return self.page.locator(tid("transcript-line"))

    def current_time(self) -> float:
        return self.page.locator(tid("video-player")).evaluate("v => v.currentTime")

    def wait_time_near(self, seconds: float, tolerance: float = 1.0, timeout_ms: int = 15_000) -> float:
        """Wait until the player's position is within [seconds, seconds + tolerance] (it may be playing)."""
        self.page.wait_for_function(
            "([s, tol]) => { const v = document.querySelector('[data-testid=video-player]');"
            " return v && v.readyState >= 1 && v.currentTime >= s - 0.05 && v.currentTime <= s + tol }",
            arg=[seconds, tolerance], timeout=timeout_ms)
        return self.current_time()

    def caption_cues(self, timeout_ms: int = 15_000) -> list[dict]:
        """Cues of the player's captions track once the browser has loaded them."""
        handle = self.page.wait_for_function(
            "() => { const v = document.querySelector('[data-testid=video-player]');"
            " const t = v && [...v.textTracks].find(t => t.kind === 'captions');"
            " return t && t.cues && t.cues.length ? [...t.cues].map(c => ({start: c.startTime, end: c.endTime,"
            " text: c.text, lang: t.language, mode: t.mode})) : null }", timeout=timeout_ms)
        return handle.json_value()

    def find_scenes(self) -> None:
        self.page.locator(tid("find-scenes")).click()


def search_by_image_file(page: Page, path: str) -> None:
    """Choose a picture with the search box's picture button (its file input)."""
    page.locator(tid("search-image-input")).set_input_files(path)

"""scripts/screenshots.py's pieces against the test stack: a small library seeded (one video indexed by the local
Twelve Labs, one only stored) and the three README pictures captured in Chromium into a temporary folder, each a
1280x800 PNG. Capturing waits for labelled clip chips on the search page, so a search page without them fails."""
from __future__ import annotations

import concurrent.futures
import importlib.util
import struct
from pathlib import Path

import pytest
from conftest import ROOT

from e2e.helpers import Api, delete_prefix

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _script():
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_the_screenshot_script_captures_library_search_and_video_pages(full_stack, stack_env, demo_token, tmp_path):
    shots = _script()
    ocean = next(d for d in shots.INDEXED if d.name == "Ocean_waves_at_sunset")
    stored = shots.STORED[:1]
    ids = shots.seed_library(full_stack, indexed=(ocean,), stored=stored, timeout=120)
    try:
        # In a thread of its own: the e2e fixtures' Playwright (sync API) already runs an event loop in this one,
        # and the sync API refuses to start inside a running loop.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            paths = pool.submit(shots.capture, full_stack.url("frontend"), tmp_path, ids[shots.SHOWN]).result()
        assert [p.name for p in paths] == ["library.png", "search.png", "video.png"]
        for p in paths:
            assert p.stat().st_size > 10_000, f"{p.name} is only {p.stat().st_size} bytes"
            assert _png_size(p) == (1280, 800), p.name
    finally:
        Api(full_stack, demo_token).delete(*ids.values())
        from mam.settings import load_settings

        from localdev.demo import key_of

        prefix = load_settings("b2").b2.videos_prefix
        for d in (ocean, *stored):
            delete_prefix(full_stack, key_of(prefix, d))

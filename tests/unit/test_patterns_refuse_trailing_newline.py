"""Every whole-value pattern of the functions refuses a value with a trailing newline.

Python's `$` also matches just before a final newline, so `^[0-9a-f-]{36}$` took "<uuid>\\n" for an id; the
patterns end in `\\Z`. Each pattern is tried with a value it accepts, then the same value with "\\n" after it.
"""
from __future__ import annotations

import importlib

import pytest

# module, pattern name, a value the pattern accepts
PATTERNS = [
    ("mam.library.listing", "_VIDEO_ID", "abc123"),
    ("mam.library.search", "_TOKEN", "page-token.1"),
    ("mam.library.finding", "_DATE", "2026-12-07"),
    ("mam.uploads.service", "_VIDEO_ID", "abc123"),
    ("mam.uploads.notification", "_ASSEMBLY_ID", "a" * 32),
    ("mam.clients.twelvelabs", "_UNIX_SECONDS", "1765000000"),
    ("mam.clients.transloadit", "_ASSEMBLY_ID", "a" * 32),
    ("mam.iconik.request", "_UUID", "12345678-1234-1234-1234-123456789abc"),
    ("mam.iconik.request", "_FORMAT", "ORIGINAL"),
]


@pytest.mark.parametrize("module,name,good", PATTERNS, ids=[f"{m}.{n}" for m, n, _ in PATTERNS])
def test_a_trailing_newline_is_refused(module, name, good):
    pattern = getattr(importlib.import_module(module), name)
    assert pattern.match(good)
    assert pattern.match(good + "\n") is None


def test_a_route_does_not_take_a_newline_for_its_end():
    import flask

    from mam.http import Router

    router = Router("t")
    router.route("GET", "/videos")(lambda request: {"listed": True})
    app = flask.Flask("t")
    with app.test_request_context("/videos/%0A"):
        assert router(flask.request).status_code == 404
    with app.test_request_context("/videos/"):
        assert router(flask.request).status_code == 200

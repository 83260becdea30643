"""Validation of POST /uploads bodies (title default, size limit, video types)."""
from __future__ import annotations

import pytest
from mam.http import ApiError
from mam.settings import load_settings
from mam.uploads.service import _validate_start

SETTINGS = load_settings("transloadit", environ={"GCP_PROJECT": "p", "TRANSLOADIT_AUTH_KEY": "k",
                                                 "TRANSLOADIT_AUTH_SECRET": "s", "UPLOAD_MAX_BYTES": "1000"})


@pytest.mark.parametrize("body, expected", [
    ({"filename": "Cats on the floor.mp4"}, ("Cats on the floor.mp4", "Cats on the floor")),
    ({"filename": " clip.MOV ", "title": "  My clip  "}, ("clip.MOV", "My clip")),
    ({"filename": ".hidden.mp4"}, (".hidden.mp4", ".hidden")),
    ({"filename": "a.mkv", "type": "application/x-matroska"}, ("a.mkv", "a")),
    ({"filename": "a.mts", "type": "application/octet-stream"}, ("a.mts", "a")),
    ({"filename": "a.mp4", "type": "video/mp4", "size": 1000}, ("a.mp4", "a")),
    ({"filename": "a.mp4", "title": ""}, ("a.mp4", "a")),
])
def test_accepted(body, expected):
    assert _validate_start(body, SETTINGS) == expected


@pytest.mark.parametrize("body, status, code", [
    ({}, 400, "missing_field"),
    ({"filename": "   "}, 400, "missing_field"),
    ({"filename": 42}, 400, "invalid_field"),
    ({"filename": "a\nb.mp4"}, 400, "invalid_field"),
    ({"filename": "x" * 256}, 400, "invalid_field"),
    ({"filename": "a.mp4", "size": 1001}, 413, "file_too_large"),
    ({"filename": "a.mp4", "size": True}, 400, "invalid_field"),
    ({"filename": "a.mp4", "size": 1.5}, 400, "invalid_field"),
    ({"filename": "a.png", "type": "image/png"}, 400, "unsupported_type"),
    ({"filename": "a.pdf", "type": "application/octet-stream"}, 400, "unsupported_type"),
    ({"filename": "a.mp4", "type": "text/plain"}, 400, "unsupported_type"),
    ({"filename": "a.mp4", "size": 0}, 400, "empty_file"),
    ({"filename": "notes.txt"}, 400, "unsupported_type"),
    ({"filename": "notes.txt", "type": ""}, 400, "unsupported_type"),
    ({"filename": ".hidden"}, 400, "unsupported_type"),
])
def test_refused(body, status, code):
    with pytest.raises(ApiError) as err:
        _validate_start(body, SETTINGS)
    assert (err.value.status, err.value.code) == (status, code)

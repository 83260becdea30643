"""The local Twelve Labs' picture features (pure logic): image headers, perceptual hash, colour histogram and
the similarity score with its match threshold."""
from __future__ import annotations

import struct
import zlib

import pytest

from localdev.twelvelabs import visual

SIDE = visual.SIDE


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def frame(fn) -> bytes:
    """A SIDE x SIDE RGB frame whose pixel (x, y) is fn(x, y) -> (r, g, b)."""
    return bytes(c for y in range(SIDE) for x in range(SIDE) for c in fn(x, y))


def test_image_headers():
    assert visual.image_info(png(320, 180)) == visual.ImageInfo("png", 320, 180)
    assert visual.image_info(jpeg(64, 48)) == visual.ImageInfo("jpeg", 64, 48)
    for bad in (b"GIF89a" + b"\0" * 20, b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0" + b"\0" * 4, b""):
        with pytest.raises(visual.ImageError):
            visual.image_info(bad)


CAPTION = frame(lambda x, y: (250, 250, 250) if 20 < y < 44 and 10 < x < 54 else (0, 0, 128))
BRIGHTER = frame(lambda x, y: (255, 255, 255) if 20 < y < 44 and 10 < x < 54 else (10, 10, 140))
STRIPES = frame(lambda x, y: (255, 0, 0) if (x // 8) % 2 else (0, 255, 0))


def test_hash_and_histogram_tell_alike_from_different():
    a, b, c = (visual.features(f) for f in (CAPTION, BRIGHTER, STRIPES))
    assert visual.hash_similarity(a["h"], a["h"]) == 1.0
    assert visual.hash_similarity(a["h"], b["h"]) >= 0.9 > visual.hash_similarity(a["h"], c["h"])
    assert abs(sum(a["c"]) - 1) < 0.01 and visual.histogram_intersection(a["c"], a["c"]) > 0.99
    assert visual.histogram_intersection(a["c"], c["c"]) < 0.1


def test_frame_score_threshold():
    key = {"t": 1.0, **visual.features(CAPTION)}
    alike = visual.features(BRIGHTER)
    other = visual.features(STRIPES)
    q = visual.Query(alike["h"], alike["c"], frozenset({"harbour"}))
    assert visual.frame_score(q, key, {"harbour"}) >= visual.MATCH_THRESHOLD
    assert visual.frame_score(visual.Query(other["h"], other["c"], frozenset()), key, set()) < visual.MATCH_THRESHOLD
    # words the query shows but the frame does not lower the score
    assert visual.frame_score(q, key, set()) < visual.frame_score(q, key, {"harbour"})

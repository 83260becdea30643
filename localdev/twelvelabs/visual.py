"""What the local Twelve Labs sees in the picture: scene cuts (ffmpeg scene detection), keyframes with small
features (64-bit DCT perceptual hash + 64-bin colour histogram), image headers, and the similarity of a query
image to a keyframe. Pure Python (no numpy): a keyframe is 64x64 RGB, which keeps the maths cheap."""
from __future__ import annotations

import math
import re
import struct
import subprocess
from dataclasses import dataclass

from . import media

SCENE_THRESHOLD = 0.15  # ffmpeg scene score above which a frame starts a new shot (0.3 misses cuts between
# two dark plain colours, e.g. dark green -> maroon scores 0.18; plain synthetic shots score ~0 within a shot)
SIDE = 64               # keyframes and query images are reduced to SIDE x SIDE RGB (aspect ignored on both sides)
MAX_KEYFRAMES = 900     # periodic keyframes per video (one per second up to 15 min, sparser beyond)
_PTS = re.compile(r"pts_time:\s*([0-9.]+)")


class ImageError(Exception):
    """A query image the API refuses: `code`, `message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class ImageInfo:
    """What an image's header says."""

    kind: str   # "jpeg" | "png"
    width: int
    height: int


# ---- video -------------------------------------------------------------------------------------------------
def scene_cuts(path: str, threshold: float = SCENE_THRESHOLD) -> list[float]:
    """Times (s) where ffmpeg's scene detection sees a new shot, on a 160x90 copy of the picture."""
    res = subprocess.run([media.FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "info", "-i", path, "-an",
                          "-vf", f"scale=160:90,select='gt(scene\\,{threshold})',showinfo", "-f", "null", "-"],
                         capture_output=True, timeout=600, check=False)
    if res.returncode != 0:
        return []
    return sorted({round(float(m.group(1)), 2) for m in _PTS.finditer(res.stderr.decode("utf-8", "replace"))})


def keyframes(path: str, duration: float, cuts: list[float]) -> list[dict]:
    """Features of frames taken every second (sparser for long videos) and just after each scene cut:
    [{"t", "h" (64-bit pHash), "c" (64-bin histogram)}], in time order."""
    step = max(1.0, duration / MAX_KEYFRAMES)
    out: list[dict] = []
    for t, rgb in zip(*_frames_at(path, step, cuts, duration)):
        out.append({"t": t, **features(rgb)})
    out.sort(key=lambda f: f["t"])
    return out


def _frames_at(path: str, step: float, cuts: list[float], duration: float) -> tuple[list[float], list[bytes]]:
    """Decode the periodic frames (fps filter) and the cut frames (-ss per cut) as SIDE x SIDE RGB."""
    size = SIDE * SIDE * 3
    times: list[float] = []
    frames: list[bytes] = []
    res = subprocess.run([media.FFMPEG, "-nostdin", "-v", "error", "-i", path, "-an",
                          "-vf", f"fps=1/{step:.3f},scale={SIDE}:{SIDE},format=rgb24",
                          "-frames:v", str(MAX_KEYFRAMES), "-f", "rawvideo", "-"],
                         capture_output=True, timeout=600, check=False)
    if res.returncode == 0:
        data = res.stdout
        for k in range(len(data) // size):
            times.append(round(k * step, 2))
            frames.append(data[k * size:(k + 1) * size])
    for c in cuts:
        at = round(min(c + 0.2, max(duration - 0.05, 0.0)), 2)
        one = subprocess.run([media.FFMPEG, "-nostdin", "-v", "error", "-ss", f"{at:.3f}", "-i", path, "-an",
                              "-frames:v", "1", "-vf", f"scale={SIDE}:{SIDE},format=rgb24", "-f", "rawvideo", "-"],
                             capture_output=True, timeout=60, check=False)
        if one.returncode == 0 and len(one.stdout) >= size:
            times.append(at)
            frames.append(one.stdout[:size])
    return times, frames


# ---- features ------------------------------------------------------------------------------------------------
_DCT = [[math.cos(math.pi * (2 * x + 1) * u / 64) for x in range(32)] for u in range(8)]


def features(rgb: bytes) -> dict:
    """pHash (as int) and colour histogram of a SIDE x SIDE RGB24 frame."""
    return {"h": phash(rgb), "c": histogram(rgb)}


def phash(rgb: bytes) -> int:
    """64-bit DCT perceptual hash: 32x32 grey, the 8x8 lowest frequencies, bit = above their median."""
    grey = [[0.0] * 32 for _ in range(32)]
    for y in range(32):
        row = grey[y]
        for x in range(32):
            acc = 0.0
            for dy in (0, 1):
                o = ((2 * y + dy) * SIDE + 2 * x) * 3
                for dx in (0, 3):
                    r, g, b = rgb[o + dx], rgb[o + dx + 1], rgb[o + dx + 2]
                    acc += 0.299 * r + 0.587 * g + 0.114 * b
            row[x] = acc / 4
    # separable DCT-II, keeping 8 coefficients per axis
    rows = [[sum(c[x] * line[x] for x in range(32)) for c in _DCT] for line in grey]
    coef = [sum(_DCT[u][y] * rows[y][v] for y in range(32)) for u in range(8) for v in range(8)]
    ac = coef[1:]  # the DC term only says how bright the frame is
    med = sorted(ac)[len(ac) // 2]
    bits = 0
    for i, c in enumerate(coef):
        if i and c > med:
            bits |= 1 << i
    return bits


def histogram(rgb: bytes) -> list[float]:
    """Joint RGB histogram with 4 levels per channel (64 bins), normalised to sum 1."""
    bins = [0] * 64
    for o in range(0, len(rgb) - 2, 3):
        bins[(rgb[o] >> 6) * 16 + (rgb[o + 1] >> 6) * 4 + (rgb[o + 2] >> 6)] += 1
    n = sum(bins) or 1
    return [round(b / n, 4) for b in bins]


def hash_similarity(a: int, b: int) -> float:
    """1 - Hamming distance / 64."""
    return 1.0 - (a ^ b).bit_count() / 64.0


def histogram_intersection(a: list[float], b: list[float]) -> float:
    return sum(min(x, y) for x, y in zip(a, b))


# ---- query images ---------------------------------------------------------------------------------------------
def image_info(data: bytes) -> ImageInfo:
    """Type and size from the bytes themselves (magic + header); ImageError when not a readable JPEG/PNG."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ImageError("parameter_invalid", "The query image could not be read (broken PNG header).")
        w, h = struct.unpack(">II", data[16:24])
        return ImageInfo("png", w, h)
    if data[:3] == b"\xff\xd8\xff":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return ImageInfo("jpeg", w, h)
            i += 2 + length
        raise ImageError("parameter_invalid", "The query image could not be read (no JPEG frame header).")
    raise ImageError("parameter_invalid", "The query image must be a JPEG or PNG file.")


def decode(path: str) -> bytes:
    """A JPEG/PNG file as SIDE x SIDE RGB24 (ffmpeg decodes it); ImageError when it cannot."""
    res = subprocess.run([media.FFMPEG, "-nostdin", "-v", "error", "-i", path, "-frames:v", "1",
                          "-vf", f"scale={SIDE}:{SIDE},format=rgb24", "-f", "rawvideo", "-"],
                         capture_output=True, timeout=30, check=False)
    if res.returncode != 0 or len(res.stdout) < SIDE * SIDE * 3:
        raise ImageError("parameter_invalid", "The query image could not be decoded.")
    return res.stdout[:SIDE * SIDE * 3]


@dataclass(frozen=True)
class Query:
    """Features of one query image: hash, histogram, the words tesseract reads in it."""

    h: int
    c: list
    words: frozenset


# weights of the three cues; without words in the query the OCR share goes to the picture cues
W_HASH, W_HIST, W_OCR = 0.5, 0.3, 0.2
MATCH_THRESHOLD = 0.8  # below this a keyframe is not a match: a frame of the video scores ~0.98, an unrelated
# picture 0.25-0.5, another plain-background video with a caption ~0.6 (0.76 when the query has no readable words)


def frame_score(q: Query, frame: dict, words_on_screen: set[str]) -> float:
    """Similarity in [0, 1] of a query image to one keyframe (with the words on screen at that time)."""
    hs = hash_similarity(q.h, int(frame["h"]))
    ci = histogram_intersection(q.c, frame["c"])
    if not q.words:
        return (W_HASH * hs + W_HIST * ci) / (W_HASH + W_HIST)
    ocr = len(q.words & words_on_screen) / len(q.words)
    return W_HASH * hs + W_HIST * ci + W_OCR * ocr

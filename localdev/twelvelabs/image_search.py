"""Image queries of `POST /search` (query_media_type=image): the query images are checked like Marengo 3.0's
(JPEG/PNG by their bytes, at least 64x64, at most 5 MB, up to 10), reduced to features (pHash, colour
histogram, the words tesseract reads in them) and matched against each video's keyframes."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import tempfile
from collections.abc import Callable

from . import media, understand, visual
from .ranking import STOPWORDS, Clip, _window

MAX_IMAGES = 10
MAX_BYTES = 5 * 1024**2
MIN_SIDE = 64
TESSERACT = os.environ.get("TESSERACT", "tesseract")
JOIN_GAP = 2.5  # seconds: matching keyframes closer than this form one clip


class ImageQueryError(Exception):
    """A 400 answer for a query image: code + message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def collect(uploads: list, urls: list[str], fetch: Callable[[str], bytes]) -> list[bytes]:
    """The bytes of every query image (files and fetched URLs), each checked; ImageQueryError when one fails."""
    if not uploads and not urls:
        raise ImageQueryError("parameter_not_provided",
                              "The query_media_url or query_media_file parameter is required for an image query.")
    if len(uploads) + len(urls) > MAX_IMAGES:
        raise ImageQueryError("parameter_invalid", f"An image query takes at most {MAX_IMAGES} images.")
    out = []
    for up in uploads:
        data = up.read(MAX_BYTES + 1)
        out.append(check(data, up.filename or "query_media_file"))
    for url in urls:
        out.append(check(fetch(url), url))
    return out


def check(data: bytes, label: str) -> bytes:
    """`data` if it is a JPEG/PNG of at least 64x64 and at most 5 MB; else ImageQueryError."""
    if len(data) > MAX_BYTES:
        raise ImageQueryError("parameter_invalid", f"The query image {label} is larger than 5 MB.")
    if not data:
        raise ImageQueryError("parameter_invalid", f"The query image {label} is empty.")
    try:
        info = visual.image_info(data)
    except visual.ImageError as exc:
        raise ImageQueryError(exc.code, f"{exc.message} ({label})") from None
    if info.width < MIN_SIDE or info.height < MIN_SIDE:
        raise ImageQueryError("parameter_invalid", f"The query image {label} is {info.width}x{info.height}; "
                                                   f"both sides must be at least {MIN_SIDE} px.")
    return data


def features(data: bytes) -> visual.Query:
    """Hash, histogram and on-screen words of one checked query image."""
    with tempfile.TemporaryDirectory(prefix="tl-query-") as tmp:
        src = os.path.join(tmp, "query")
        with open(src, "wb") as fh:
            fh.write(data)
        try:
            rgb = visual.decode(src)
        except visual.ImageError as exc:
            raise ImageQueryError(exc.code, exc.message) from None
        f = visual.features(rgb)
        return visual.Query(h=f["h"], c=f["c"], words=frozenset(read_words(src, tmp)))


def read_words(src: str, tmp: str) -> set[str]:
    """Words tesseract reads (confidence >= 30) in an image, grey and scaled to 720-1440 px high like video
    frames, read as is and with only its near-white pixels kept (as the video OCR does)."""
    words: set[str] = set()
    for n, extra in enumerate(("", "," + understand.BRIGHT_TEXT)):
        grey = os.path.join(tmp, f"grey{n}.png")
        res = subprocess.run([media.FFMPEG, "-nostdin", "-v", "error", "-y", "-i", src, "-frames:v", "1",
                              "-vf", f"scale=-2:'min(max(ih,720),1440)',format=gray{extra}", grey],
                             capture_output=True, timeout=30, check=False)
        if res.returncode == 0:
            words |= _tesseract_words(grey)
    return words


def _tesseract_words(image: str) -> set[str]:
    try:
        out = subprocess.run([TESSERACT, image, "stdout", "--psm", "11", "tsv"], capture_output=True, timeout=60,
                             check=False)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    words = set()
    for row in csv.DictReader(io.StringIO(out.stdout.decode("utf-8", "replace")), delimiter="\t",
                              quoting=csv.QUOTE_NONE):
        try:
            conf = float(row.get("conf") or -1)
        except ValueError:
            continue
        for w in "".join(ch if ch.isalnum() else " " for ch in (row.get("text") or "").lower()).split():
            if conf >= 30 and len(w) >= 2 and w not in STOPWORDS:
                words.add(w)
    return words


def rank(videos: list[tuple[str, float, dict]], queries: list[visual.Query], extra_words: frozenset = frozenset()
         ) -> list[Clip]:
    """Clips of `videos` [(id, duration, understanding)] whose keyframes look like any query image, best first.
    A keyframe matches when its score (visual.frame_score) reaches visual.MATCH_THRESHOLD; neighbouring matches
    join into one clip scored by its best frame."""
    if extra_words:
        queries = [visual.Query(q.h, q.c, q.words | extra_words) for q in queries]
    clips: list[Clip] = []
    for vid, duration, u in videos:
        ocr = u.get("ocr") or []
        hits: list[tuple[float, float]] = []
        for frame in u.get("keyframes") or []:
            t = float(frame["t"])
            on_screen = {w["w"] for w in ocr if w["s"] <= t <= w["e"]}
            best = max(visual.frame_score(q, frame, on_screen) for q in queries)
            if best >= visual.MATCH_THRESHOLD:
                hits.append((t, best))
        hits.sort()
        group: list[tuple[float, float]] = []
        for hit in [*hits, None]:
            if hit is not None and (not group or hit[0] - group[-1][0] <= JOIN_GAP):
                group.append(hit)
                continue
            if group:
                start, end = _window(group[0][0], group[-1][0] + 1.0, duration)
                clips.append(Clip(vid, start, end, round(max(s for _, s in group), 4), {"visual"}))
            group = [hit] if hit is not None else []
    clips.sort(key=lambda c: (-c.score, c.video_id, c.start))
    return clips

"""A transcript [{start, end, text}] as a WebVTT file, and a safe download name for it."""
from __future__ import annotations

import re
import unicodedata
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9 ._-]+")


def timestamp(seconds: float) -> str:
    """WebVTT's hh:mm:ss.ttt."""
    ms = max(0, round(float(seconds) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _cue_text(text: str) -> str:
    # a cue's text may not hold "-->" nor a blank line; & and < start markup and must be escaped
    text = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("--&gt;", "-&#45;&gt;")


def to_webvtt(segments: list[dict[str, Any]]) -> str:
    """The WebVTT of transcript segments (sorted by start; empty or zero-length ones left out)."""
    lines = ["WEBVTT", ""]
    n = 0
    for seg in sorted(segments, key=lambda s: (float(s["start"]), float(s["end"]))):
        text = _cue_text(str(seg.get("text") or ""))
        start, end = float(seg["start"]), float(seg["end"])
        if not text or end <= start:
            continue
        n += 1
        lines += [str(n), f"{timestamp(start)} --> {timestamp(end)}", text, ""]
    return "\n".join(lines) + ("\n" if n == 0 else "")


def filename(title: str) -> str:
    """`<title>.vtt` with only letters, digits, spaces, '.', '_' and '-' (accents dropped), at most 80 characters."""
    plain = unicodedata.normalize("NFKD", title or "")
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    safe = re.sub(r"\.{2,}", ".", " ".join(_UNSAFE.sub(" ", plain).split())).strip(" .")[:80].strip(" .")
    return (safe or "captions") + ".vtt"

"""Lexical ranking of clip windows: query words matched against timed speech and on-screen words."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

WINDOW_MIN = 5.0   # seconds: shortest clip returned
WINDOW_MAX = 10.0  # seconds: longest span of hits joined into one clip
HIT_GAP = 3.0      # hits closer than this belong to the same clip
PAD = 1.0          # seconds added around the hits of a clip

# search option -> understanding source, with Marengo 3.0's meanings: `visual` = the picture and on-screen text
# (all we can see is on-screen text, via tesseract), `transcription` = recognised speech, `audio` = non-speech
# sound. This stand-in has no sound-event model, so `audio` has no source and matches nothing (rather than
# answering with speech, which the real `audio` option never does).
SOURCES: dict[str, str | None] = {"visual": "ocr", "transcription": "speech", "audio": None}

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(["a", "about", "above", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "more", "most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your"])


def stem(word: str) -> str:
    """A deliberately small English stemmer: cats -> cat, playing -> play, danced -> danc(e)."""
    w = word.lower()
    w = w.removesuffix("'s")
    for suffix in ("ing", "ies", "ed", "es", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    if w.endswith("e") and len(w) > 3:  # dance/danced/dancing all meet at "danc"
        w = w[:-1]
    return w


def query_terms(text: str) -> list[str]:
    """Distinct stems of the meaningful words of a query; none when every word is a stopword, so "the" alone
    matches nothing (a 200 with no data, as the real service answers a query it finds nothing for)."""
    words = _WORD.findall(text.lower())
    kept = [w for w in words if w not in STOPWORDS]
    seen: list[str] = []
    for w in kept:
        s = stem(w)
        if s not in seen:
            seen.append(s)
    return seen


@dataclass
class Hit:
    term: str
    start: float
    end: float
    source: str


@dataclass
class Clip:
    """A ranked window. `score` and `sources` only order and test clips inside the stand-in: the real API
    (Marengo 3.0) returns neither, so they never go on the wire."""

    video_id: str
    start: float
    end: float
    score: float
    sources: set


def hits_of(understanding: dict, sources: set[str], terms: set[str]) -> list[Hit]:
    """Timed occurrences of query stems in the chosen sources of one video."""
    out = []
    for source in sources:
        for w in understanding.get(source) or []:
            s = stem(w["w"])
            if s in terms:
                out.append(Hit(s, float(w["s"]), float(w["e"]), source))
    out.sort(key=lambda h: (h.start, h.end))
    return out


def idf(n_docs: int, df: int) -> float:
    """BM25's idf, always positive."""
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def rank(videos: list[tuple[str, float, dict]], query: str, options: list[str], operator: str = "or") -> list[Clip]:
    """Score clip windows of `videos` [(id, duration, understanding)] for `query`; best first.

    A clip is a run of query-word hits (gaps <= HIT_GAP, span <= WINDOW_MAX), padded and widened to at least
    WINDOW_MIN. Score = sum over matched terms of idf * (1 + ln tf), scaled by how much of the query it covers.
    With operator "and" a clip must match every chosen option, so `audio` (no source here) makes it match none."""
    terms = query_terms(query)
    if not terms:
        return []
    chosen = [SOURCES[o] for o in options if o in SOURCES]
    if operator == "and" and None in chosen:
        return []
    sources = {s for s in chosen if s is not None}
    if not sources:
        return []
    term_set = set(terms)
    per_video = {vid: hits_of(u, sources, term_set) for vid, _, u in videos}
    df = {t: sum(1 for hs in per_video.values() if any(h.term == t for h in hs)) for t in terms}
    weights = {t: idf(len(videos), df[t]) for t in terms}
    clips: list[Clip] = []
    for vid, duration, _ in videos:
        for group in _groups(per_video[vid]):
            tf: dict[str, int] = {}
            for h in group:
                tf[h.term] = tf.get(h.term, 0) + 1
            got = {h.source for h in group}
            if operator == "and" and got != sources:
                continue
            coverage = len(tf) / len(terms)
            score = sum(weights[t] * (1 + math.log(n)) for t, n in tf.items()) * (0.5 + 0.5 * coverage)
            start, end = _window(group[0].start, max(h.end for h in group), duration)
            clips.append(Clip(vid, start, end, round(score, 4), got))
    clips.sort(key=lambda c: (-c.score, c.video_id, c.start))
    return clips


def _groups(hits: list[Hit]) -> list[list[Hit]]:
    groups: list[list[Hit]] = []
    for h in hits:
        g = groups[-1] if groups else None
        if g and h.start - max(x.end for x in g) <= HIT_GAP and h.end - g[0].start <= WINDOW_MAX:
            g.append(h)
        else:
            groups.append([h])
    return groups


def _window(first: float, last: float, duration: float) -> tuple[float, float]:
    start, end = max(0.0, first - PAD), last + PAD
    if duration > 0:
        end = min(end, duration)
    if end - start < WINDOW_MIN:
        mid = (start + end) / 2
        start, end = mid - WINDOW_MIN / 2, mid + WINDOW_MIN / 2
        if start < 0:
            start, end = 0.0, WINDOW_MIN
        if duration > 0 and end > duration:
            start, end = max(0.0, duration - WINDOW_MIN), duration
    return round(start, 2), round(end, 2)


def words_between(words: list[dict], start: float, end: float) -> str:
    """The recognised words said between `start` and `end` (for a clip's `transcription`)."""
    return " ".join(w["w"] for w in words if w["e"] > start and w["s"] < end)

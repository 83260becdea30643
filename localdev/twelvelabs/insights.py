"""What `analyze` says about a video, built only from what the stand-in extracted (recognised speech, on-screen
text, scene cuts): an extractive summary (sentences ranked by term weight), chapters cut at scene changes (or
speech pauses when the picture never changes), highlights (the best-weighted sentences), a title from the
strongest on-screen phrase, topics and hashtags from keywords. No canned text."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from .ranking import STOPWORDS, stem

MIN_CHAPTER = 2.0     # seconds: scene cuts closer than this (or to an end) do not start a chapter
PAUSE = 0.8           # seconds of silence between utterances that may end a chapter when there are no cuts
MAX_HIGHLIGHTS = 3
MAX_TOPICS = 5


@dataclass
class Segment:
    """A timed piece of the video with what was said/shown in it."""

    start: float
    end: float
    title: str = ""
    summary: str = ""
    text: str = ""
    keywords: list[str] = field(default_factory=list)


@dataclass
class Insight:
    """Everything `analyze` can answer with, for one video (or one window of it)."""

    start: float
    end: float
    summary: str
    sentences: list[str]
    title: str
    topics: list[str]
    hashtags: list[str]
    keywords: list[str]
    chapters: list[Segment]
    highlights: list[Segment]
    utterances: list[Segment]
    phrases: list[Segment]
    scenes: list[float]
    has_speech: bool
    has_text: bool

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 3)

    def transcript_text(self) -> str:
        return " ".join(u.text for u in self.utterances)


# ---- text helpers ----------------------------------------------------------------------------------------------
def content_words(text: str) -> list[str]:
    """Words of `text` worth weighting: not stopwords, at least 3 letters."""
    return [w for w in text.lower().split() if w.isalnum() and len(w) >= 3 and w not in STOPWORDS]


def sentence(text: str) -> str:
    """Recognised words as a sentence: first letter upper-case, a full stop at the end."""
    text = " ".join(text.split())
    if not text:
        return ""
    return text[0].upper() + text[1:] + ("" if text[-1] in ".!?" else ".")


def title_case(text: str) -> str:
    small = {"a", "an", "the", "of", "on", "in", "at", "to", "and", "or", "for"}
    words = text.lower().split()
    return " ".join(w if i and w in small else w[:1].upper() + w[1:] for i, w in enumerate(words))


# ---- building blocks -------------------------------------------------------------------------------------------
def ocr_phrases(words: list[dict]) -> list[Segment]:
    """On-screen words grouped into captions: words seen over (mostly) the same time span form one phrase, in
    reading order (top to bottom, left to right)."""
    groups: list[list[dict]] = []
    for w in sorted(words, key=lambda x: (x["s"], x["e"])):
        for g in groups:
            s, e = g[0]["s"], g[0]["e"]
            overlap = min(e, w["e"]) - max(s, w["s"])
            if overlap >= 0.5 * min(e - s, w["e"] - w["s"]) and overlap > 0:
                g.append(w)
                break
        else:
            groups.append([w])
    out = []
    for g in groups:
        g.sort(key=lambda x: (int(x.get("y", 0)) // 40, int(x.get("x", 0))))
        seen: list[str] = []
        for w in g:
            if w["w"] not in seen:
                seen.append(w["w"])
        start, end = min(w["s"] for w in g), max(w["e"] for w in g)
        text = " ".join(seen)
        out.append(Segment(round(start, 2), round(end, 2), title_case(text), sentence(text), text,
                           content_words(text)))
    return sorted(out, key=lambda p: p.start)


def utterances(transcript: list[dict]) -> list[Segment]:
    """Recognised speech segments as sentences."""
    out = []
    for u in transcript:
        text = " ".join(str(u.get("value") or "").split())
        if text:
            out.append(Segment(float(u["start"]), float(u["end"]), "", sentence(text), text, content_words(text)))
    return out


def term_weights(utts: list[Segment], phrases: list[Segment]) -> dict[str, float]:
    """Weight of each stemmed term: 1 + ln(count), x1.5 when it is both said and shown."""
    said: dict[str, int] = {}
    shown: dict[str, int] = {}
    for u in utts:
        for w in u.keywords:
            said[stem(w)] = said.get(stem(w), 0) + 1
    for p in phrases:
        for w in p.keywords:
            shown[stem(w)] = shown.get(stem(w), 0) + 1
    out = {}
    for t in set(said) | set(shown):
        n = said.get(t, 0) + shown.get(t, 0)
        out[t] = (1 + math.log(n)) * (1.5 if t in said and t in shown else 1.0)
    return out


def score(seg: Segment, weights: dict[str, float]) -> float:
    """Sum of the weights of its distinct terms, damped by its length (long rambling sentences do not win)."""
    terms = {stem(w) for w in seg.keywords}
    if not terms:
        return 0.0
    return sum(weights.get(t, 0.0) for t in terms) / math.sqrt(len(seg.keywords))


def keywords(utts: list[Segment], phrases: list[Segment], weights: dict[str, float], n: int = 10) -> list[str]:
    """The `n` best-weighted terms, each in its most common written form."""
    forms: dict[str, dict[str, int]] = {}
    for seg in [*utts, *phrases]:
        for w in seg.keywords:
            f = forms.setdefault(stem(w), {})
            f[w] = f.get(w, 0) + 1
    best = sorted(weights, key=lambda t: (-weights[t], t))[:n]
    return [max(forms[t], key=lambda w: (forms[t][w], -len(w))) for t in best if t in forms]


def chapter_bounds(start: float, end: float, scenes: list[float], utts: list[Segment]) -> list[float]:
    """Chapter start times: scene cuts (at least MIN_CHAPTER apart and from the ends); without cuts, the
    longest pauses between utterances (one chapter per ~15 s at most)."""
    cuts: list[float] = []
    for c in sorted(scenes):
        if start + MIN_CHAPTER <= c <= end - MIN_CHAPTER and (not cuts or c - cuts[-1] >= MIN_CHAPTER):
            cuts.append(round(c, 2))
    if not cuts and len(utts) > 1:
        gaps = [((b.start - a.end), round((a.end + b.start) / 2, 2)) for a, b in itertools.pairwise(utts)
                if b.start - a.end >= PAUSE]
        room = max(0, int((end - start) // 15))
        for _, at in sorted(gaps, reverse=True)[:room]:
            if start + MIN_CHAPTER <= at <= end - MIN_CHAPTER and all(abs(at - c) >= MIN_CHAPTER for c in cuts):
                cuts.append(at)
        cuts.sort()
    return [round(start, 2), *cuts]


def build(understanding: dict, duration: float, start: float | None = None, end: float | None = None) -> Insight:
    """The insight of a video from its understanding, optionally limited to [start, end]."""
    lo = max(0.0, float(start or 0.0))
    hi = min(float(duration), float(end)) if end is not None else float(duration)

    def inside(s: float, e: float) -> bool:
        return (s + e) / 2 >= lo and (s + e) / 2 <= hi

    utts = [u for u in utterances(understanding.get("transcript") or []) if inside(u.start, u.end)]
    phrases = [p for p in ocr_phrases(understanding.get("ocr") or []) if inside(p.start, p.end)]
    scenes = [float(c) for c in understanding.get("scenes") or [] if lo < float(c) < hi]
    weights = term_weights(utts, phrases)
    keys = keywords(utts, phrases, weights)

    # summary: the best sentences (all of up to three, else about one in three, 3..5), in time order;
    # captions when nothing is said
    pool = utts or phrases
    k = len(pool) if len(pool) <= 3 else max(3, min(5, round(len(pool) / 3)))
    chosen = sorted(sorted(pool, key=lambda s: -score(s, weights))[:k], key=lambda s: s.start)
    sentences = [s.summary for s in chosen]

    strongest = sorted(phrases, key=lambda p: -(score(p, weights) * (p.end - p.start)))
    title = strongest[0].title if strongest else title_case(" ".join(keys[:3]))

    topics: list[str] = []
    for p in strongest:
        if p.text not in topics:
            topics.append(p.text)
    for w in keys:
        if not any(w in t.split() for t in topics):
            topics.append(w)
    topics = topics[:MAX_TOPICS]
    hashtags = ["#" + t.replace(" ", "") for t in topics]

    bounds = chapter_bounds(lo, hi, scenes, utts)
    chapters = []
    for i, b in enumerate(bounds):
        e = bounds[i + 1] if i + 1 < len(bounds) else round(hi, 2)
        said = [u for u in utts if b <= (u.start + u.end) / 2 < e]
        shown = [p for p in phrases if b <= (p.start + p.end) / 2 < e]
        local = term_weights(said, shown)
        cap = sorted(shown, key=lambda p: -(score(p, weights) * (p.end - p.start)))
        words = keywords(said, shown, local, 3)
        best = sorted(said or shown, key=lambda s: -score(s, weights))
        ch_title = cap[0].title if cap else title_case(" ".join(words))
        chapters.append(Segment(b, e, ch_title or title_case(f"part {i + 1}"), best[0].summary if best else "",
                                " ".join(s.text for s in [*shown, *said]), words))

    ranked = sorted(utts or phrases, key=lambda s: -score(s, weights))[:MAX_HIGHLIGHTS]
    highlights = []
    for s in sorted(ranked, key=lambda s: s.start):
        near = [p for p in phrases if p.start < s.end and p.end > s.start]
        h_title = near[0].title if near else title_case(" ".join(keywords([s], [], term_weights([s], []), 3)))
        highlights.append(Segment(round(s.start, 2), round(s.end, 2), h_title, s.summary, s.text, s.keywords))

    return Insight(start=round(lo, 2), end=round(hi, 2), summary=" ".join(sentences), sentences=sentences,
                   title=title, topics=topics, hashtags=hashtags, keywords=keys, chapters=chapters,
                   highlights=highlights, utterances=utts, phrases=phrases, scenes=scenes,
                   has_speech=bool(utts), has_text=bool(phrases))

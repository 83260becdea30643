"""What we ask Twelve Labs for (one JSON schema, one prompt) and how its answer is checked and tidied.

The schema uses only keywords the analyze API accepts (no minLength/maxLength, additionalProperties, uniqueItems,
maxItems: those are a 422), and no property named start_time/end_time (reserved names with their own rules).
The answer is a JSON string that may be cut short or not follow the schema: `parse` raises BadOutput then, and
otherwise returns `Content` with chapters and highlights clamped to the video, sorted, overlaps cut.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

_SPAN = {"type": "object", "required": ["start", "end", "title", "summary"],
         "properties": {"start": {"type": "number"}, "end": {"type": "number"},
                        "title": {"type": "string"}, "summary": {"type": "string"}}}
INSIGHT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["summary", "chapters", "highlights", "title", "topics", "hashtags"],
    "properties": {
        "summary": {"type": "string"},
        "chapters": {"type": "array", "items": _SPAN},
        "highlights": {"type": "array", "items": _SPAN},
        "title": {"type": "string"},
        "topics": {"type": "array", "items": {"type": "string"}},
        "hashtags": {"type": "array", "items": {"type": "string"}},
    },
}
PROMPT = ("Describe this video for a media library. summary: three to five sentences on what is shown and said. "
          "chapters: the video's consecutive parts in order, each with start and end in seconds, a short title and a "
          "one-sentence summary. highlights: the most notable moments, each with start and end in seconds, a short "
          "title and a one-sentence summary. title: a short descriptive title. topics: up to five subjects. "
          "hashtags: up to five hashtags without spaces.")
MAX_SPANS = 50
MAX_TEXT = 2000
MAX_TITLE = 200
MAX_WORDS_LIST = 10
_KEYWORDS = {"type", "properties", "required", "items", "minItems", "anyOf", "enum", "const", "pattern", "format",
             "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "description", "title", "$defs", "$ref"}


class BadOutput(ValueError):
    """The analysis answer is not JSON following INSIGHT_SCHEMA (or was cut short); the message says where."""


@dataclass(frozen=True)
class Span:
    start: float
    end: float
    title: str
    summary: str

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "title": self.title, "summary": self.summary}


@dataclass(frozen=True)
class Content:
    """A checked, tidied analysis."""

    summary: str
    title_suggestion: str
    topics: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    chapters: list[Span] = field(default_factory=list)
    highlights: list[Span] = field(default_factory=list)


def keywords_used(schema: Any) -> set[str]:
    """Every keyword of a schema (to check it against what the API accepts)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key == "properties" and isinstance(value, dict):
                for sub in value.values():
                    found |= keywords_used(sub)
            elif isinstance(value, (dict, list)):
                found |= keywords_used(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= keywords_used(item)
    return found


def unsupported_keywords(schema: dict[str, Any]) -> set[str]:
    """Keywords of `schema` the analyze API refuses or does not know."""
    return keywords_used(schema) - _KEYWORDS


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def validate(schema: dict[str, Any], value: Any, where: str = "$") -> None:
    """Check `value` against the subset of JSON Schema INSIGHT_SCHEMA uses (type, properties, required, items)."""
    kind = schema.get("type")
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadOutput(f"{where} must be a number")
        if kind == "integer" and not float(value).is_integer():
            raise BadOutput(f"{where} must be an integer")
    elif kind in _TYPES and not isinstance(value, _TYPES[kind]):
        raise BadOutput(f"{where} must be {'an' if kind in ('object', 'array') else 'a'} {kind}")
    if kind == "object":
        for name in schema.get("required", ()):
            if name not in value:
                raise BadOutput(f"{where}.{name} is missing")
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                validate(sub, value[name], f"{where}.{name}")
    elif kind == "array" and "items" in schema:
        for i, item in enumerate(value):
            validate(schema["items"], item, f"{where}[{i}]")


def _text(value: str, limit: int) -> str:
    return " ".join(value.split())[:limit]


def _spans(raw: list[dict[str, Any]], duration: float | None) -> list[Span]:
    """Clamped to [0, duration], sorted by start, overlaps cut (a span ends where the next begins), empty dropped."""
    end_of_video = duration if duration and duration > 0 else math.inf
    spans = []
    for item in raw[:MAX_SPANS * 2]:
        start = min(max(0.0, float(item["start"])), end_of_video)
        end = min(max(0.0, float(item["end"])), end_of_video)
        title = _text(item["title"], MAX_TITLE)
        if end > start and title:
            spans.append(Span(round(start, 3), round(end, 3), title, _text(item["summary"], MAX_TEXT)))
    spans.sort(key=lambda s: (s.start, s.end))
    out: list[Span] = []
    for i, span in enumerate(spans):
        nxt = spans[i + 1].start if i + 1 < len(spans) else math.inf
        end = min(span.end, nxt) if nxt > span.start else span.end
        if out and span.start < out[-1].end:  # same start as the previous one: keep the first
            continue
        if end > span.start:
            out.append(Span(span.start, round(end, 3), span.title, span.summary))
    return out[:MAX_SPANS]


def _words(values: list[str]) -> list[str]:
    out: dict[str, None] = {}
    for v in values:
        text = _text(v, 100)
        if text:
            out.setdefault(text, None)
    return list(out)[:MAX_WORDS_LIST]


def parse(data: str, finish_reason: str, duration: float | None) -> Content:
    """The checked content of an analysis answer; BadOutput when cut short, not JSON, or not following the schema."""
    if finish_reason == "length":
        raise BadOutput("the answer was cut short (finish_reason length)")
    try:
        value = json.loads(data)
    except (TypeError, ValueError) as exc:
        raise BadOutput(f"the answer is not JSON ({type(exc).__name__})") from None
    validate(INSIGHT_SCHEMA, value)
    return Content(summary=_text(value["summary"], MAX_TEXT * 2), title_suggestion=_text(value["title"], MAX_TITLE),
                   topics=_words(value["topics"]), hashtags=_words(value["hashtags"]),
                   chapters=_spans(value["chapters"], duration), highlights=_spans(value["highlights"], duration))

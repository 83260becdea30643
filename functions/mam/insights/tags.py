"""The tag rules: trimmed, a leading '#' dropped, inner whitespace collapsed to one space, lower-cased,
de-duplicated, 1-32 characters each, at most 20 per video."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_TAGS = 20
MAX_TAG_CHARS = 32


class TagError(ValueError):
    """Tags a person sent that break the rules; the message is a sentence saying what to change."""


def normal(tag: str) -> str:
    """One tag in its stored form ("" when nothing is left)."""
    text = " ".join(tag.split())
    if text.startswith("#"):
        text = " ".join(text[1:].split())
    return "".join(c for c in text if c.isprintable()).lower()


def parse(value: Any) -> list[str]:
    """The tags of a PATCH body, normalised; TagError with a sentence when they break a rule."""
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise TagError("Tags must be a list of words, for example [\"beach\", \"sunset\"].")
    out: dict[str, None] = {}
    for raw in value:
        tag = normal(raw)
        if not tag:
            raise TagError("A tag cannot be empty; remove the empty tag and save again.")
        if len(tag) > MAX_TAG_CHARS:
            raise TagError(f"The tag “{tag[:40]}…” is too long: use at most {MAX_TAG_CHARS} characters per tag.")
        out.setdefault(tag, None)
    if len(out) > MAX_TAGS:
        raise TagError(f"A video can have at most {MAX_TAGS} tags; remove {len(out) - MAX_TAGS} and save again.")
    return list(out)


def suggested(*groups: Iterable[str]) -> list[str]:
    """Tags made from generated topics and hashtags: those that break a rule are left out (never an error)."""
    out: dict[str, None] = {}
    for group in groups:
        for raw in group:
            tag = normal(raw)
            if tag and len(tag) <= MAX_TAG_CHARS:
                out.setdefault(tag, None)
    return list(out)[:MAX_TAGS]

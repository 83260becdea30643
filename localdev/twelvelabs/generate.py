"""The text `analyze` answers with: JSON filling the caller's schema, or plain text chosen by what the prompt
asks for (chapters, highlights, title, topics, hashtags, else the summary); cut at max_tokens like the API."""
from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass

import jsonschema

from . import schema as schema_mod
from .errors import ApiError
from .insights import Insight

TRUNCATED = ("output truncated: the generation reached the configured max_tokens. The partial output is "
             "returned; raise max_tokens if you need a longer response.")


@dataclass
class Generation:
    """One answer: `data` text, `finish_reason`, token usage and the truncation warning if any."""

    id: str
    data: str
    finish_reason: str
    output_tokens: int
    input_tokens: int
    warning: str | None = None

    def usage(self) -> dict:
        return {"output_tokens": self.output_tokens, "input_tokens": self.input_tokens}


def tokens(text: str) -> int:
    """A model-token estimate (about four characters each)."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def plain_text(ins: Insight, prompt: str) -> str:
    """Unstructured answer: the parts the prompt names, in a stable order; the summary by default."""
    p = prompt.lower()
    parts: list[str] = []
    if "title" in p:
        parts.append(ins.title)
    if "chapter" in p or "section" in p:
        parts.append("\n".join(f"{schema_mod.clock(c.start, False)}-{schema_mod.clock(c.end, False)} {c.title}: "
                               f"{c.summary}".rstrip(": ") for c in ins.chapters))
    if "highlight" in p:
        parts.append("\n".join(f"{schema_mod.clock(h.start, False)}-{schema_mod.clock(h.end, False)} {h.title}: "
                               f"{h.summary}".rstrip(": ") for h in ins.highlights))
    if "topic" in p or "keyword" in p:
        parts.append(", ".join(ins.topics))
    if "hashtag" in p or "tag" in p.split():
        parts.append(" ".join(ins.hashtags))
    if not parts or "summar" in p or "describe" in p:
        parts.insert(0, ins.summary or ins.title)
    return "\n\n".join(x for x in parts if x)


def generate(ins: Insight, prompt: str | None, json_schema: dict | None, max_tokens: int | None,
             seed: str) -> Generation:
    """Build the answer; ApiError 500 if (unexpectedly) no schema-valid value could be built."""
    if json_schema is not None:
        try:
            value = schema_mod.fill(json_schema, ins, seed)
        except jsonschema.ValidationError as exc:
            raise ApiError(500, "internal_error", "The local Twelve Labs could not build an answer matching "
                                                  f"the schema ({exc.message[:200]}).") from None
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = plain_text(ins, prompt or "")
    input_tokens = tokens(prompt or "") + math.ceil(ins.duration * 10)  # ~10 tokens/s of video
    finish, warning = "stop", None
    if max_tokens is not None and tokens(text) > max_tokens:
        text, finish, warning = text[: max_tokens * 4], "length", TRUNCATED
    return Generation(id=str(uuid.uuid4()), data=text, finish_reason=finish, output_tokens=tokens(text),
                      input_tokens=input_tokens, warning=warning)

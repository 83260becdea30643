"""JSON-schema response formats of `analyze`: refuse what Pegasus refuses (SDK 1.3.6 `SyncResponseFormat` docs),
fill ANY accepted schema from an Insight (known property names get their extract, unknown ones a type-correct
extracted value) and validate the answer against the schema before it is sent."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import jsonschema

from .insights import Insight, Segment, title_case

TYPES = {"array", "boolean", "integer", "null", "number", "object", "string", "timestamp"}
TIMESTAMP_FORMATS = ("seconds", "hh:mm:ss", "hh:mm:ss.fff")
STRING_FORMATS = {"uuid", "date-time", "date", "time"}
RESERVED = ("start_time", "end_time")
# keywords the docs name as causing a 422; each message follows the docs' wording
UNSUPPORTED = {
    "minLength": "String length constraints (minLength) are not supported.",
    "maxLength": "String length constraints (maxLength) are not supported.",
    "additionalProperties": "The additionalProperties keyword is not supported.",
    "uniqueItems": "The uniqueItems keyword is not supported.",
    "maxItems": "The maxItems keyword is not supported.",
    "oneOf": "Only anyOf is supported for schema composition.",
    "allOf": "Only anyOf is supported for schema composition.",
    "not": "Only anyOf is supported for schema composition.",
}
ANNOTATIONS = {"title", "description", "$comment", "$comments", "examples", "default", "$schema", "$id",
               "deprecated", "readOnly", "writeOnly"}
KNOWN = {"type", "properties", "required", "items", "minItems", "enum", "const", "anyOf", "$ref", "$defs",
         "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} | ANNOTATIONS
INT_ONLY = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


class SchemaError(Exception):
    """A response format the API refuses: HTTP `status`, `code`, `message`."""

    def __init__(self, status: int, message: str, code: str = "parameter_invalid") -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# ---- checks ------------------------------------------------------------------------------------------------
def check(schema: Any) -> None:
    """Raise SchemaError for anything Pegasus refuses in `response_format.json_schema`."""
    if not isinstance(schema, dict):
        raise SchemaError(400, "response_format.json_schema must be a JSON object.")
    _check(schema, schema, "response_format.json_schema", "root", None)


def _types(node: dict) -> list[str]:
    t = node.get("type")
    return [t] if isinstance(t, str) else list(t) if isinstance(t, list) else []


def _check(node: Any, root: dict, where: str, position: str, name: str | None) -> None:
    if not isinstance(node, dict):
        if isinstance(node, bool):
            return
        raise SchemaError(400, f"{where} must be a schema object.")
    for key in node:
        if key in UNSUPPORTED:
            raise SchemaError(422, UNSUPPORTED[key])
        if key not in KNOWN:
            raise SchemaError(422, f"{where}: the keyword {key} is not supported.")
    types = _types(node)
    if "type" in node and (not types or any(t not in TYPES for t in types)):
        raise SchemaError(400, f"{where}.type must be one of {', '.join(sorted(TYPES))}.")
    if "timestamp" in types:
        if position not in ("top", "array-item-property"):
            raise SchemaError(400, f"{where}: a timestamp is allowed only as a top-level property or a property "
                                   "of an object inside an array.")
        if node.get("format") not in TIMESTAMP_FORMATS:
            raise SchemaError(400, f"{where}.format: format is required for timestamp type; allowed values: "
                                   f"{', '.join(TIMESTAMP_FORMATS)}")
    elif "format" in node and ("string" not in types or node["format"] not in STRING_FORMATS):
        raise SchemaError(400, f"{where}.format must be one of {', '.join(sorted(STRING_FORMATS))} on a string.")
    if name in RESERVED and (any(t in ("boolean", "object", "array", "null") for t in types)
                             or ("string" in types and "format" in node)):
        raise SchemaError(400, f"{where}: {name} must be declared as number, integer, string without format "
                               "or timestamp.")
    for key in INT_ONLY:
        if key in node and (types != ["integer"] or not isinstance(node[key], (int, float))):
            raise SchemaError(422, f"{where}: {key} is supported only for the integer type.")
    if "pattern" in node:
        try:
            re.compile(str(node["pattern"]))
        except re.error:
            raise SchemaError(400, f"{where}.pattern is not a valid regular expression.") from None
    if "minItems" in node and node["minItems"] not in (0, 1):
        raise SchemaError(422, f"{where}: minItems accepts only 0 or 1.")
    for key in ("enum", "const"):
        if key in node:
            vals = node[key] if key == "enum" else [node[key]]
            if (key == "enum" and (not isinstance(vals, list) or not vals)) or any(
                    isinstance(v, (dict, list)) for v in vals):
                raise SchemaError(400, f"{where}.{key} accepts only booleans, null, numbers and strings.")
    if "required" in node and not (isinstance(node["required"], list)
                                   and all(isinstance(r, str) for r in node["required"])):
        raise SchemaError(400, f"{where}.required must be an array of property names.")
    if "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/$defs/") or _resolve(root, ref) is None:
            raise SchemaError(400, f"{where}.$ref must point to a subschema in $defs.")
    for dname, sub in (node.get("$defs") or {}).items():
        _check(sub, root, f"{where}.$defs.{dname}", "defs", None)
    props = node.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            raise SchemaError(400, f"{where}.properties must be an object.")
        inner = "top" if position == "root" else "array-item-property" if position == "array-item" else "nested"
        for pname, sub in props.items():
            _check(sub, root, f"{where}.properties.{pname}", inner, pname)
    if "items" in node:
        _check(node["items"], root, f"{where}.items", "array-item" if position in ("top", "root") else "nested",
               None)
    for i, sub in enumerate(node.get("anyOf") or []):
        _check(sub, root, f"{where}.anyOf[{i}]", "composition", name)


def _resolve(root: dict, ref: str) -> dict | None:
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, dict) else None


# ---- validation -------------------------------------------------------------------------------------------
def validation_schema(node: Any) -> Any:
    """`node` in standard JSON Schema: `timestamp` becomes a number (seconds) or a pattern-checked string."""
    if isinstance(node, list):
        return [validation_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: validation_schema(v) for k, v in node.items()}
    if node.get("type") == "timestamp":
        fmt = node.get("format")
        out.pop("format", None)
        if fmt == "seconds":
            out["type"] = "number"
        else:
            out["type"] = "string"
            out["pattern"] = r"^\d{2,}:\d{2}:\d{2}$" if fmt == "hh:mm:ss" else r"^\d{2,}:\d{2}:\d{2}\.\d{3}$"
    return out


def validate(value: Any, schema: dict) -> None:
    """jsonschema.ValidationError unless `value` conforms to the (Pegasus-flavoured) `schema`."""
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    jsonschema.Draft202012Validator(validation_schema(schema), format_checker=checker).validate(value)


# ---- filling ----------------------------------------------------------------------------------------------
def _has(name: str, *parts: str) -> bool:
    return any(p in name for p in parts)


def clock(seconds: float, millis: bool = True) -> str:
    """hh:mm:ss.fff (or hh:mm:ss rounded); negative values become zero."""
    seconds = max(0.0, float(seconds))
    if not millis:
        s = round(seconds)
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
    ms = round(seconds * 1000)
    return f"{ms // 3600000:02d}:{ms % 3600000 // 60000:02d}:{ms % 60000 // 1000:02d}.{ms % 1000:03d}"


class Filler:
    """Builds a value for a schema from one Insight."""

    def __init__(self, insight: Insight, root: dict, seed: str) -> None:
        self.ins, self.root, self.seed = insight, root, seed
        whole = Segment(insight.start, insight.end, insight.title, insight.summary,
                        insight.transcript_text(), insight.keywords)
        self.whole = whole

    # -- entry ----------------------------------------------------------------------------------------------
    def value(self, node: Any, name: str = "", ctx: Segment | None = None, index: int = 0, depth: int = 0) -> Any:
        if node is True or not isinstance(node, dict) or not node:
            return self._string({}, name, ctx)
        if "$ref" in node:
            return self.value(_resolve(self.root, node["$ref"]) or {}, name, ctx, index, depth + 1)
        if "const" in node:
            return node["const"]
        if "enum" in node:
            return self._enum(node["enum"], name, ctx)
        if "anyOf" in node:
            return self._any_of(node, name, ctx, index, depth)
        types = _types(node) or (["object"] if "properties" in node else ["array"] if "items" in node
                                 else ["string"])
        t = next((x for x in types if x != "null"), "null")
        if t == "object":
            return self._object(node, ctx, index, depth)
        if t == "array":
            return self._array(node, name, ctx, depth)
        if t == "string":
            return self._string(node, name, ctx)
        if t in ("number", "integer"):
            return self._number(node, name, ctx, index, integer=t == "integer")
        if t == "timestamp":
            secs = self._seconds(name, ctx)
            fmt = node.get("format")
            return round(secs, 2) if fmt == "seconds" else clock(secs, millis=fmt == "hh:mm:ss.fff")
        if t == "boolean":
            return self._boolean(name)
        return None

    def _any_of(self, node: dict, name: str, ctx: Segment | None, index: int, depth: int) -> Any:
        branches = sorted(node["anyOf"], key=lambda b: isinstance(b, dict) and b.get("type") == "null")
        for b in branches:
            v = self.value(b, name, ctx, index, depth + 1)
            try:
                jsonschema.Draft202012Validator({**validation_schema(b), "$defs": self.root.get("$defs", {})}
                                                ).validate(v)
                return v
            except jsonschema.ValidationError:
                continue
        return self.value(branches[0], name, ctx, index, depth + 1)

    def _enum(self, options: list, name: str, ctx: Segment | None) -> Any:
        text = set((ctx.text if ctx else self.whole.text).split()) | set(self.ins.keywords)
        best = max(options, key=lambda o: len(set(str(o).lower().replace("_", " ").split()) & text))
        return best

    # -- containers -----------------------------------------------------------------------------------------
    def _object(self, node: dict, ctx: Segment | None, index: int, depth: int) -> dict:
        props = dict(node.get("properties") or {})
        required = list(node.get("required") or [])
        order = list(props)
        if required and order and order[0] not in required:  # the platform moves the first required forward
            first = next((p for p in order if p in required), None)
            if first:
                order.remove(first)
                order.insert(0, first)
        return {p: self.value(props[p], p, ctx, index, depth + 1) for p in order}

    def segments_for(self, name: str) -> list[Segment]:
        n = name.lower()
        if _has(n, "highlight", "moment", "key_"):
            segs = self.ins.highlights
        elif _has(n, "transcript", "utterance", "subtitle", "sentence", "quote", "speech", "dialog", "line"):
            segs = self.ins.utterances
        elif _has(n, "ocr", "on_screen", "onscreen", "text", "caption"):
            segs = self.ins.phrases
        else:
            segs = self.ins.chapters
        return segs or self.ins.chapters or [self.whole]

    def strings_for(self, name: str) -> list[str]:
        n = name.lower()
        ins = self.ins
        if _has(n, "hashtag", "tag"):
            out = ins.hashtags
        elif _has(n, "topic", "theme", "categor", "subject", "genre"):
            out = ins.topics
        elif _has(n, "sentence", "point", "takeaway", "bullet", "summar", "fact"):
            out = ins.sentences
        elif _has(n, "caption", "ocr", "screen", "text"):
            out = [p.text for p in ins.phrases]
        elif _has(n, "title", "chapter", "heading"):
            out = [c.title for c in ins.chapters]
        elif _has(n, "transcript", "utterance", "speech", "line"):
            out = [u.summary for u in ins.utterances]
        else:
            out = ins.keywords
        return list(out or ins.keywords or ins.topics or ([ins.title] if ins.title else []))

    def _array(self, node: dict, name: str, ctx: Segment | None, depth: int) -> list:
        items = node.get("items") if isinstance(node.get("items"), dict) else {}
        resolved = _resolve(self.root, items["$ref"]) or {} if "$ref" in items else items
        t = next((x for x in _types(resolved) if x != "null"), None) or (
            "object" if "properties" in resolved else None)
        out: list = []
        if depth > 8:
            out = []
        elif t == "object" or (t is None and ("anyOf" in resolved)):
            out = [self.value(items, name, seg, i, depth + 1) for i, seg in enumerate(self.segments_for(name))]
        elif t in ("number", "integer", "timestamp"):
            times = self.ins.scenes if _has(name.lower(), "cut", "scene", "boundar") else \
                [c.start for c in self.ins.chapters]
            out = [self.value(items, name, Segment(x, x), i, depth + 1) for i, x in enumerate(times)]
        elif t == "boolean":
            out = [self._boolean(name)]
        elif t == "array":
            out = [self.value(items, name, ctx, 0, depth + 1)]
        elif "enum" in resolved:
            text = set(self.whole.text.split()) | set(self.ins.keywords)
            out = [o for o in resolved["enum"] if set(str(o).lower().split()) & text]
        elif t == "null":
            out = [None]
        else:  # strings
            out = [self._string(resolved, name, None, preferred=s) for s in self.strings_for(name)]
        if not out and node.get("minItems") == 1:
            out = [self.value(items, name, ctx or self.whole, 0, depth + 1)]
        return out

    # -- scalars -------------------------------------------------------------------------------------------
    def _seconds(self, name: str, ctx: Segment | None) -> float:
        seg = ctx or self.whole
        n = name.lower()
        if _has(n, "end", "stop", "until", "finish"):
            return seg.end
        return seg.start

    def _string(self, node: dict, name: str, ctx: Segment | None, preferred: str | None = None) -> str:
        n = name.lower()
        fmt = node.get("format")
        if n in RESERVED or (n and _has(n, "timecode", "timestamp") and not fmt):
            return clock(self._seconds(n, ctx))
        if fmt == "uuid":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.seed}/{name}/{ctx.start if ctx else ''}"))
        if fmt == "date-time":
            return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        if fmt == "date":
            return dt.datetime.now(dt.UTC).date().isoformat()
        if fmt == "time":
            return clock(self._seconds(n, ctx), millis=False) + "Z"
        candidates = ([preferred] if preferred is not None else []) + self._string_candidates(n, ctx)
        pattern = node.get("pattern")
        if not pattern:
            return candidates[0] if candidates else ""
        rx = re.compile(pattern)
        pool = candidates + self.ins.hashtags + self.ins.topics + self.ins.keywords + \
            [w for s in candidates for w in s.split()] + [title_case(k) for k in self.ins.keywords] + \
            [k.upper() for k in self.ins.keywords] + [clock(self._seconds(n, ctx)), clock(self._seconds(n, ctx), False)]
        for c in pool:
            if rx.search(c):
                return c
        for c in candidates + [self.whole.text]:  # a piece of what was extracted that matches
            m = rx.search(c)
            if m and m.group(0):
                return m.group(0)
        made = shortest_match(pattern)  # nothing extracted fits: the shortest string the pattern allows
        return made if made is not None else (candidates[0] if candidates else "")

    def _string_candidates(self, n: str, ctx: Segment | None) -> list[str]:
        ins = self.ins
        if ctx is not None:
            if _has(n, "title", "name", "heading", "label", "headline", "topic"):
                first = [ctx.title]
            elif _has(n, "summary", "description", "desc", "synopsis", "overview", "detail", "content"):
                first = [ctx.summary]
            elif _has(n, "text", "transcript", "caption", "quote", "speech", "sentence"):
                first = [ctx.text or ctx.summary]
            elif _has(n, "keyword", "tag"):
                first = [", ".join(ctx.keywords)]
            else:
                first = [ctx.summary or ctx.title]
            return [s for s in first + [ctx.summary, ctx.title, ctx.text] if s] or [ins.title or ins.summary]
        if _has(n, "summary", "description", "synopsis", "overview", "abstract", "gist", "recap"):
            first = [ins.summary]
        elif _has(n, "title", "headline", "name", "heading"):
            first = [ins.title]
        elif _has(n, "transcript", "speech", "spoken", "narration", "dialog"):
            first = [ins.transcript_text()]
        elif _has(n, "caption", "ocr", "screen", "text"):
            first = [" ".join(p.text for p in ins.phrases)]
        elif _has(n, "hashtag", "tag"):
            first = [" ".join(ins.hashtags)]
        elif _has(n, "keyword"):
            first = [", ".join(ins.keywords)]
        elif _has(n, "topic", "theme", "categor", "subject", "genre"):
            first = [ins.topics[0] if ins.topics else ""]
        elif _has(n, "language", "lang"):
            first = ["en" if ins.has_speech else ""]  # the recogniser knows English only
        else:
            first = [ins.sentences[0] if ins.sentences else ins.title]
        return [s for s in first + [ins.summary, ins.title, " ".join(ins.keywords)] if s]

    def _number(self, node: dict, name: str, ctx: Segment | None, index: int, integer: bool) -> float | int:
        n = name.lower()
        seg = ctx or self.whole
        ins = self.ins
        if _has(n, "start", "begin", "from", "offset") or n in ("time", "t", "at", "second", "seconds"):
            v = seg.start
        elif _has(n, "end", "stop", "until", "to_"):
            v = seg.end
        elif _has(n, "duration", "length", "seconds"):
            v = seg.end - seg.start
        elif _has(n, "count", "number", "num", "total"):
            v = (len(ins.chapters) if _has(n, "chapter", "section", "scene", "part") else
                 len(ins.highlights) if "highlight" in n else
                 len(seg.text.split()) if _has(n, "word") else index + 1 if ctx is not None else len(ins.chapters))
        elif _has(n, "index", "rank", "position", "order", "id"):
            v = index + 1
        elif _has(n, "confidence", "score", "probab", "relevance", "weight"):
            v = round(min(1.0, 0.5 + 0.1 * len(seg.keywords)), 2)
        else:
            v = seg.start if ctx is not None else ins.duration
        if integer:
            v = round(v)
            lo = node.get("minimum", None)
            hi = node.get("maximum", None)
            if "exclusiveMinimum" in node:
                lo = max(lo if lo is not None else -10**18, int(node["exclusiveMinimum"]) + 1)
            if "exclusiveMaximum" in node:
                hi = min(hi if hi is not None else 10**18, int(node["exclusiveMaximum"]) - 1)
            if lo is not None:
                v = max(v, int(-(-lo // 1)))
            if hi is not None:
                v = min(v, int(hi // 1))
            return v
        return round(float(v), 2)

    def _boolean(self, name: str) -> bool:
        n = name.lower()
        if _has(n, "speech", "spoken", "voice", "narrat", "dialog", "talk", "audio"):
            return self.ins.has_speech
        if _has(n, "text", "caption", "ocr", "subtitle", "writing"):
            return self.ins.has_text
        if _has(n, "scene", "cut", "chapter"):
            return bool(self.ins.scenes)
        return self.ins.has_speech or self.ins.has_text


def fill(schema: dict, insight: Insight, seed: str) -> Any:
    """A value for `schema` built from `insight`; jsonschema.ValidationError if it cannot conform."""
    value = Filler(insight, schema, seed).value(schema)
    validate(value, schema)
    return value


def shortest_match(pattern: str) -> str | None:
    """A short string matching `pattern` (built from its parse tree), or None for constructs it cannot build."""
    from re import _parser as sre  # type: ignore[attr-defined]  # the stdlib's own regex parser

    def build(items) -> str:
        out = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "NOT_LITERAL":
                out.append("a" if chr(arg) != "a" else "b")
            elif name == "ANY":
                out.append("a")
            elif name == "IN":
                out.append(_in(arg))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                lo, _, sub = arg
                out.append(build(sub) * lo)
            elif name == "SUBPATTERN":
                out.append(build(arg[-1]))
            elif name == "BRANCH":
                out.append(build(arg[1][0]))
            elif name == "AT":
                continue
            else:
                raise ValueError(name)
        return "".join(out)

    def _in(items) -> str:
        for op, arg in items:
            name = str(op)
            if name == "NEGATE":
                return "a"
            if name == "LITERAL":
                return chr(arg)
            if name == "RANGE":
                return chr(arg[0])
            if name == "CATEGORY":
                return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " "}.get(str(arg), "a")
        return "a"

    try:
        made = build(sre.parse(pattern))
    except (ValueError, TypeError, re.error):
        return None
    return made if re.search(pattern, made) else None

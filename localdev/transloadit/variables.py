"""Assembly variables (`${assembly.id}`, `${fields.x}`, `${file.url_name}`, `${unique_prefix}` ...) in robot params."""

from __future__ import annotations

import re
import uuid
from typing import Any

from .model import Assembly, FileRecord

_VAR = re.compile(r"\$\{([A-Za-z0-9_.\-]+)\}")
_URL_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class VariableError(ValueError):
    """A `${...}` that the stand-in does not know; better an error than a silently wrong storage path."""


def url_name(name: str) -> str:
    """URL-friendly file name, like TransloadIt's `${file.url_name}`."""
    cleaned = _URL_UNSAFE.sub("_", name).strip("_")
    return cleaned or "file"


def unique_prefix() -> str:
    """33 characters with a slash, e.g. "f2/d3eeeb67479f11f8b091b04f6181ad"."""
    h = uuid.uuid4().hex
    return f"{h[:2]}/{h[2:32]}"


def _lookup(root: dict[str, Any], dotted: str) -> Any:
    cur: Any = root
    for part in dotted.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise VariableError(f"unknown assembly variable ${{{dotted}}}")
    if isinstance(cur, (dict, list)):
        raise VariableError(f"assembly variable ${{{dotted}}} is not a scalar")
    return "" if cur is None else cur


def context(assembly: Assembly, file: FileRecord, previous_step: str, prefixes: dict[str, str]) -> dict[str, Any]:
    """The variables visible while processing `file` in a step whose input came from `previous_step`."""
    per_file = prefixes.setdefault(file.id, unique_prefix())
    per_original = prefixes.setdefault("orig:" + file.original_id, unique_prefix())
    return {
        "assembly": {"id": assembly.id, "region": "local", "parent_id": ""},
        "unique_prefix": per_file,
        "unique_original_prefix": per_original,
        "previous_step": {"name": previous_step},
        "fields": dict(assembly.fields),
        "file": {
            "id": file.id,
            "name": file.name,
            "url_name": url_name(file.name),
            "basename": file.basename,
            "ext": file.ext,
            "size": file.size,
            "mime": file.mime,
            "original_id": file.original_id,
            "original_name": file.original_name,
            "original_basename": file.original_basename,
            "meta": dict(file.meta),
            "user_meta": dict(file.user_meta),
        },
    }


def interpolate(value: Any, ctx: dict[str, Any]) -> Any:
    """Replace `${...}` in strings (recursively in lists/dicts)."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: str(_lookup(ctx, m.group(1))), value)
    if isinstance(value, list):
        return [interpolate(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, ctx) for k, v in value.items()}
    return value

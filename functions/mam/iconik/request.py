"""The custom-action request iconik sends us (contracts 1.2): secret check, query, body validation, run id."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

CONTEXTS = ("ASSET", "COLLECTION", "BULK")
OPERATIONS = ("add", "remove")
SECRET_HEADER = "x-bz-secret"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_FORMAT = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
MAX_TOKEN_CHARS = 8192


class BadRequest(ValueError):
    """The body is not a usable custom-action request (answered 400 with this message)."""


def secret_ok(given: str | None, expected: str) -> bool:
    """Constant-time comparison of the x-bz-secret header with our secret (an empty secret never matches)."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


def is_uuid(value: Any) -> TypeGuard[str]:
    """True for an iconik id (a UUID string)."""
    return isinstance(value, str) and bool(_UUID.match(value))


def fix_formats(raw: str) -> str:
    """Strip spaces around commas: " A , B " -> "A,B" (the original plugin's normalisation)."""
    return ",".join(part.strip() for part in raw.split(","))


def parse_formats(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """Formats from the action URL's `formats` parameter, else the FORMAT_NAMES setting; empty items dropped."""
    if raw is None or not raw.strip():
        names = [f.strip() for f in default if f.strip()]
    else:
        names = [f.strip() for f in raw.split(",") if f.strip()]
    out: list[str] = []
    for name in names:
        if not _FORMAT.match(name):
            raise BadRequest(f"invalid format name {name[:64]!r}")
        if name not in out:
            out.append(name)
    if not out:
        raise BadRequest("no formats given")
    return tuple(out)


@dataclass(frozen=True)
class ActionQuery:
    """The query string stored in the custom action's URL."""

    b2_storage_id: str
    ll_storage_id: str
    formats: tuple[str, ...]


def parse_query(args: Mapping[str, str], default_formats: tuple[str, ...]) -> ActionQuery:
    """Read storage ids (validated later, by asking iconik) and formats (400 if malformed)."""
    return ActionQuery(b2_storage_id=(args.get("b2_storage_id") or "").strip(),
                       ll_storage_id=(args.get("ll_storage_id") or "").strip(),
                       formats=parse_formats(args.get("formats"), default_formats))


@dataclass(frozen=True)
class ActionBody:
    """The JSON body fields we use; `context` is checked later, in the original plugin's order."""

    context: Any
    asset_ids: tuple[str, ...]
    collection_ids: tuple[str, ...]
    auth_token: str
    user_id: str | None
    action_id: str | None
    system_domain_id: str | None
    date_created: str | None
    saved_search_ids: tuple[str, ...]


def _ids(body: dict[str, Any], key: str) -> tuple[str, ...]:
    value = body.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadRequest(f"{key} must be a list of ids")
    out: list[str] = []
    seen: set[str] = set()
    for item in value:
        if not is_uuid(item):
            raise BadRequest(f"{key} must hold iconik ids (UUIDs)")
        if item not in seen:  # kept as sent: iconik ids are compared as strings
            seen.add(item)
            out.append(item)
    return tuple(out)


def _opt_str(body: dict[str, Any], key: str, limit: int = 200) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise BadRequest(f"{key} must be a string")
    return value


def parse_body(body: dict[str, Any], *, max_ids: int) -> ActionBody:
    """Validate the body's types and sizes; never echoes the token in a message."""
    for key in ("asset_ids", "collection_ids", "saved_search_ids"):
        value = body.get(key)
        if isinstance(value, list) and len(value) > max_ids:
            raise BadRequest(f"{key} holds {len(value)} ids; at most {max_ids} are accepted in one call")
    assets = _ids(body, "asset_ids")
    collections = _ids(body, "collection_ids")
    if len(assets) + len(collections) > max_ids:
        raise BadRequest(f"at most {max_ids} assets and collections are accepted in one call")
    saved = body.get("saved_search_ids")
    if saved is not None and not isinstance(saved, list):
        raise BadRequest("saved_search_ids must be a list")
    token = body.get("auth_token")
    if not isinstance(token, str) or not token.strip():
        raise BadRequest("auth_token is required")
    if len(token) > MAX_TOKEN_CHARS or any(c in token for c in "\r\n"):
        raise BadRequest("auth_token is malformed")
    return ActionBody(context=body.get("context"), asset_ids=assets, collection_ids=collections,
                      auth_token=token.strip(), user_id=_opt_str(body, "user_id"),
                      action_id=_opt_str(body, "action_id"), system_domain_id=_opt_str(body, "system_domain_id"),
                      date_created=_opt_str(body, "date_created", 64),
                      saved_search_ids=tuple(str(s) for s in (saved or [])))


def run_id(op: str, query: ActionQuery, body: ActionBody) -> str:
    """Deterministic run id of one custom-action call, so a retried delivery of the same call is the same run.

    Two clicks are two runs: iconik stamps each call with its own date_created. Without one, every call is new.
    """
    if not body.date_created:
        return str(uuid.uuid4())
    canonical = json.dumps({"op": op, "b2": query.b2_storage_id, "ll": query.ll_storage_id,
                            "formats": list(query.formats), "context": str(body.context),
                            "assets": list(body.asset_ids), "collections": list(body.collection_ids),
                            "user": body.user_id, "action": body.action_id, "at": body.date_created},
                           sort_keys=True, separators=(",", ":"))
    return str(uuid.UUID(bytes=hashlib.sha256(canonical.encode()).digest()[:16], version=5))


def plan_formats(op: str, formats: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(formats copied by the bulk jobs, formats that must be confirmed on B2 before deleting from LucidLink).

    /add copies every format to LucidLink and confirms nothing on B2. /remove copies the first format, as the
    original plugin does (proxies are not copied, commit 67cd25a), plus ORIGINAL whenever ORIGINAL is among the
    formats being removed: the original plugin would have deleted an uncopied ORIGINAL if it was not listed first.
    """
    if op == "add":
        return formats, ()
    keep = [formats[0]]
    if "ORIGINAL" in formats and "ORIGINAL" not in keep:
        keep.append("ORIGINAL")
    return tuple(keep), tuple(keep)

"""The six custom actions (Add/Remove x ASSET/COLLECTION/BULK) that point iconik at our handler (contracts 1.1).

`sync_actions` is idempotent: it creates what is missing, corrects what differs and removes duplicates, so running
it twice leaves exactly six actions. `delete_actions` removes the actions of an endpoint (and formats).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from mam.iconik.request import fix_formats

OPERATIONS = (("Add to LucidLink", "/add"), ("Remove from LucidLink", "/remove"))
CONTEXTS = ("ASSET", "COLLECTION", "BULK")
FORMAT_TITLES = {"ORIGINAL": "original", "PPRO_PROXY": "Premiere Pro proxy", "EDIT_PROXY": "edit proxy"}


def make_title(title: str, formats: str | None) -> str:
    """"Remove from LucidLink" + "ORIGINAL,PPRO_PROXY" -> "Remove original, Premiere Pro proxy file(s) from LucidLink"."""
    if not formats:
        return title
    verb, _, rest = title.partition(" ")
    names = ", ".join(FORMAT_TITLES.get(f, f) for f in fix_formats(formats).split(",") if f)
    return f"{verb} {names} file(s) {rest}"


def action_url(endpoint: str, path: str, b2_storage_id: str, ll_storage_id: str, formats: str | None) -> str:
    """The URL stored on an action. Appended to the endpoint's own path (a Cloud Functions URL has the function
    name in its path, which the original's urljoin(endpoint, "/add") would have dropped)."""
    query = {"b2_storage_id": b2_storage_id, "ll_storage_id": ll_storage_id}
    if formats:
        query["formats"] = fix_formats(formats)
    return endpoint.rstrip("/") + path + "?" + urlencode(query)


def formats_match(url: str, formats: str | None) -> bool:
    """Without formats only actions whose URL has no `formats` match; else the normalised value must be equal."""
    values = parse_qs(urlparse(url).query).get("formats")
    if not formats:
        return not values
    return bool(values) and values[0] == fix_formats(formats)


def _ours(action: dict[str, Any], endpoint: str) -> bool:
    url = action.get("url") or ""
    base = endpoint.rstrip("/")
    return url.startswith((base + "/add", base + "/remove"))


@dataclass(frozen=True)
class Change:
    """One thing a sync or delete did (printed by the script; never includes the secret)."""

    what: str  # created | updated | unchanged | deleted
    context: str
    title: str
    action_id: str


def sync_actions(client, endpoint: str, b2_storage_id: str, ll_storage_id: str, formats: str | None, *,
                 secret: str, app_id: str) -> list[Change]:
    """Make the six actions for (endpoint, formats) exist exactly once with the right title, URL, header, app."""
    if not secret:
        raise ValueError("BZ_SHARED_SECRET is required to create the actions")
    existing = [a for a in client.list_actions() if _ours(a, endpoint) and formats_match(a.get("url", ""), formats)]
    changes: list[Change] = []
    for title, path in OPERATIONS:
        want_title = make_title(title, formats)
        url = action_url(endpoint, path, b2_storage_id, ll_storage_id, formats)
        for context in CONTEXTS:
            body = {"type": "POST", "context": context, "title": want_title, "url": url,
                    "headers": {"x-bz-secret": secret}, "app_id": app_id}
            same_op = [a for a in existing if a.get("context") == context
                       and urlparse(a.get("url", "")).path.endswith(path)]
            if not same_op:
                made = client.create_action(context, body)
                changes.append(Change("created", context, want_title, made.get("id", "")))
                continue
            keep, extra = same_op[0], same_op[1:]
            for dup in extra:
                client.delete_action(context, dup["id"])
                changes.append(Change("deleted", context, dup.get("title", ""), dup["id"]))
            differs = (keep.get("title") != want_title or keep.get("url") != url or keep.get("type") != "POST"
                       or (keep.get("headers") or {}).get("x-bz-secret") != secret or keep.get("app_id") != app_id)
            if differs:
                client.update_action(context, keep["id"], body)
                changes.append(Change("updated", context, want_title, keep["id"]))
            else:
                changes.append(Change("unchanged", context, want_title, keep["id"]))
    return changes


def delete_actions(client, endpoint: str, formats: str | None) -> list[Change]:
    """Delete every action of ours for `endpoint` whose formats match (see formats_match)."""
    changes = []
    for action in client.list_actions():
        if _ours(action, endpoint) and formats_match(action.get("url", ""), formats):
            client.delete_action(action["context"], action["id"])
            changes.append(Change("deleted", action["context"], action.get("title", ""), action["id"]))
    return changes

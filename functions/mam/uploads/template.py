"""Assembly instructions (functions/mam/transloadit_template.json) and the signed params handed to Uppy."""
from __future__ import annotations

import copy
import datetime as dt
import json
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mam.uploads import signing

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "transloadit_template.json"

# Step names the result parser relies on (documented in transloadit_template.md; a TransloadIt-side template
# named by TRANSLOADIT_TEMPLATE_ID must use the same names and paths).
STORE_ORIGINAL = "store_original"
STORE_WEB = "store_web"
STORE_THUMBNAIL = "store_thumbnail"
STEP_WEB = "web"
STEP_THUMBNAIL = "thumbnail"
STEP_IMPORTED = "imported"  # a discovered video's original, imported from the bucket instead of uploaded
# the store steps' paths follow mam.media_keys (tests/unit/test_media_keys.py checks the template against it)


@lru_cache(maxsize=1)
def _template() -> dict[str, Any]:
    return json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))


def steps(credentials: str) -> dict[str, Any]:
    """The template's steps with every /backblaze/store step using the named Template Credentials."""
    out = copy.deepcopy(_template()["steps"])
    for step in out.values():
        if step.get("robot") == "/backblaze/store":
            step["credentials"] = credentials
    return out


def import_steps(credentials: str, key: str) -> dict[str, Any]:
    """The same processing for an object already in the bucket: /backblaze/import of `key` in place of the upload
    (the original stays where it is, so there is no store_original)."""
    out = steps(credentials)
    out.pop(":original", None)
    out.pop(STORE_ORIGINAL, None)
    for step in out.values():
        if step.get("use") == ":original":
            step["use"] = STEP_IMPORTED
    return {STEP_IMPORTED: {"robot": "/backblaze/import", "credentials": credentials, "path": key, "result": True},
            **out}


def expires_at(now: dt.datetime, ttl_seconds: int) -> str:
    """auth.expires in TransloadIt's "YYYY/MM/DD HH:MM:SS+00:00" (UTC) form."""
    return (now + dt.timedelta(seconds=ttl_seconds)).astimezone(dt.UTC).strftime("%Y/%m/%d %H:%M:%S+00:00")


@dataclass(frozen=True)
class SignedParams:
    """What the front end passes to Uppy's `assemblyOptions`: the exact params string and its signature."""

    params: str
    signature: str
    expires: str
    fields: dict[str, str]


def build_params(*, auth_key: str, auth_secret: str, video_id: str, notify_url: str, credentials: str,
                 template_id: str, max_size: int, now: dt.datetime, ttl_seconds: int) -> SignedParams:
    """Signed params for one video's assembly: key, expiry, nonce, steps or template, notify_url, video id field.

    The string is serialised once and signed as is; Uppy sends a string `params` verbatim, so the signature
    survives (re-serialising an object in the browser would not). `max_size` makes TransloadIt itself refuse
    larger files, whatever the browser claims.
    """
    extra: dict[str, Any] = {"template_id": template_id} if template_id else {"steps": steps(credentials)}
    return _signed(auth_key, auth_secret, video_id, notify_url, extra, now, ttl_seconds, max_size=max_size)


def build_import_params(*, auth_key: str, auth_secret: str, video_id: str, notify_url: str, credentials: str,
                        key: str, now: dt.datetime, ttl_seconds: int) -> SignedParams:
    """Signed params of an assembly that processes the bucket object `key` (a discovered video) like an upload."""
    return _signed(auth_key, auth_secret, video_id, notify_url, {"steps": import_steps(credentials, key)}, now,
                   ttl_seconds)


def _signed(auth_key: str, auth_secret: str, video_id: str, notify_url: str, extra: dict[str, Any],
            now: dt.datetime, ttl_seconds: int, max_size: int | None = None) -> SignedParams:
    expires = expires_at(now, ttl_seconds)
    fields = {"video_id": video_id}
    auth: dict[str, Any] = {"key": auth_key, "expires": expires, "nonce": secrets.token_hex(16)}
    if max_size is not None:
        auth["max_size"] = max_size
    params: dict[str, Any] = {"auth": auth, "notify_url": notify_url, "fields": fields, **extra}
    raw = json.dumps(params, separators=(",", ":"), sort_keys=False)
    return SignedParams(params=raw, signature=signing.sign(auth_secret, raw, "sha384"), expires=expires,
                        fields=dict(fields))

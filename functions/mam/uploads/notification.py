"""Read and authenticate a TransloadIt notification: form fields `transloadit` + `signature`, either encoding."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import flask
from werkzeug.exceptions import HTTPException

from mam.http import ApiError, JsonError, parse_json
from mam.uploads import signing

MAX_BODY_BYTES = 8 * 1024 * 1024  # a status with many results is large; ours is ~20 KB
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_ASSEMBLY_ID = re.compile(r"^[A-Za-z0-9]{16,64}\Z")


@dataclass(frozen=True)
class Notification:
    """An authenticated Assembly Status."""

    assembly_id: str
    status: dict[str, Any]


def read_fields(request: flask.Request) -> tuple[str | None, str | None]:
    """The raw `transloadit` string and `signature` from an urlencoded or multipart body (400/413 otherwise)."""
    if request.mimetype not in FORM_TYPES:
        raise ApiError(400, "unsupported_content_type",
                       "send the notification as application/x-www-form-urlencoded or multipart/form-data")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", f"notification is larger than {MAX_BODY_BYTES} bytes")
    # Werkzeug's default form limit (500 KB) is below what a large assembly status can reach.
    request.max_form_memory_size = MAX_BODY_BYTES
    request.max_content_length = MAX_BODY_BYTES
    try:
        form = request.form
        files = request.files
    except HTTPException as exc:
        raise ApiError(400 if (exc.code or 400) != 413 else 413, "malformed_form",
                       "the form body could not be parsed") from None
    except OSError:  # the body stopped arriving (the local launcher's read timeout; Cloud Run buffers bodies)
        raise ApiError(408, "body_timeout", "the notification did not arrive in time; send it again") from None
    raw = form.get("transloadit")
    if raw is None and "transloadit" in files:  # a client that sent the field as a file part
        raw = files["transloadit"].read(MAX_BODY_BYTES + 1).decode("utf-8", "replace")
    return raw, form.get("signature")


def authenticate(raw: str | None, signature: str | None, secret: str) -> Notification:
    """Verify the signature over the exact received string, then parse it. Raises 400/401 ApiErrors.

    The signature is checked before the JSON is even parsed: nothing unauthenticated is interpreted.
    """
    if raw is None or raw == "":
        raise ApiError(400, "missing_field", "form field `transloadit` is required")
    if not signature:
        raise ApiError(401, "missing_signature", "form field `signature` is required")
    if not signing.verify(secret, raw, signature):
        raise ApiError(401, "invalid_signature", "the signature does not match the payload")
    try:
        status = parse_json(raw)
    except JsonError as exc:
        raise ApiError(400, "invalid_payload", f"`transloadit`: {exc.message}") from None
    if not isinstance(status, dict):
        raise ApiError(400, "invalid_payload", "`transloadit` must be a JSON object")
    assembly_id = status.get("assembly_id")
    if not isinstance(assembly_id, str) or not _ASSEMBLY_ID.match(assembly_id):
        raise ApiError(400, "invalid_payload", "`transloadit` has no valid assembly_id")
    return Notification(assembly_id=assembly_id, status=status)

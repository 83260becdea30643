"""B2 event-notification signatures: `X-Bz-Event-Notification-Signature: v1=<hex HMAC-SHA256(secret, raw body)>`.

Verified on the raw bytes before any parsing, compared in constant time; reasons are safe to log and return
(they never contain the secret or the signature).
"""
from __future__ import annotations

import hashlib
import hmac

from mam import webhook_signatures

HEADER = "X-Bz-Event-Notification-Signature"


class SignatureError(Exception):
    """The notification failed verification; `reason` is short and safe to show."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def sign(secret: str, body: bytes) -> str:
    """The header value B2 sends for `body` (tests and the demo use it)."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, header: str | None, body: bytes) -> None:
    """Raise SignatureError unless `header` carries a v1 HMAC of `body` under `secret` (rules: mam.webhook_signatures:
    every `v1` entry is read, hex in either case, constant-time compares)."""
    if not secret:
        raise SignatureError("event signing secret not configured")
    try:
        entries = webhook_signatures.parse_header(header, HEADER)
    except webhook_signatures.MalformedHeader as exc:
        raise SignatureError(str(exc)) from None
    candidates = [v for v in entries.get("v1", []) if v]
    if not candidates:
        raise SignatureError(f"malformed {HEADER} header (no v1 signature)")
    want = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not webhook_signatures.hex_matches(want, candidates):
        raise SignatureError("signature does not match")

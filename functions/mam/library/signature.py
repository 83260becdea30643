"""B2 event-notification signatures: `X-Bz-Event-Notification-Signature: v1=<hex HMAC-SHA256(secret, raw body)>`.

Verified on the raw bytes before any parsing, compared in constant time; reasons are safe to log and return
(they never contain the secret or the signature).
"""
from __future__ import annotations

import hashlib
import hmac

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
    """Raise SignatureError unless `header` carries a v1 HMAC of `body` under `secret`."""
    if not secret:
        raise SignatureError("event signing secret not configured")
    if not header:
        raise SignatureError(f"missing {HEADER} header")
    candidates = []
    for part in header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme.strip().lower() == "v1" and value.strip():
            candidates.append(value.strip().lower())
    if not candidates:
        raise SignatureError(f"malformed {HEADER} header")
    want = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    ok = False
    for sig in candidates[:4]:  # several v1 values may come during a secret rotation; no early exit
        ok |= hmac.compare_digest(want, sig.encode("ascii", "replace"))
    if not ok:
        raise SignatureError("signature does not match")

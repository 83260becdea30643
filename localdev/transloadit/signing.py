"""TransloadIt signatures: params signing ("sha384:<hex>", legacy bare SHA-1) and auth.expires parsing."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def sign(secret: str, message: str, algorithm: str = "sha384") -> str:
    """Signature of `message` as TransloadIt writes it: "<algo>:<hex>", or bare hex for legacy SHA-1."""
    digest = hmac.new(secret.encode(), message.encode(), ALGORITHMS[algorithm]).hexdigest()
    return digest if algorithm == "sha1" else f"{algorithm}:{digest}"


def verify(secret: str, message: str, signature: str) -> bool:
    """Constant-time check of a "<algo>:<hex>" or bare (SHA-1) signature over the exact `message` string."""
    if not isinstance(signature, str) or not signature:
        return False
    algo, sep, given = signature.partition(":")
    if not sep:
        algo, given = "sha1", signature
    algo = algo.lower()
    if algo not in ALGORITHMS:
        return False
    expected = hmac.new(secret.encode(), message.encode(), ALGORITHMS[algo]).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def parse_expires(value: str) -> datetime | None:
    """Parse auth.expires in the two accepted forms ("YYYY/MM/DD HH:MM:SS+00:00" and ISO 8601); None if invalid."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    candidates = [text, text.replace("/", "-", 2)]
    for cand in candidates:
        c = cand.replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(c.replace(" ", "T", 1) if "T" not in c else c)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed
    return None

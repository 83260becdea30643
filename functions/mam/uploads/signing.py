"""TransloadIt signatures: sign assembly params ("sha384:<hex>") and verify notifications in constant time."""
from __future__ import annotations

import hashlib
import hmac

from mam import webhook_signatures

_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384}
_HEX_LENGTHS = {"sha1": 40, "sha256": 64, "sha384": 96}


def sign(secret: str, message: str, algorithm: str = "sha384") -> str:
    """HMAC of the exact `message` string: "sha384:<hex>" (or bare hex for legacy sha1)."""
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), _ALGORITHMS[algorithm]).hexdigest()
    return digest if algorithm == "sha1" else f"{algorithm}:{digest}"


def verify(secret: str, message: str, signature: str | None) -> bool:
    """True if `signature` is a valid HMAC of `message`: "sha1|sha256|sha384:<hex>" or bare hex (legacy SHA-1).

    Same rules as TransloadIt's own verifier: split on the first ':', no prefix means sha1, unknown prefixes fail.
    The comparison is constant-time; malformed input simply fails (never raises).
    """
    if not secret or not isinstance(signature, str) or not isinstance(message, str):
        return False
    algo, sep, given = signature.strip().partition(":")
    if not sep:
        algo, given = "sha1", algo
    algo = algo.lower()
    if algo not in _ALGORITHMS or len(given) != _HEX_LENGTHS[algo]:
        return False
    try:
        data = message.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: nothing TransloadIt signed
        return False
    expected = hmac.new(secret.encode("utf-8"), data, _ALGORITHMS[algo]).hexdigest()
    return webhook_signatures.hex_matches(expected, [given])

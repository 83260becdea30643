"""The signature rules the three webhooks share (TransloadIt, Twelve Labs, B2 event notifications).

A header `k=v,k=v,...` (Twelve Labs `t=<unix>,v1=<hex>`, B2 `v1=<hex>`) is read whole: every entry counts, names are
case-insensitive, and a header with more than `MAX_ENTRIES` entries or `MAX_HEADER_CHARS` characters is malformed
rather than cut short. Hex digests match case-insensitively and every candidate is compared in constant time, with no
early exit, so a secret rotation may send several `v1` values.
"""
from __future__ import annotations

import hmac
from collections.abc import Iterable

MAX_HEADER_CHARS = 4096
MAX_ENTRIES = 16  # a rotation sends two or three v1 values; more is not a real sender


class MalformedHeader(ValueError):
    """A signature header that cannot be read (its message is safe to log and return)."""


def parse_header(header: str | None, name: str) -> dict[str, list[str]]:
    """The values of each entry of a `k=v,k=v` header by lower-case name, in order; MalformedHeader if unreadable."""
    if not header or not header.strip():
        raise MalformedHeader(f"missing {name} header")
    if len(header) > MAX_HEADER_CHARS:
        raise MalformedHeader(f"malformed {name} header (longer than {MAX_HEADER_CHARS} characters)")
    parts = [p for p in header.split(",") if p.strip()]
    if len(parts) > MAX_ENTRIES:
        raise MalformedHeader(f"malformed {name} header (more than {MAX_ENTRIES} entries)")
    out: dict[str, list[str]] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep:
            raise MalformedHeader(f"malformed {name} header (an entry has no '=')")
        out.setdefault(key.strip().lower(), []).append(value.strip())
    return out


def hex_matches(expected_hex: str, candidates: Iterable[str]) -> bool:
    """True if any candidate is `expected_hex` (hex case ignored); each is compared in constant time, none skipped."""
    want = expected_hex.lower().encode("ascii")
    ok = False
    for given in candidates:
        # non-ASCII cannot match a hex digest; "replace" keeps the comparison constant-time instead of raising
        ok |= hmac.compare_digest(want, given.strip().lower().encode("ascii", "replace"))
    return ok

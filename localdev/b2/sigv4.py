"""AWS Signature Version 4 verification of S3 requests, header-signed or presigned, recomputed from the raw request.

The canonical request is rebuilt the way S3 builds it server-side: the path decoded and re-encoded once (no
normalisation), the query decoded, re-encoded and sorted, the signed headers trimmed, and the payload hash the
client claims (verified against the body when it is a real SHA-256). Signatures are compared in constant time and
never logged or echoed.
"""
from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from . import errors
from .request import RawRequest

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_PRESIGN_SECONDS = 604800  # SigV4 caps presigned URLs at 7 days
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_KEY_ID_SHAPE = re.compile(r"^[0-9a-fA-F]{25}$")  # B2 application key ids; a master key id (12 hex) is "malformed"
_QUERY_AUTH = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
               "X-Amz-Signature")


@dataclass(frozen=True)
class Credentials:
    """The one application key this endpoint accepts, and its region."""

    key_id: str
    secret: str
    region: str

    def __repr__(self) -> str:  # never print the secret (tracebacks, debug logs)
        return f"Credentials(key_id={self.key_id!r}, region={self.region!r})"


@dataclass(frozen=True)
class Verified:
    """What a verified request was signed with."""

    key_id: str
    presigned: bool


def is_signed(req: RawRequest) -> bool:
    """True if the request carries any form of authentication (v4 or v2, header or query)."""
    q = req.query()
    return req.header("authorization") is not None or any(
        k in q for k in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "AWSAccessKeyId", "Signature"))


def verify(req: RawRequest, creds: Credentials, now: float | None = None, max_skew: float = 900.0) -> Verified:
    """Check the request's SigV4 signature, scope and dates; raise errors.B2Error with B2's answer otherwise."""
    now = time.time() if now is None else now
    bucket = req.bucket_and_key()[0]
    auth = req.header("authorization")
    q = req.query()
    if auth is not None:
        if auth.startswith("AWS "):
            raise errors.sigv2(bucket)
        return _verify_header(req, auth, creds, now, max_skew)
    if any(k in q for k in _QUERY_AUTH):
        return _verify_query(req, q, creds, now, max_skew)
    if "AWSAccessKeyId" in q or "Signature" in q:
        raise errors.sigv2(bucket)
    raise errors.anonymous()


# ---- the two ways of signing --------------------------------------------------------------------------------------
def _verify_header(req: RawRequest, auth: str, creds: Credentials, now: float, max_skew: float) -> Verified:
    algorithm, _, rest = auth.partition(" ")
    if algorithm != ALGORITHM:
        raise errors.malformed_authorization(algorithm)
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name] = value
    if not all(k in fields for k in ("Credential", "SignedHeaders", "Signature")):
        raise errors.malformed_authorization(rest.split(",")[0].strip())
    amz_date = req.header("x-amz-date") or _from_http_date(req.header("date"))
    if not amz_date or not _AMZ_DATE.match(amz_date):
        raise errors.B2Error(403, "AccessDenied",
                             "AWS authentication requires a valid Date or x-amz-date header")
    key_id = _check_scope(fields["Credential"], amz_date, creds)
    signed = _signed_header_names(fields["SignedHeaders"])
    if "x-amz-date" not in signed and "date" not in signed:
        raise errors.bad_signature()
    if abs(now - _epoch(amz_date)) > max_skew:
        raise errors.too_skewed()
    payload = req.header("x-amz-content-sha256")
    if payload is None:
        raise errors.missing_header("x-amz-content-sha256")
    _check_payload_form(payload)
    canonical = canonical_request(req, signed, payload, exclude_query=())
    _compare(fields["Signature"], canonical, amz_date, fields["Credential"], creds)
    _check_payload_hash(req, payload)
    return Verified(key_id, presigned=False)


def _verify_query(req: RawRequest, q: dict[str, str], creds: Credentials, now: float, max_skew: float) -> Verified:
    if not all(k in q for k in _QUERY_AUTH):
        raise errors.bad_query_auth("Query-string authentication version 4 requires the X-Amz-Algorithm, "
                                    "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                                    "X-Amz-Expires parameters.")
    if q["X-Amz-Algorithm"] != ALGORITHM:
        raise errors.bad_query_auth("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
    amz_date = q["X-Amz-Date"]
    if not _AMZ_DATE.match(amz_date):
        raise errors.bad_query_auth("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    try:
        expires = int(q["X-Amz-Expires"])
    except ValueError:
        raise errors.bad_query_auth("X-Amz-Expires should be a number") from None
    if expires < 0:
        raise errors.bad_query_auth("X-Amz-Expires must be non-negative")
    if expires > MAX_PRESIGN_SECONDS:
        raise errors.bad_query_auth("X-Amz-Expires must be less than a week (in seconds) that is; 604800")
    key_id = _check_scope(q["X-Amz-Credential"], amz_date, creds)
    signed = _signed_header_names(q["X-Amz-SignedHeaders"])
    signed_at = _epoch(amz_date)
    if signed_at - now > max_skew:
        raise errors.not_yet_valid()
    if now > signed_at + expires:
        raise errors.expired(amz_date, expires)
    # A presigned URL normally covers no payload; a client may still sign x-amz-content-sha256 as a header.
    payload = req.header("x-amz-content-sha256") if "x-amz-content-sha256" in signed else UNSIGNED_PAYLOAD
    payload = payload or UNSIGNED_PAYLOAD
    _check_payload_form(payload)
    canonical = canonical_request(req, signed, payload, exclude_query=("X-Amz-Signature",))
    _compare(q["X-Amz-Signature"], canonical, amz_date, q["X-Amz-Credential"], creds)
    _check_payload_hash(req, payload)
    return Verified(key_id, presigned=True)


# ---- pieces -------------------------------------------------------------------------------------------------------
def _check_scope(credential: str, amz_date: str, creds: Credentials) -> str:
    """Key id, date, region, service and terminator of `<key>/<yyyymmdd>/<region>/s3/aws4_request`."""
    parts = credential.split("/")
    if len(parts) != 5 or not parts[0]:
        raise errors.malformed_authorization(credential)
    key_id, day, region, service, terminator = parts
    if service != "s3" or terminator != "aws4_request" or not re.fullmatch(r"\d{8}", day):
        raise errors.malformed_authorization(credential)
    if not hmac.compare_digest(key_id.encode(), creds.key_id.encode()):
        raise errors.unknown_key(key_id) if _KEY_ID_SHAPE.match(key_id) else errors.malformed_key_id()
    # B2 derives the signing key with its own region and the request's date: another region or a scope dated
    # differently from the request cannot produce a matching signature.
    if region != creds.region or day != amz_date[:8]:
        raise errors.bad_signature()
    return key_id


def _signed_header_names(value: str) -> list[str]:
    names = [n.strip().lower() for n in value.split(";") if n.strip()]
    if "host" not in names:  # SigV4 always signs Host
        raise errors.bad_signature()
    return names


def _check_payload_form(payload: str) -> None:
    if payload == UNSIGNED_PAYLOAD or _HEX64.match(payload):
        return
    if payload.startswith("STREAMING-"):
        raise errors.unsupported_payload(payload)
    raise errors.invalid_argument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, or a valid sha256 value.")


def _check_payload_hash(req: RawRequest, payload: str) -> None:
    if payload != UNSIGNED_PAYLOAD and not hmac.compare_digest(hashlib.sha256(req.body).hexdigest(), payload):
        raise errors.content_sha256_mismatch()


def canonical_request(req: RawRequest, signed: list[str], payload: str, exclude_query: tuple[str, ...]) -> str:
    """SigV4's canonical request for S3, rebuilt from the raw request."""
    path = quote(unquote(req.raw_path), safe="/~") or "/"
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~"))
                   for k, v in req.query_pairs() if k not in exclude_query)
    query = "&".join(f"{k}={v}" for k, v in pairs)
    headers = "".join(f"{name}:{' '.join((req.header(name) or '').split())}\n" for name in signed)
    return "\n".join([req.method, path, query, headers, ";".join(signed), payload])


def signing_key(secret: str, day: str, region: str) -> bytes:
    """HMAC chain AWS4<secret> -> date -> region -> s3 -> aws4_request."""
    key = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _compare(given: str, canonical: str, amz_date: str, credential: str, creds: Credentials) -> None:
    scope = credential.split("/", 1)[1]
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    expected = hmac.new(signing_key(creds.secret, amz_date[:8], creds.region), to_sign.encode(),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise errors.bad_signature()


def _epoch(amz_date: str) -> float:
    return float(calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ")))


def _from_http_date(value: str | None) -> str | None:
    """An RFC 7231 Date header as an x-amz-date stamp (SigV4 accepts either)."""
    if not value:
        return None
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).strftime("%Y%m%dT%H%M%SZ")
    except (TypeError, ValueError):
        return None

"""B2's S3-API error answers: an XML body shaped like Backblaze's, with the status and code B2 uses.

Codes and messages are B2's where docs/contracts/b2-s3.md could confirm them, S3's otherwise (marked there).
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from xml.sax.saxutils import escape


class B2Error(Exception):
    """A refusal: HTTP status, S3 error code and message, answered before the request reaches moto."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> bytes:
        """B2's error document (same layout, XML declaration and indentation as B2's answers)."""
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Error>\n'
                f"    <Code>{escape(self.code)}</Code>\n    <Message>{escape(self.message)}</Message>\n"
                "</Error>\n").encode()

    def respond(self, start_response: Callable, method: str) -> Iterable[bytes]:
        """Answer the WSGI request with this error (no body for HEAD, as S3 and B2 do)."""
        body = b"" if method == "HEAD" else self.body()
        reason = _REASONS.get(self.status, "Error")
        start_response(f"{self.status} {reason}", [
            ("Content-Type", "application/xml"), ("Content-Length", str(len(body))),
            ("x-amz-request-id", secrets.token_hex(8)), ("Cache-Control", "max-age=0, no-cache, no-store")])
        return [body]


_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 405: "Method Not Allowed"}


# ---- the refusals the layer makes (one constructor each, so codes and texts live in one place) --------------------
def anonymous() -> B2Error:
    """B2 answers every unsigned request (public buckets included) this way."""
    return B2Error(403, "AccessDenied", "Unauthenticated requests are not allowed for this api")


def sigv2(bucket: str) -> B2Error:
    """A Signature Version 2 request: B2 supports v4 only."""
    return B2Error(403, "UnauthorizedAccess", f"bucket is not authorized: {bucket}" if bucket
                   else "Signature Version 2 is not supported")


def malformed_key_id() -> B2Error:
    """A key id that is not shaped like an application key id (for example a master key id)."""
    return B2Error(403, "InvalidAccessKeyId", "Malformed Access Key Id")


def unknown_key(key_id: str) -> B2Error:
    """A well-formed application key id this endpoint does not know."""
    return B2Error(403, "InvalidAccessKeyId", f"The key '{key_id}' is not valid")


def bad_signature() -> B2Error:
    """Wrong secret, tampered request, wrong region or date in the scope."""
    return B2Error(403, "SignatureDoesNotMatch", "Signature validation failed")


def malformed_authorization(component: str) -> B2Error:
    """An Authorization header / credential that does not parse."""
    return B2Error(400, "AuthorizationHeaderMalformed",
                   f'Authorization header is malformed; the authorization component "{component}" is malformed.')


def expired(amz_date: str, expires: int) -> B2Error:
    """A presigned URL past X-Amz-Date + X-Amz-Expires."""
    return B2Error(403, "UnauthorizedAccess",
                   f"Request has expired given timestamp: '{amz_date}' and expiration: {expires}")


def not_yet_valid() -> B2Error:
    """A presigned URL dated in the future (beyond the allowed clock skew)."""
    return B2Error(403, "AccessDenied", "Request is not valid yet")


def too_skewed() -> B2Error:
    """A header-signed request whose date is too far from the server's clock."""
    return B2Error(403, "RequestTimeTooSkewed",
                   "The difference between the request time and the current time is too large.")


def bad_query_auth(message: str) -> B2Error:
    """Presigned-URL parameters that are missing or out of range."""
    return B2Error(400, "AuthorizationQueryParametersError", message)


def missing_header(name: str) -> B2Error:
    """A header the operation requires is absent."""
    return B2Error(400, "InvalidRequest", f"Missing required header for this request: {name}")


def content_sha256_mismatch() -> B2Error:
    """x-amz-content-sha256 is not the SHA-256 of the body received."""
    return B2Error(400, "XAmzContentSHA256Mismatch",
                   "The provided 'x-amz-content-sha256' header does not match what was computed.")


def unsupported_header(name: str) -> B2Error:
    """A header B2 documents as unsupported (the flexible-checksum family)."""
    return B2Error(400, "InvalidArgument", f"Unsupported header '{name}' received for this API call.")


def invalid_digest() -> B2Error:
    """Content-MD5 that is not base64 of 16 bytes."""
    return B2Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")


def bad_digest() -> B2Error:
    """Content-MD5 that does not match the body received."""
    return B2Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")


def invalid_argument(message: str) -> B2Error:
    """Any other argument B2 refuses (CORS rule limits, object names)."""
    return B2Error(400, "InvalidArgument", message)


def key_too_long() -> B2Error:
    """An object name over B2's 1024 bytes of UTF-8."""
    return B2Error(400, "KeyTooLongError", "Your key is too long")


def unsupported_payload(value: str) -> B2Error:
    """A streaming (aws-chunked) payload: not accepted by the local layer (see docs/contracts/b2-s3.md)."""
    return B2Error(400, "InvalidArgument", f"Unsupported x-amz-content-sha256 value: {value}")

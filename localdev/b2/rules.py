"""What B2's S3 API refuses where moto accepts: unsupported checksum headers, missing or wrong Content-MD5, CORS
rules beyond B2's limits, object names B2 does not allow. Checked after the signature (see docs/contracts/b2-s3.md).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import xml.etree.ElementTree as ET

from . import errors
from .request import RawRequest

# B2 answers 400 InvalidArgument "Unsupported header '<name>' received for this API call." to the flexible-checksum
# family. Checked in this order, so the header named is the first of these present.
UNSUPPORTED_PREFIXES = ("x-amz-checksum-",)  # -crc32, -crc32c, -crc64nvme, -sha1, -sha256, -type, -mode, -algorithm
UNSUPPORTED_HEADERS = ("x-amz-sdk-checksum-algorithm", "x-amz-trailer")
MAX_KEY_BYTES = 1024
MAX_CORS_XML = 100 * 1024
MAX_CORS_RULES = 100
MAX_CORS_AGE = 86400


def operation(req: RawRequest) -> str:
    """The S3 operations the rules care about, by method and sub-resource (path-style URLs only)."""
    bucket, key = req.bucket_and_key()
    q = req.query()
    if not bucket:
        return "ListBuckets" if req.method == "GET" else "Service"
    if not key:
        if req.method == "POST" and "delete" in q:
            return "DeleteObjects"
        if req.method == "PUT" and "cors" in q:
            return "PutBucketCors"
        if req.method == "PUT" and "versioning" in q:
            return "PutBucketVersioning"
        if req.method == "PUT" and not q:
            return "CreateBucket"
        return "Bucket"
    if req.method == "PUT" and "partNumber" in q:
        return "UploadPart"
    if req.method == "PUT":
        return "CopyObject" if req.header("x-amz-copy-source") else "PutObject"
    if req.method == "POST" and "uploads" in q:
        return "CreateMultipartUpload"
    return "Object"


# S3 requires an integrity header on these; B2 refuses the flexible checksums, so Content-MD5 is the one that works
# on both (B2's own examples omit it: see docs/contracts/b2-s3.md).
NEEDS_CONTENT_MD5 = frozenset({"DeleteObjects", "PutBucketCors"})
# Operations that name a new object (B2's file-name rules apply).
WRITES_KEY = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload"})


def check(req: RawRequest) -> None:
    """Raise errors.B2Error with B2's answer if B2 would refuse this (already authenticated) request."""
    _unsupported_headers(req)
    op = operation(req)
    md5 = req.header("content-md5")
    if md5 is None and op in NEEDS_CONTENT_MD5:
        raise errors.missing_header("Content-MD5")
    if md5 is not None:
        _check_md5(md5, req.body)
    if op == "PutBucketCors":
        _check_cors(req.body)
    if op == "PutBucketVersioning":
        _check_versioning(req.body)
    if op in WRITES_KEY:
        _check_key(req.bucket_and_key()[1])


def _unsupported_headers(req: RawRequest) -> None:
    for prefix in UNSUPPORTED_PREFIXES:
        for name in sorted(req.headers):
            if name.startswith(prefix):
                raise errors.unsupported_header(name)
    for name in UNSUPPORTED_HEADERS:
        if name in req.headers:
            raise errors.unsupported_header(name)


def _check_md5(value: str, body: bytes) -> None:
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise errors.invalid_digest() from None
    if len(digest) != 16:
        raise errors.invalid_digest()
    if not hmac.compare_digest(digest, hashlib.md5(body).digest()):
        raise errors.bad_digest()


def _check_cors(body: bytes) -> None:
    """B2's documented limits on PutBucketCors (XML size, rule count, empty origins, MaxAgeSeconds)."""
    if len(body) > MAX_CORS_XML:
        raise errors.invalid_argument("The size limit for CORS rules XML input is 100 KB.")
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise errors.B2Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                             "against our published schema.") from None
    rules = [el for el in root if _local(el.tag) == "CORSRule"]
    if len(rules) > MAX_CORS_RULES:
        raise errors.invalid_argument(f"A bucket may have at most {MAX_CORS_RULES} CORS rules.")
    for rule in rules:
        for child in rule:
            name, text = _local(child.tag), (child.text or "").strip()
            if name == "AllowedOrigin" and not text:
                raise errors.invalid_argument("illegal empty string in allowedOrigins.")
            if name == "MaxAgeSeconds" and not (text.isdigit() and 0 <= int(text) <= MAX_CORS_AGE):
                raise errors.invalid_argument(f"MaxAgeSeconds must be in the range [0, {MAX_CORS_AGE}].")


def _check_versioning(body: bytes) -> None:
    """B2 buckets are always versioned: turning versioning off (Suspended) is refused (the wording is ours)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise errors.B2Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                             "against our published schema.") from None
    status = next(((el.text or "").strip() for el in root if _local(el.tag) == "Status"), "")
    if status != "Enabled":
        raise errors.invalid_argument("B2 buckets are always versioned; versioning cannot be suspended.")


def _check_key(key: str) -> None:
    """B2 file names: UTF-8, at most 1024 bytes, no control characters below 32 and no DEL."""
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise errors.key_too_long()
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise errors.invalid_argument("File names must not contain characters below 32 or DEL (127).")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]

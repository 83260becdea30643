"""Backblaze B2 through its S3 API (boto3): presigned URLs, object reads/writes, listing and deletes.

B2 refuses boto3's flexible-checksum headers (x-amz-checksum-*, x-amz-sdk-checksum-algorithm). The checksum
settings below keep them off optional operations, but boto3 >= 1.36 still sends CRC32 on operations that require an
integrity header (DeleteObjects, PutBucketCors): `use_content_md5` makes those send Content-MD5 instead, which B2 and
S3 both accept. B2 answers 500/503 to mean "retry", which boto3's standard retry mode does with backoff.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator

from mam.settings import B2Settings

_lock = threading.Lock()
_clients: dict[tuple[str, str, str], object] = {}


def _content_md5_not_flexible_checksums(request, **_kwargs) -> None:
    """before-sign handler: swap the flexible-checksum headers botocore added for Content-MD5 of the same body."""
    names = [n for n in request.headers
             if n.lower().startswith("x-amz-checksum-") or n.lower() == "x-amz-sdk-checksum-algorithm"]
    if not names:
        return
    # x-amz-checksum-mode only asks for checksums in the answer; a value header means the body needed integrity.
    needs_md5 = any(n.lower().startswith("x-amz-checksum-") and n.lower() != "x-amz-checksum-mode" for n in names)
    for name in names:
        del request.headers[name]
    if needs_md5 and "Content-MD5" not in request.headers:
        from botocore.utils import calculate_md5

        request.headers["Content-MD5"] = calculate_md5(request.body or b"")


def use_content_md5(s3_client) -> None:
    """Make `s3_client` send Content-MD5 where botocore would send a flexible checksum (B2 refuses those).

    Runs before signing, so the signature covers the headers really sent."""
    s3_client.meta.events.register("before-sign.s3", _content_md5_not_flexible_checksums,
                                   unique_id="mam-b2-content-md5")


def client(b2: B2Settings):
    """A cached boto3 S3 client for the configured B2 endpoint."""
    key = (b2.endpoint, b2.region, b2.key_id)
    with _lock:
        if key not in _clients:
            import boto3  # lazy: heavy import
            from botocore.config import Config

            _clients[key] = boto3.client(
                "s3",
                endpoint_url=b2.endpoint,
                region_name=b2.region,
                aws_access_key_id=b2.key_id,
                aws_secret_access_key=b2.application_key,
                config=Config(signature_version="s3v4", request_checksum_calculation="when_required",
                              response_checksum_validation="when_required", connect_timeout=5, read_timeout=30,
                              retries={"max_attempts": 5, "mode": "standard"}),
            )
            use_content_md5(_clients[key])
        return _clients[key]


def presigned_get(b2: B2Settings, key: str, ttl: int | None = None) -> str:
    """A time-limited GET URL (SigV4 caps the lifetime at 7 days)."""
    ttl = min(604800, ttl or b2.presign_ttl_seconds)
    return client(b2).generate_presigned_url("get_object", Params={"Bucket": b2.bucket, "Key": key},
                                                   ExpiresIn=ttl)


def playback_url(b2: B2Settings, key: str | None) -> str | None:
    """URL the browser uses to fetch `key`: the public/CDN base when configured, else a presigned URL."""
    if not key:
        return None
    if b2.public_base_url:
        from urllib.parse import quote

        return f"{b2.public_base_url}/{quote(key)}"
    return presigned_get(b2, key)


_URL_CACHE_SIZE = 4096
_url_lock = threading.Lock()
_url_cache: OrderedDict[str, tuple[str, float]] = OrderedDict()


def url_window(b2: B2Settings) -> int:
    """How long a presigned URL is reused: half its lifetime, so a cached answer never hands out a dead link."""
    return max(60, min(b2.presign_ttl_seconds, 604800) // 2)


def url_window_index(b2: B2Settings, now: float | None = None) -> int:
    """Which clock-aligned `url_window` `now` falls in: presigned URLs, and what embeds them, live for one."""
    return int((time.time() if now is None else now) // url_window(b2))


def browser_url(b2: B2Settings, key: str | None, now: float | None = None) -> str | None:
    """`playback_url`, with presigned URLs reused within one `url_window`-long window of the clock.

    Signing is cheap, but a stable URL lets the browser (and a CDN) cache thumbnails across page loads and polls.
    Windows are aligned to the clock, not to the signing, so anything keyed on the window (the status ETag, the
    status answer's parts) holds a URL no longer than one window: at least half its lifetime is always left.
    """
    if not key:
        return None
    if b2.public_base_url:
        return playback_url(b2, key)
    now = time.time() if now is None else now
    with _url_lock:
        hit = _url_cache.get(key)
        if hit and hit[1] > now:
            _url_cache.move_to_end(key)
            return hit[0]
    url = presigned_get(b2, key)
    with _url_lock:
        _url_cache[key] = (url, (url_window_index(b2, now) + 1) * url_window(b2))
        while len(_url_cache) > _URL_CACHE_SIZE:
            _url_cache.popitem(last=False)
    return url


def put_bytes(b2: B2Settings, key: str, data: bytes, content_type: str, cache_control: str | None = None,
              metadata: dict[str, str] | None = None) -> None:
    """Store bytes under `key` (with optional user metadata, x-amz-meta-*)."""
    extra: dict = {"CacheControl": cache_control} if cache_control else {}
    if metadata:
        extra["Metadata"] = metadata
    client(b2).put_object(Bucket=b2.bucket, Key=key, Body=data, ContentType=content_type, **extra)


def head(b2: B2Settings, key: str) -> dict | None:
    """Object metadata, or None when the object does not exist."""
    from botocore.exceptions import ClientError

    try:
        return client(b2).head_object(Bucket=b2.bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def list_keys(b2: B2Settings, prefix: str) -> Iterator[dict]:
    """Every object under `prefix` (page by page), as the S3 listing entries."""
    paginator = client(b2).get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=b2.bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def list_versions(b2: B2Settings, prefix: str) -> Iterator[dict]:
    """Every version and delete marker under `prefix`, as the S3 listing entries (Key, VersionId, ...)."""
    paginator = client(b2).get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=b2.bucket, Prefix=prefix):
        yield from page.get("Versions", [])
        yield from page.get("DeleteMarkers", [])


def delete_objects(b2: B2Settings, objects: list[dict[str, str]]) -> list[dict]:
    """Delete objects ({"Key"} or {"Key", "VersionId"}), 1000 per request; returns B2's per-object errors."""
    s3 = client(b2)
    failed: list[dict] = []
    for start in range(0, len(objects), 1000):
        chunk = objects[start:start + 1000]
        resp = s3.delete_objects(Bucket=b2.bucket, Delete={"Objects": chunk, "Quiet": True})
        failed += resp.get("Errors", [])
    return failed


def delete_keys(b2: B2Settings, keys: list[str]) -> None:
    """Delete objects; keys that are already gone are fine."""
    delete_objects(b2, [{"Key": k} for k in keys])

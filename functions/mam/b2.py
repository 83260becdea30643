"""Backblaze B2 through its S3 API (boto3): presigned URLs, object reads/writes, listing and deletes.

B2 needs the checksum settings below (boto3 >= 1.36 otherwise sends CRC headers that B2 rejects) and answers
500/503 to mean "retry", which boto3's standard retry mode does with backoff.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Iterator

from mam.settings import Settings

_lock = threading.Lock()
_clients: dict[tuple[str, str, str], object] = {}


def client(settings: Settings):
    """A cached boto3 S3 client for the configured B2 endpoint."""
    key = (settings.b2_endpoint, settings.b2_region, settings.b2_key_id)
    with _lock:
        if key not in _clients:
            import boto3  # lazy: heavy import
            from botocore.config import Config

            _clients[key] = boto3.client(
                "s3",
                endpoint_url=settings.b2_endpoint,
                region_name=settings.b2_region,
                aws_access_key_id=settings.b2_key_id,
                aws_secret_access_key=settings.b2_application_key,
                config=Config(signature_version="s3v4", request_checksum_calculation="when_required",
                              response_checksum_validation="when_required", connect_timeout=5, read_timeout=30,
                              retries={"max_attempts": 5, "mode": "standard"}),
            )
        return _clients[key]


def presigned_get(settings: Settings, key: str, ttl: int | None = None) -> str:
    """A time-limited GET URL (SigV4 caps the lifetime at 7 days)."""
    ttl = min(604800, ttl or settings.presign_ttl_seconds)
    return client(settings).generate_presigned_url("get_object", Params={"Bucket": settings.b2_bucket, "Key": key},
                                                   ExpiresIn=ttl)


def playback_url(settings: Settings, key: str | None) -> str | None:
    """URL the browser uses to fetch `key`: the public/CDN base when configured, else a presigned URL."""
    if not key:
        return None
    if settings.b2_public_base_url:
        from urllib.parse import quote

        return f"{settings.b2_public_base_url}/{quote(key)}"
    return presigned_get(settings, key)


_URL_CACHE_SIZE = 4096
_url_lock = threading.Lock()
_url_cache: OrderedDict[str, tuple[str, float]] = OrderedDict()


def url_window(settings: Settings) -> int:
    """How long a presigned URL is reused: half its lifetime, so a cached answer never hands out a dead link."""
    return max(60, min(settings.presign_ttl_seconds, 604800) // 2)


def url_window_index(settings: Settings, now: float | None = None) -> int:
    """Which clock-aligned `url_window` `now` falls in: presigned URLs, and what embeds them, live for one."""
    return int((time.time() if now is None else now) // url_window(settings))


def browser_url(settings: Settings, key: str | None, now: float | None = None) -> str | None:
    """`playback_url`, with presigned URLs reused within one `url_window`-long window of the clock.

    Signing is cheap, but a stable URL lets the browser (and a CDN) cache thumbnails across page loads and polls.
    Windows are aligned to the clock, not to the signing, so anything keyed on the window (the status ETag, the
    status answer's parts) holds a URL no longer than one window: at least half its lifetime is always left.
    """
    if not key:
        return None
    if settings.b2_public_base_url:
        return playback_url(settings, key)
    now = time.time() if now is None else now
    with _url_lock:
        hit = _url_cache.get(key)
        if hit and hit[1] > now:
            _url_cache.move_to_end(key)
            return hit[0]
    url = presigned_get(settings, key)
    with _url_lock:
        _url_cache[key] = (url, (url_window_index(settings, now) + 1) * url_window(settings))
        while len(_url_cache) > _URL_CACHE_SIZE:
            _url_cache.popitem(last=False)
    return url


def put_bytes(settings: Settings, key: str, data: bytes, content_type: str, cache_control: str | None = None) -> None:
    """Store bytes under `key`."""
    extra = {"CacheControl": cache_control} if cache_control else {}
    client(settings).put_object(Bucket=settings.b2_bucket, Key=key, Body=data, ContentType=content_type, **extra)


def head(settings: Settings, key: str) -> dict | None:
    """Object metadata, or None when the object does not exist."""
    from botocore.exceptions import ClientError

    try:
        return client(settings).head_object(Bucket=settings.b2_bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def list_keys(settings: Settings, prefix: str) -> Iterator[dict]:
    """Every object under `prefix` (page by page), as the S3 listing entries."""
    paginator = client(settings).get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.b2_bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def delete_keys(settings: Settings, keys: list[str]) -> None:
    """Delete objects; keys that are already gone are fine."""
    s3 = client(settings)
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        if chunk:
            s3.delete_objects(Bucket=settings.b2_bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})

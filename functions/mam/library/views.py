"""The `Video` JSON of api/openapi.yaml, with browser URLs for playback and the thumbnail.

Presigned URLs are cached per key for half their lifetime: signing is cheap, but a stable URL lets the browser
(and a CDN) cache thumbnails across page loads instead of downloading them again on every listing.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from mam import b2
from mam.settings import Settings
from mam.videos import READY, Video

_CACHE_SIZE = 4096
_lock = threading.Lock()
_cache: OrderedDict[str, tuple[str, float]] = OrderedDict()


def url_for(settings: Settings, key: str | None, now: float | None = None) -> str | None:
    """Browser URL of a B2 object (public/CDN base, else a presigned GET reused for half its lifetime)."""
    if not key:
        return None
    if settings.b2_public_base_url:
        return b2.playback_url(settings, key)
    now = time.time() if now is None else now
    with _lock:
        hit = _cache.get(key)
        if hit and hit[1] > now:
            _cache.move_to_end(key)
            return hit[0]
    url = b2.playback_url(settings, key)
    window = max(60, min(settings.presign_ttl_seconds, 604800) // 2)
    with _lock:
        _cache[key] = (url, now + window)  # type: ignore[assignment]
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return url


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else None


def video_json(video: Video, settings: Settings) -> dict[str, Any]:
    """One video as the front end sees it (schema `Video`)."""
    return {
        "id": video.id,
        "title": video.title,
        "owner": video.owner or "",
        "created_at": _iso(video.created_at),
        "updated_at": _iso(video.updated_at),
        "status": video.status,
        "status_reason": video.status_reason,
        "duration": video.duration,
        "size": video.size,
        "width": video.width,
        "height": video.height,
        "thumbnail_url": url_for(settings, video.b2_thumbnail),
        "playback_url": url_for(settings, video.stored_key),
        "indexed": video.status == READY and bool(video.tl_video_id),
    }

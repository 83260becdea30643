"""The `Video` JSON of api/openapi.yaml, with browser URLs for playback and the thumbnail.

URLs come from `mam.clients.b2.browser_url`, which reuses presigned URLs so browsers can cache thumbnails.
"""
from __future__ import annotations

from typing import Any

from mam.clients import b2
from mam.settings import Settings
from mam.videos import READY, Video


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else None


def video_json(video: Video, settings: Settings) -> dict[str, Any]:
    """One video as the front end sees it (schema `Video`)."""
    return {
        "id": video.id,
        "title": video.title,
        "description": video.description,
        "owner": video.owner or "",
        "created_at": _iso(video.created_at),
        "updated_at": _iso(video.updated_at),
        "status": video.status,
        "status_reason": video.status_reason,
        "duration": video.duration,
        "size": video.size,
        "width": video.width,
        "height": video.height,
        "thumbnail_url": b2.browser_url(settings.b2, video.b2_thumbnail),
        "playback_url": b2.browser_url(settings.b2, video.stored_key),
        "indexed": video.status == READY and bool(video.tl_video_id),
    }

"""The `Video` JSON of api/openapi.yaml, with browser URLs for playback and the thumbnail.

URLs come from `mam.clients.b2.browser_url`, which reuses presigned URLs so browsers can cache thumbnails.
"""
from __future__ import annotations

from typing import Any

from mam.clients import b2
from mam.settings import Settings
from mam.videos import INDEX_IN_FLIGHT, READY, Video


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
        "tags": list(video.tags or []),
        **index_progress(video),
    }


def index_progress(video: Video) -> dict[str, Any]:
    """The indexing run's clock while it is in flight (all null otherwise): when it began, the percentage Twelve
    Labs reported (null: it reports none), and the expected length of the whole run from the duration."""
    flying = video.status in INDEX_IN_FLIGHT
    return {
        "index_started_at": _iso(video.index_started_at) if flying else None,
        "index_progress": video.index_progress if flying else None,
        "index_estimate_seconds": video.index_estimate_seconds if flying else None,
    }

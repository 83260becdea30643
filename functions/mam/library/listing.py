"""Paginated library listing (newest first, with the total) and the video detail view.

The queries are `mam.store.videos.newest_page` (pages cut without offsets or cursors, which the local emulator
ignores) and `mam.store.videos.get`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mam import store
from mam.http import ApiError
from mam.library.views import video_json
from mam.roles import User, may_change
from mam.settings import Settings
from mam.videos import Video

DEFAULT_PAGE_SIZE = 24
MAX_PAGE_SIZE = 100
# every skipped document of a deep page is a billed read; past this a caller is crawling, not browsing
MAX_OFFSET = 10_000
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}\Z")


def _int_arg(args: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"invalid_{name}", f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise ApiError(400, f"invalid_{name}", f"{name} must be between {lo} and {hi}")
    return value


def parse_page(args: Mapping[str, str]) -> tuple[int, int]:
    """(page, page_size) from query arguments; 400 when malformed or out of range."""
    size = _int_arg(args, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = _int_arg(args, "page", 1, 1, MAX_OFFSET // size + 1)
    return page, size


def valid_id(video_id: str) -> bool:
    """True for a video id as we mint them (hex, or URL-safe characters)."""
    return bool(_VIDEO_ID.match(video_id or ""))


def check_id(video_id: str) -> str:
    """`video_id` if valid; 404 for anything else, as no such video can exist."""
    if not valid_id(video_id):
        raise ApiError(404, "not_found", "No such video. It may have been deleted.")
    return video_id


def list_page(settings: Settings, page: int, page_size: int, viewer: User | None = None) -> dict[str, Any]:
    """One page of the library, newest first: {"videos", "total", "page", "page_size"}; each video's
    `can_delete`/`can_edit` say whether `viewer` may delete or edit it."""
    videos, total = store.videos.newest_page(page, page_size)
    return {"videos": [_with_rights(v, settings, viewer) for v in videos],
            "total": total, "page": page, "page_size": page_size}


def existing(video_id: str) -> Video:
    """The stored video, or a 404 ApiError (also for an id no video can have)."""
    video = store.get_video(check_id(video_id))
    if video is None:
        raise ApiError(404, "not_found", "No such video. It may have been deleted.")
    return video


def detail(settings: Settings, video_id: str, viewer: User | None = None) -> dict[str, Any]:
    """One video (with `can_delete` for `viewer`), or a 404 ApiError."""
    return _with_rights(existing(video_id), settings, viewer)


def _with_rights(video: Video, settings: Settings, viewer: User | None) -> dict[str, Any]:
    """The video JSON with `can_delete` and `can_edit` (the same rule: mam.roles.may_change) for `viewer`."""
    allowed = may_change(viewer, video)
    return {**video_json(video, settings), "can_delete": allowed, "can_edit": allowed}

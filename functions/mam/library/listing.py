"""Paginated library listing (newest first, with the total), the video detail view, and reading every video.

Pages are cut without Firestore offsets or cursors: the local Firestore emulator ignores both (it would serve
page 1 for every page, and a `start_after` loop would never end), so the skipped part is read as a projection of
`created_at` only and the page starts at that timestamp (ties counted). In Firestore this reads as many
documents as an offset is billed for, while moving only the timestamps of the skipped ones.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mam import store
from mam.http import ApiError
from mam.library.views import video_json
from mam.settings import Settings
from mam.videos import Video

DEFAULT_PAGE_SIZE = 24
MAX_PAGE_SIZE = 100
# every skipped document of a deep page is a billed read; past this a caller is crawling, not browsing
MAX_OFFSET = 10_000
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


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
        raise ApiError(404, "not_found", "no such video")
    return video_id


def newest_page(page: int, page_size: int) -> tuple[list[Video], int]:
    """One page of videos, newest first (ties by id), and the total count."""
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter
    from google.cloud.firestore_v1.field_path import FieldPath

    col = store.client().collection(store.VIDEOS)
    total = store.count_videos()
    skip = (page - 1) * page_size
    if skip >= total:
        return [], total
    desc = firestore.Query.DESCENDING
    newest = col.order_by("created_at", direction=desc).order_by(FieldPath.document_id(), direction=desc)
    query, drop = newest, 0
    if skip:
        skipped = list(newest.select(["created_at"]).limit(skip).stream())
        if len(skipped) < skip:  # deleted meanwhile
            return [], total
        boundary = skipped[-1].get("created_at")
        drop = sum(1 for snap in skipped if snap.get("created_at") == boundary)  # the skipped share of a tie
        query = newest.where(filter=FieldFilter("created_at", "<=", boundary))
    snaps = list(query.limit(page_size + drop).stream())[drop:]
    return [Video.from_doc(s.id, s.to_dict()) for s in snaps], total


def all_videos(limit: int) -> tuple[list[Video], bool]:
    """Up to `limit` videos (any order) and whether that was all of them. One streamed query, no cursors."""
    snaps = list(store.client().collection(store.VIDEOS).limit(limit + 1).stream())
    return [Video.from_doc(s.id, s.to_dict()) for s in snaps[:limit]], len(snaps) <= limit


def list_page(settings: Settings, page: int, page_size: int) -> dict[str, Any]:
    """One page of the library, newest first: {"videos", "total", "page", "page_size"}."""
    videos, total = newest_page(page, page_size)
    return {"videos": [video_json(v, settings) for v in videos], "total": total, "page": page,
            "page_size": page_size}


def detail(settings: Settings, video_id: str) -> dict[str, Any]:
    """One video, or a 404 ApiError."""
    video = store.get_video(check_id(video_id))
    if video is None:
        raise ApiError(404, "not_found", "no such video")
    return video_json(video, settings)

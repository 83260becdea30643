"""The B2 key layout of a video, in one place: what uploads, indexing, deletion and the reset sweep spell.

An uploaded video's files live under `uploads/<id>/` (TransloadIt stores them there: the store steps of
functions/mam/transloadit_template.json spell the same paths, tests/unit/test_media_keys.py checks they agree);
the thumbnail indexing copies from Twelve Labs is `thumbnails/<id>.jpg`. A discovered video's original is wherever
it was put (under VIDEOS_PREFIX), so it is never derived from the id.
"""
from __future__ import annotations

UPLOADS_PREFIX = "uploads/"
THUMBNAILS_PREFIX = "thumbnails/"
# every key under these belongs to one video (`owner_of`); the reset sweeps them for files no record owns
OWNED_PREFIXES = (UPLOADS_PREFIX, THUMBNAILS_PREFIX)


def upload_prefix(video_id: str) -> str:
    """B2 prefix holding everything TransloadIt stores for one video (deleted as a whole with it)."""
    return f"{UPLOADS_PREFIX}{video_id}/"


def original_prefix(video_id: str) -> str:
    """Prefix of the uploaded original (its name follows the uploaded file's)."""
    return f"{upload_prefix(video_id)}original/"


def web_key(video_id: str) -> str:
    """The web copy TransloadIt encodes."""
    return f"{upload_prefix(video_id)}web.mp4"


def upload_thumbnail_key(video_id: str) -> str:
    """The thumbnail TransloadIt takes from the upload."""
    return f"{upload_prefix(video_id)}thumbnail.jpg"


def index_thumbnail_key(video_id: str) -> str:
    """The thumbnail indexing copies from Twelve Labs (replaces the upload's on the record)."""
    return f"{THUMBNAILS_PREFIX}{video_id}.jpg"


def owner_of(key: str) -> str | None:
    """The video id a key under OWNED_PREFIXES belongs to (uploads/<id>/..., thumbnails/<id>.jpg), else None."""
    if key.startswith(UPLOADS_PREFIX):
        return key[len(UPLOADS_PREFIX):].split("/", 1)[0] or None
    if key.startswith(THUMBNAILS_PREFIX):
        return key[len(THUMBNAILS_PREFIX):].rsplit(".", 1)[0] or None
    return None

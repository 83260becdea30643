"""Why Twelve Labs could not index a video, as a sentence a person can act on (their codes stay in the logs)."""
from __future__ import annotations

GENERIC_FAILURE = "Twelve Labs could not index this video. Try indexing it again; if it fails again, upload it again."

# Twelve Labs error codes of a failed task (contract §1 "Common codes") -> what we tell the person
_BY_CODE = {
    "video_url_unreachable": "Twelve Labs could not download the video file. Try indexing it again in a few minutes.",
    "video_file_broken": "The video file is damaged or in a format Twelve Labs cannot read. "
                         "Upload it again as an MP4 file.",
    "video_duration_too_short": "The video is too short to be indexed (at least 4 seconds are needed).",
    "video_duration_too_long": "The video is too long to be indexed. Split it into shorter parts and upload those.",
    "video_resolution_too_low": "The video's picture is too small to be indexed (at least 360p is needed).",
    "video_resolution_too_high": "The video's picture is too large to be indexed. Upload a version of 4K or less.",
    "video_resolution_invalid_aspect_ratio": "The video's shape (aspect ratio) cannot be indexed.",
    "video_filesize_too_large": "The video file is too large to be indexed (2 GB at most).",
    "usage_limit_exceeded": "The search service's usage limit has been reached. Ask an administrator, "
                            "then index the video again.",
}


def failure_reason(code: str | None) -> str:
    """The sentence shown for a task that failed with Twelve Labs error `code` (None or unknown: a general one)."""
    return _BY_CODE.get(code or "", GENERIC_FAILURE)

"""Upload state rules of a video record: what a notification or a check may change, and what it must not.

Each function mutates a `Video` in place and returns (write, result). They run inside `store.update_video`'s
transaction, so concurrent deliveries serialise; replays and out-of-order deliveries return write=False.
"""
from __future__ import annotations

from mam.uploads.outcome import COMPLETED, FAILED, AssemblyOutcome
from mam.videos import FAILED as V_FAILED
from mam.videos import UPLOADED, UPLOADING, Video

RECORDED = "recorded"
ALREADY = "already_recorded"
OTHER_ASSEMBLY = "ignored_other_assembly"
LATER_STATE = "ignored_later_state"
NOTED = "noted_running"
PROCESSING_FAILED = "processing_failed"  # a discovered video's web copy/thumbnail could not be made
UNCHANGED = "unchanged"


def _upload_never_recorded(video: Video) -> bool:
    """True while no stored file of the upload was recorded (so a FAILED status came from the upload itself)."""
    return not video.b2_original and not video.b2_web


def apply_outcome(video: Video, outcome: AssemblyOutcome) -> tuple[bool, str]:
    """Apply an assembly outcome to the video.

    - uploading: a terminal outcome is recorded (first terminal wins); a running one only notes the assembly id.
    - failed (upload never stored) + completed of the same (or an unknown) assembly: the files are really there,
      so the earlier failure (e.g. our own time-out) is replaced by uploaded. An error notification cannot be
      followed by a completion of the same assembly, so this never flip-flops.
    - anything later (uploaded, indexing, ready, failed after indexing...): replays change nothing.
    """
    if video.source == "discovered":
        return apply_processing(video, outcome)
    same = video.assembly_id in (None, outcome.assembly_id)
    if video.status == UPLOADING:
        if outcome.state not in (COMPLETED, FAILED):
            if video.assembly_id is None:
                video.assembly_id = outcome.assembly_id
                return True, NOTED
            return False, UNCHANGED
        _record(video, outcome)
        return True, RECORDED
    if video.status == V_FAILED and outcome.state == COMPLETED and _upload_never_recorded(video) and same:
        _record(video, outcome)
        return True, RECORDED
    if video.assembly_id == outcome.assembly_id:
        return False, ALREADY
    if video.assembly_id is not None and video.assembly_id != outcome.assembly_id:
        return False, OTHER_ASSEMBLY
    return False, LATER_STATE


def apply_processing(video: Video, outcome: AssemblyOutcome) -> tuple[bool, str]:
    """A discovered video's processing (web MP4, thumbnail, media facts) is recorded without touching its status:
    it is stored already and may be indexing. A thumbnail indexing copied is kept; a failure leaves the record as
    it was (it still plays and indexes from the original)."""
    if video.assembly_id not in (None, outcome.assembly_id):
        return False, OTHER_ASSEMBLY
    if outcome.state != COMPLETED:
        if video.assembly_id is None:
            video.assembly_id = outcome.assembly_id
            return True, NOTED if outcome.state != FAILED else PROCESSING_FAILED
        return False, UNCHANGED
    if video.b2_web and video.assembly_id == outcome.assembly_id:
        return False, ALREADY
    video.assembly_id = outcome.assembly_id
    video.b2_web = outcome.web_key or video.b2_web
    video.b2_thumbnail = video.b2_thumbnail or outcome.thumbnail_key
    for attr in ("duration", "width", "height"):
        value = getattr(outcome, attr)
        if value is not None:
            setattr(video, attr, value)
    video.size = video.size or outcome.size
    return True, RECORDED


def _record(video: Video, outcome: AssemblyOutcome) -> None:
    video.assembly_id = outcome.assembly_id
    if outcome.state == COMPLETED:
        video.status = UPLOADED
        video.status_reason = None
    else:
        video.status = V_FAILED
        video.status_reason = outcome.reason or "The upload failed."
    for attr in ("original_key", "web_key", "thumbnail_key"):
        value = getattr(outcome, attr)
        if value:
            setattr(video, "b2_" + attr.replace("_key", ""), value)
    for attr in ("duration", "size", "width", "height"):
        value = getattr(outcome, attr)
        if value is not None:
            setattr(video, attr, value)


def give_up(video: Video, reason: str) -> tuple[bool, str]:
    """The safety check ends an upload that never finished (only while it is still uploading)."""
    if video.status != UPLOADING:
        return False, LATER_STATE
    video.status = V_FAILED
    video.status_reason = reason
    return True, RECORDED


def count_check(video: Video) -> tuple[bool, str]:
    """Note one more safety check (attempts["upload_check"]) while uploading; shows in the record for support."""
    if video.status != UPLOADING:
        return False, LATER_STATE
    video.attempts = {**(video.attempts or {}), "upload_check": int((video.attempts or {}).get("upload_check", 0)) + 1}
    return True, NOTED

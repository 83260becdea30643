"""Discard an unfinished upload: cancel its assembly, remove whatever reached B2, then the record."""
from __future__ import annotations

from mam import log
from mam.clients import b2, transloadit
from mam.media_keys import upload_prefix
from mam.settings import B2Settings, TransloaditSettings
from mam.videos import Video

_GONE = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}


class DiscardFailed(Exception):
    """A step of the discard failed; the message is a sentence for the user."""


def cancel_assemblies(t: TransloaditSettings, video: Video) -> list[str]:
    """Cancel the video's running assembly (the recorded one, else the ones a search finds); best effort: an
    assembly we cannot reach expires on its own, and a late completion of a deleted video is ignored."""
    try:
        ids = [video.assembly_id] if video.assembly_id else transloadit.find_assembly_ids(t, video.id, video.created_at)
    except transloadit.TransloaditUnavailable as exc:
        log.warning("assembly search failed while discarding", video_id=video.id, error=str(exc))
        return []
    canceled = []
    for assembly_id in ids[:5]:
        try:
            transloadit.cancel_assembly(t, assembly_id)
            canceled.append(assembly_id)
        except (transloadit.TransloaditUnavailable, transloadit.AssemblyNotFound) as exc:
            log.warning("assembly cancel failed", video_id=video.id, assembly_id=assembly_id, error=str(exc))
    return canceled


def delete_partial_objects(storage: B2Settings, video_id: str) -> int:
    """Remove every version of every object under the video's uploads/<id>/ folder; returns how many."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        objects = [{"Key": o["Key"], **({"VersionId": o["VersionId"]} if o.get("VersionId") else {})}
                   for o in b2.list_versions(storage, upload_prefix(video_id))]
        errors = [e for e in b2.delete_objects(storage, objects) if e.get("Code") not in _GONE] if objects else []
    except (ClientError, BotoCoreError) as exc:
        log.warning("partial upload objects not deleted", video_id=video_id, error=type(exc).__name__)
        raise DiscardFailed("The parts of the upload stored so far could not be removed. Try again in a moment.") \
            from None
    if errors:
        log.warning("B2 refused to delete partial upload objects", video_id=video_id, count=len(errors))
        raise DiscardFailed("The parts of the upload stored so far could not be removed. Try again in a moment.")
    return len(objects)

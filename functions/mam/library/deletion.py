"""Delete videos: B2 objects, then the Twelve Labs index entry, then the record — in that order, so a failure
leaves the record (and a retry finishes the job), and tolerant of whatever is already gone. Reset (admins)
deletes every video this way and then sweeps leftovers no record owns.

B2 keeps every version of a file by default and an S3 DELETE without a version only hides it, so objects are
removed version by version: the bytes are really gone, not just hidden (and billed).
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mam import log, media_keys, store
from mam.clients import b2
from mam.settings import Settings
from mam.videos import Video

BUDGET_SECONDS = 40.0  # the function's timeout is 60 s: what is not reached by then is reported, not dropped
PARALLEL = 8           # videos deleted at once (I/O-bound round trips to B2, Twelve Labs, Firestore)
NOT_REACHED = "Not reached in time; delete it again."
RESET_BATCH = 5000     # records one reset takes on; with more, "complete" is false and the admin resets again
_GONE = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}


@dataclass(frozen=True)
class DeleteResult:
    """Per-video result of a delete (`error` is readable and safe to show)."""

    ok: bool
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": self.error}


class StepFailed(Exception):
    """One step of the pipeline failed; the message says which, for the user."""


# ---- B2 -------------------------------------------------------------------------------------------------------
def _versions(settings: Settings, prefix: str, exact: bool) -> list[dict[str, str]]:
    """Every version and delete marker under `prefix` (only of the key `prefix` itself when `exact`)."""
    out: list[dict[str, str]] = []
    for item in b2.list_versions(settings.b2, prefix):
        if exact and item["Key"] != prefix:
            continue
        entry = {"Key": item["Key"]}
        if item.get("VersionId"):
            entry["VersionId"] = item["VersionId"]
        out.append(entry)
    return out


def _delete_objects(settings: Settings, objects: list[dict[str, str]]) -> None:
    """Delete objects (with versions); raise StepFailed when B2 refuses any that is not already gone."""
    errors = [e for e in b2.delete_objects(settings.b2, objects) if e.get("Code") not in _GONE]
    if errors:
        first = errors[0]
        raise StepFailed(f"B2 refused to delete {len(errors)} object(s) ({first.get('Code')}: "
                         f"{str(first.get('Message'))[:120]})")


def video_keys(video: Video) -> set[str]:
    """The single-object keys a record points at (its uploads/<id>/ folder is swept as a whole too)."""
    keys = {video.b2_original, video.b2_web, video.b2_thumbnail, media_keys.index_thumbnail_key(video.id)}
    return {k for k in keys if k and not k.endswith("/")}


def delete_objects_of(settings: Settings, video_id: str, video: Video | None) -> int:
    """Remove every version of the video's B2 objects; returns how many versions were removed."""
    from botocore.exceptions import BotoCoreError, ClientError

    folder = media_keys.upload_prefix(video_id)
    try:
        objects = _versions(settings, folder, exact=False)
        singles = video_keys(video) if video else {media_keys.index_thumbnail_key(video_id)}
        for key in sorted(singles):
            if not key.startswith(folder):
                objects += _versions(settings, key, exact=True)
        if objects:
            _delete_objects(settings, objects)
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else type(exc).__name__
        raise StepFailed(f"B2 could not delete the files ({code}); try again.") from None
    return len(objects)


# ---- Twelve Labs --------------------------------------------------------------------------------------------
def delete_index_entry(settings: Settings, video: Video) -> bool:
    """Remove the video's entry from the Twelve Labs index; True if one was removed, False if none was there.

    A video still being indexed has no entry yet; if its task already finished on Twelve Labs' side the entry is
    removed too (best effort: a leftover entry maps to no record and search skips it).
    """
    from mam.clients import twelvelabs as tl

    client = tl.client_for(settings.twelvelabs)
    if video.tl_video_id:
        try:
            return client.delete_video(video.tl_video_id)
        except tl.TwelveLabsError as exc:
            log.warning("index entry delete failed", video_id=video.id, status=exc.status, code=exc.code)
            raise StepFailed(f"Twelve Labs could not remove the index entry ({exc.message[:160]}); "
                             "try again.") from None
    if video.tl_task_id:
        try:
            info = client.retrieve_task(video.tl_task_id)
            if info.video_id and info.status == "ready":
                return client.delete_video(info.video_id)
        except tl.TwelveLabsError as exc:
            log.warning("in-flight index entry not checked", video_id=video.id, status=exc.status)
    return False


# ---- the pipeline ---------------------------------------------------------------------------------------------
def delete_one(settings: Settings, video_id: str, video: Video | None) -> DeleteResult:
    """B2 objects -> index entry -> record for one video (`video` None: the record is already gone)."""
    try:
        removed = delete_objects_of(settings, video_id, video)
        entry = delete_index_entry(settings, video) if video else False
        if video:
            store.delete_video(video_id)
        from mam.store import insights

        insights.delete(video_id)  # its summary and transcript go with it (a running task then finds no record)
    except StepFailed as exc:
        return DeleteResult(False, str(exc))
    except Exception as exc:  # noqa: BLE001 - one video's failure must not hide the others' results
        log.error("video delete failed", video_id=video_id, error=type(exc).__name__, detail=str(exc)[:300])
        return DeleteResult(False, "Could not delete the video; try again.")
    log.info("video deleted", video_id=video_id, objects=removed, index_entry=entry, record=video is not None)
    return DeleteResult(True)


def delete_videos(settings: Settings, ids: Iterable[str], videos: dict[str, Video] | None = None,
                  budget: float = BUDGET_SECONDS) -> dict[str, DeleteResult]:
    """Delete many videos in parallel; every id gets an DeleteResult (those not started within `budget` say so)."""
    ids = list(dict.fromkeys(ids))
    if videos is None:
        videos = store.get_videos(ids)  # one batched read
    deadline = time.monotonic() + budget

    def one(vid: str) -> tuple[str, DeleteResult]:
        if time.monotonic() > deadline:
            return vid, DeleteResult(False, NOT_REACHED)
        return vid, delete_one(settings, vid, videos.get(vid))

    if not ids:
        return {}
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(ids)), thread_name_prefix="delete") as pool:
        return dict(pool.map(one, ids))


# ---- reset ----------------------------------------------------------------------------------------------------
def reset(settings: Settings, budget: float = BUDGET_SECONDS) -> dict[str, Any]:
    """Delete every video, then leftovers no record owns: upload folders, copied thumbnails, index entries.

    Returns {"deleted": n, "failed": {id: reason}, "leftovers": {"b2": n, "index": n}, "complete": bool}.
    """
    started = time.monotonic()
    found, everything = store.videos.up_to(RESET_BATCH)
    videos = {v.id: v for v in found}
    results = delete_videos(settings, list(videos), videos, budget=budget)
    failed = {vid: o.error for vid, o in results.items() if not o.ok}
    complete = everything and not failed
    leftovers = {"b2": 0, "index": 0}
    if time.monotonic() - started < budget:
        leftovers["b2"] = _sweep_b2(settings)
        leftovers["index"] = _sweep_index(settings, deadline=started + budget)
    else:
        complete = False
    log.info("library reset", deleted=len(results) - len(failed), failed=len(failed), **leftovers)
    return {"deleted": len(results) - len(failed), "failed": failed, "leftovers": leftovers, "complete": complete}


_owner_of = media_keys.owner_of  # the video a swept key belongs to (uploads/<id>/..., thumbnails/<id>.jpg)


def _sweep_b2(settings: Settings) -> int:
    """Delete every version under uploads/ and thumbnails/ whose video has no record (e.g. abandoned uploads).

    Ownership is checked at sweep time, so an upload that started during the reset keeps its files."""
    objects: list[dict[str, str]] = []
    for prefix in media_keys.OWNED_PREFIXES:
        objects += _versions(settings, prefix, exact=False)
    owners = {o for o in (_owner_of(obj["Key"]) for obj in objects) if o}
    alive = store.get_videos(owners) if owners else {}
    doomed = [obj for obj in objects if _owner_of(obj["Key"]) not in alive]
    if doomed:
        try:
            _delete_objects(settings, doomed)
        except StepFailed as exc:
            log.warning("reset sweep incomplete", error=str(exc))
            return 0
    return len(doomed)


def _sweep_index(settings: Settings, deadline: float) -> int:
    """Remove index entries whose `mam_id` names no record (orphans of races between delete and indexing)."""
    from mam.clients import twelvelabs as tl

    try:
        entries = index_entries(settings, deadline)
    except tl.TwelveLabsError as exc:
        log.warning("reset could not list the index", status=exc.status, code=exc.code)
        return 0
    owners = {m for _, m in entries if m}
    alive = store.get_videos(owners) if owners else {}
    removed = 0
    client = tl.client_for(settings.twelvelabs)
    for tl_id, mam_id in entries:
        if mam_id in alive or time.monotonic() > deadline:
            continue
        try:
            removed += 1 if client.delete_video(tl_id) else 0
        except tl.TwelveLabsError as exc:
            log.warning("reset could not remove an index entry", tl_video_id=tl_id, status=exc.status)
    return removed


def index_entries(settings: Settings, deadline: float, page_limit: int = 50) -> list[tuple[str, str | None]]:
    """(Twelve Labs video id, our mam_id) of every entry in the index, page by page until `deadline`."""
    from mam.clients import twelvelabs as tl

    client = tl.client_for(settings.twelvelabs)
    out: list[tuple[str, str | None]] = []
    page = 1
    while time.monotonic() < deadline:
        items = client.list_videos(page=page, page_limit=page_limit)
        for v in items:
            mam_id = v.user_metadata.get("mam_id")
            out.append((v.id, str(mam_id) if mam_id else None))
        if len(items) < page_limit:
            break
        page += 1
    return out

"""POST /index: pick the videos to index, mark them Sending and queue one submit task each — within two seconds
for a thousand videos.

Why not one transaction per video: that is ~1,000 sequential-ish round trips. Instead: one batched read with a
field mask, Sending written in batches of compare-and-set updates (each document's precondition is the
update time we read, so a video changed meanwhile makes its batch fail and that batch falls back to per-video
transactions), and the submit tasks created in parallel while the next batch commits. A submit task is only
created after its video's Sending is committed, so it always finds the run it was made for.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import flask

from mam import log, store
from mam.auth import ensure_admin, require_member
from mam.http import ApiError, id_list, json_body
from mam.indexing import states, worker
from mam.settings import Settings
from mam.store import videos
from mam.videos import SENDING, Video, utcnow

MAX_IDS = 1000
BATCH = 400        # Firestore allows 500 writes per commit
PARALLEL = 32      # task creations are I/O-bound round trips
QUEUE_ERROR = "queue_error"
# the fields skip/mark decisions need (a field mask keeps the read small)
FIELDS = ["status", "b2_original", "b2_web", "index_started_at", "attempts", "tl_task_id", "duration"]


def start(request: flask.Request, settings: Settings) -> tuple[dict[str, Any], int]:
    """Handle POST /index {"ids": [...]} (members) or {"all": true}, optional {"reindex": true} (both admins)."""
    user = require_member(request, settings)
    body = json_body(request)
    reindex = body.get("reindex", False)
    if not isinstance(reindex, bool):
        raise ApiError(400, "invalid_reindex", "reindex must be true or false")
    if body.get("all") is True or reindex:
        ensure_admin(user)  # library-wide work, and re-paying for an index entry: admins only
    if body.get("all") is True:
        if "ids" in body:
            raise ApiError(400, "ids_or_all", "give either ids or all, not both")
        ids = None
    elif "ids" in body:
        ids = id_list(body["ids"], max_items=MAX_IDS)
        if not ids:
            raise ApiError(400, "no_ids", "ids must name at least one video")
    else:
        raise ApiError(400, "ids_or_all", 'send {"ids": [...]} or {"all": true}')

    queued, skipped = index_videos(ids, reindex, settings.twelvelabs.index_deadline_seconds)
    log.info("index requested", uid=user.uid, requested=len(queued) + len(skipped), queued=len(queued),
             skipped=len(skipped), reindex=reindex, all=ids is None)
    return {"queued": queued, "skipped": skipped}, 202


def index_videos(ids: list[str] | None, reindex: bool, deadline: int) -> tuple[list[str], dict[str, str]]:
    """Mark `ids` (None: every video) Sending and queue their submit tasks; (queued ids, {id: skip reason})."""
    # masked reads as they arrive: one BatchGetDocuments stream, or one streamed query (no cursors) for all
    reads = videos.scan_masked(FIELDS) if ids is None else videos.read_masked(ids, FIELDS)
    now = utcnow()
    skipped: dict[str, str] = {}
    seen: list[str] = []
    batches: list[Future] = []
    # a pipeline: documents stream in, each full batch is committed (and its tasks created) on the pool while
    # the next documents are still arriving
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        pending: list[videos.Stamped] = []
        for read in reads:
            video = read.video
            seen.append(video.id)
            reason = states.skip_reason(video, reindex, now, deadline)
            if reason:
                skipped[video.id] = reason
                continue
            pending.append(read)
            if len(pending) == BATCH:
                batches.append(pool.submit(_mark_and_queue, pool, pending, reindex, now, deadline, skipped))
                pending = []
        if pending:
            batches.append(pool.submit(_mark_and_queue, pool, pending, reindex, now, deadline, skipped))
        queued_set: set[str] = set()
        for batch in batches:
            for vid, fut in batch.result():
                reason = fut.result()
                if reason:
                    skipped[vid] = reason
                else:
                    queued_set.add(vid)
    order = ids if ids is not None else seen
    found = set(seen)
    for vid in order:
        if vid not in found:
            skipped[vid] = states.NOT_FOUND
    queued = [vid for vid in order if vid in queued_set]
    skipped = {vid: skipped[vid] for vid in order if vid in skipped}
    return queued, skipped


def _mark_and_queue(pool: ThreadPoolExecutor, batch, reindex: bool, now, deadline: int,
                    skipped: dict[str, str]) -> list[tuple[str, Future]]:
    """Commit Sending for one batch, then start creating its submit tasks (not waited for here)."""
    return [(vid, pool.submit(_enqueue, vid, run))
            for vid, run in _mark_batch(batch, reindex, now, deadline, skipped)]


def _mark_batch(batch: list[videos.Stamped], reindex: bool, now, deadline: int,
                skipped: dict[str, str]) -> list[tuple[str, int]]:
    """Write Sending for a batch in one commit (compare-and-set on each update time); [(id, run)] marked."""
    changes = []
    marked = []
    for read in batch:
        video = read.video
        if not states.mark_sending(video, reindex, now, deadline):  # same rule as the transaction path
            continue
        run = states.current_run(video)
        changes.append((read, {
            "status": SENDING, "status_reason": None, "tl_task_id": None, "index_started_at": now,
            "index_progress": video.index_progress, "index_estimate_seconds": video.index_estimate_seconds,
            f"attempts.{states.RUN}": run, f"attempts.{states.SUBMITS}": 0,
        }))
        marked.append((video.id, run))
    if not marked:
        return []
    try:
        videos.patch_batch(changes, now)  # also bumps version and sets updated_at, as every write of a video does
        return marked
    except Exception as exc:  # noqa: BLE001 - a video changed since we read it: decide each one in a transaction
        log.info("sending batch conflicted; per-video fallback", size=len(marked), error=type(exc).__name__)
    out = []
    for vid, _ in marked:
        run, reason = _mark_one(vid, reindex, deadline)
        if reason:
            skipped[vid] = reason
        else:
            out.append((vid, run))
    return out


def _mark_one(video_id: str, reindex: bool, deadline: int) -> tuple[int, str | None]:
    """Mark one video Sending in a transaction (re-checked); (run, None) or (0, skip reason)."""
    now = utcnow()
    applied: dict[str, int] = {}

    def mutate(v: Video) -> bool:
        applied.clear()  # the transaction may run this more than once
        if states.mark_sending(v, reindex, now, deadline):
            applied["run"] = states.current_run(v)
            return True
        return False

    after = store.update_video(video_id, mutate)
    if after is None:
        return 0, states.NOT_FOUND
    if "run" not in applied or after.status != SENDING:
        return 0, states.skip_reason(after, reindex, now, deadline) or states.IN_FLIGHT
    return applied["run"], None


def _enqueue(video_id: str, run: int) -> str | None:
    """Queue the submit task; on failure end the run (never leave a video in Sending with no task behind it)."""
    try:
        worker.enqueue_submit(video_id, run)
        return None
    except Exception as exc:  # noqa: BLE001
        log.error("could not queue submit", video_id=video_id, error=type(exc).__name__)
        store.update_video(video_id, lambda v: states.finish_failed(
            v, "Could not queue the video for indexing; please try again.", run=run))
        return QUEUE_ERROR

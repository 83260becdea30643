"""The Cloud Tasks side of indexing: submit a video to Twelve Labs, follow its task, finish the video.

Every handler is idempotent (all three rules of `mam.idempotency`) and bounded:
- a task (INDEX_SUBMIT, INDEX_FOLLOW in `mam.task_routes`) is named from (video, run, run nonce, attempt) or
  (video, Twelve Labs task, hop), so every hop has a name of its own;
- each hop is claimed in Firestore (`index_hops`) before Twelve Labs is called: a duplicate delivery does nothing,
  a Cloud Tasks retry takes the hop over;
- the record changes only through the transitions in `states` inside a Firestore transaction, and only when the
  status really changes;
- waiting is a new task with a schedule time, never a sleep: polls grow (schedule.poll_delay), errors back off
  (schedule.error_delay, honouring Retry-After), and the run ends at INDEX_DEADLINE_SECONDS with Failed.
"""
from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

from mam import idempotency, log, media_keys, store, tasks
from mam.clients import b2
from mam.indexing import progress as run_progress
from mam.indexing import reasons, schedule, states
from mam.settings import Settings
from mam.task_routes import INDEX_FOLLOW, INDEX_SUBMIT, IndexFollow, IndexSubmit
from mam.tasks import TaskContext
from mam.videos import INDEX_IN_FLIGHT, Video, utcnow

MAX_SUBMIT_ATTEMPTS = 8
HOPS = "index_hops"            # Firestore collection of claimed hops (give it a TTL policy on `expire_at`)
HOP_TTL = dt.timedelta(days=3)
THUMB_MAX_BYTES = 5 * 1024 * 1024
GENERIC_FAILURE = reasons.GENERIC_FAILURE


# ---- enqueueing ------------------------------------------------------------------------------------------------
def enqueue_submit(video_id: str, run: int, attempt: int = 0, delay: float = 0, nonce: str | None = None) -> tasks.Enqueued:
    """The submit task of (video, run, attempt); deterministic name within a run, so re-enqueueing is harmless.

    A run's first submit draws a random `nonce` that its retries carry on. Run numbers restart at 1 when a record is
    re-created under the same id (a discovered file deleted and found again has the same id), and Cloud Tasks
    refuses a name used within the last hour: without the nonce that new run's submit would be silently dropped."""
    nonce = nonce or secrets.token_hex(4)
    return INDEX_SUBMIT.enqueue(IndexSubmit(video_id, run, attempt, nonce),
                                key=("submit", video_id, run, nonce, attempt), delay_seconds=delay)


def enqueue_follow(video_id: str, task_id: str, hop: int, started: float, errors: int = 0,
                   delay: float = 0) -> tasks.Enqueued:
    """Follow hop `hop` of a Twelve Labs task; `started` = when the task was created (unix seconds)."""
    return INDEX_FOLLOW.enqueue(IndexFollow(video_id, task_id, hop, started, errors),
                                key=("follow", video_id, task_id, hop), delay_seconds=delay)


def claim(key: str, ctx: TaskContext) -> bool:
    """True if this delivery owns hop `key` of indexing (`idempotency.claim_once`: first claim, or a retry)."""
    return idempotency.claim_once(HOPS, key, ctx, {"expire_at": utcnow() + HOP_TTL})


# ---- submit ----------------------------------------------------------------------------------------------------
def submit(settings: Settings, payload: IndexSubmit, ctx: TaskContext) -> dict[str, Any]:
    """Create the Twelve Labs task of a video in Sending from a presigned URL of its stored file."""
    from mam.clients import twelvelabs as tl

    video_id, run, attempt, nonce = payload.video_id, payload.run, payload.attempt, payload.nonce
    video = store.get_video(video_id)
    if video is None:
        return {"skipped": "video deleted"}
    if (ctx.retry_count > 0 and video.tl_task_id and video.status in INDEX_IN_FLIGHT
            and states.current_run(video) == run):
        # a retry after the task was recorded but before the first follow was queued: queue it (same name)
        enqueue_follow(video_id, video.tl_task_id, 0, time.time(), delay=schedule.poll_delay(0))
        return {"resumed": video.tl_task_id}
    if not states.is_current_submit(video, run):
        return {"skipped": "stale run"}
    # the nonce keeps a re-created record's run 1 from meeting the old run 1's claim (kept for HOP_TTL)
    if not claim(f"{video_id}.s{run}.{nonce}.{attempt}" if nonce else f"{video_id}.s{run}.{attempt}", ctx):
        return {"skipped": "duplicate delivery"}
    client = tl.client_for(settings.twelvelabs)
    try:
        if video.tl_video_id:  # re-index: remove the old entry first, or search would find the video twice
            client.delete_video(video.tl_video_id)
        ttl = max(settings.b2.presign_ttl_seconds, settings.twelvelabs.index_deadline_seconds + 3600)
        url = b2.presigned_get(settings.b2, video.stored_key or "", ttl=ttl)
        task_id, _ = client.create_task(url, {"mam_id": video_id})
    except tl.TwelveLabsError as exc:
        return _submit_failed(settings, video, run, attempt, exc, nonce)
    after = _update(video_id, lambda v: states.record_task(v, run, task_id))
    if after is None or after.tl_task_id != task_id:
        # deleted or restarted while we were creating it: nobody follows this task (its index entry is orphaned
        # and search skips it, as it maps to no current record)
        log.warning("twelvelabs task orphaned", video_id=video_id, task_id=task_id)
        return {"orphaned": task_id}
    enqueue_follow(video_id, task_id, 0, time.time(), delay=schedule.poll_delay(0))
    log.info("twelvelabs task created", video_id=video_id, task_id=task_id, run=run, attempt=attempt)
    return {"task_id": task_id}


def _submit_failed(settings: Settings, video: Video, run: int, attempt: int, exc, nonce: str) -> dict[str, Any]:
    from mam.clients import twelvelabs as tl

    log.warning("twelvelabs submit failed", video_id=video.id, run=run, attempt=attempt, status=exc.status,
                code=exc.code, error=exc.message[:200])
    if isinstance(exc, tl.NotFound):
        tl.client_for(settings.twelvelabs).forget_index()  # the index was deleted: the retry creates it again
    retryable = exc.retryable or isinstance(exc, tl.NotFound)
    if retryable and attempt + 1 < MAX_SUBMIT_ATTEMPTS and not states.past_deadline(
            video, utcnow(), settings.twelvelabs.index_deadline_seconds):
        delay = schedule.error_delay(attempt + 1, exc.retry_after)
        _update(video.id, lambda v: states.count_submit(v, run))
        enqueue_submit(video.id, run, attempt + 1, delay=delay, nonce=nonce or None)
        return {"retry_in": delay}
    if retryable:
        reason = f"Twelve Labs was unavailable; gave up after {attempt + 1} attempts ({exc.message[:200]})."
    else:
        reason = f"Twelve Labs refused the video: {exc.message[:300]}"
    _update(video.id, lambda v: states.finish_failed(v, reason, run=run))
    return {"failed": reason}


# ---- follow ----------------------------------------------------------------------------------------------------
def follow(settings: Settings, payload: IndexFollow, ctx: TaskContext) -> dict[str, Any]:
    """One poll of a Twelve Labs task: show its status, finish the video, or schedule the next poll."""
    from mam.clients import twelvelabs as tl

    video_id, task_id, hop, started, errors = (payload.video_id, payload.task_id, payload.hop, payload.started,
                                               payload.errors)
    video = store.get_video(video_id)
    if video is None or not states.is_following(video, task_id):
        return {"stopped": "not following this task"}  # finished (e.g. by the webhook), deleted or restarted
    if not claim(f"{video_id}.{task_id}.{hop}", ctx):
        return {"skipped": "duplicate delivery"}
    now = utcnow()
    deadline = settings.twelvelabs.index_deadline_seconds
    if states.past_deadline(video, now, deadline):
        _update(video_id, lambda v: states.finish_failed(v, states.TIMED_OUT, task_id=task_id))
        log.warning("indexing timed out", video_id=video_id, task_id=task_id, hops=hop)
        return {"failed": states.TIMED_OUT}
    client = tl.client_for(settings.twelvelabs)
    try:
        info = client.retrieve_task(task_id)
    except tl.NotFound:
        reason = "The Twelve Labs task no longer exists."
        _update(video_id, lambda v: states.finish_failed(v, reason, task_id=task_id))
        return {"failed": reason}
    except tl.TwelveLabsError as exc:  # 429, 5xx, time-outs (and 4xx such as a revoked key): back off
        delay = _until_deadline(video, now, deadline, schedule.error_delay(errors + 1, exc.retry_after))
        enqueue_follow(video_id, task_id, hop + 1, started, errors + 1, delay=delay)
        log.warning("twelvelabs poll failed", video_id=video_id, task_id=task_id, status=exc.status,
                    code=exc.code, retry_in=delay)
        return {"retry_in": delay}
    result = apply_task(settings, video, info)
    if not info.done:
        delay = _until_deadline(video, now, deadline, schedule.poll_delay(time.time() - started))
        enqueue_follow(video_id, task_id, hop + 1, started, 0, delay=delay)
        result["next_in"] = delay
    return result


def _until_deadline(video: Video, now: dt.datetime, deadline: int, delay: float) -> float:
    """Never sleep past the deadline: the poll after it is the one that times the run out."""
    started = video.index_started_at or now
    left = deadline - (now - started).total_seconds()
    return max(1.0, min(delay, left + 1.0))


# ---- finish (shared with the webhook) -----------------------------------------------------------------------
def apply_task(settings: Settings, video: Video, info) -> dict[str, Any]:
    """Bring the record in line with a Twelve Labs task seen just now (idempotent; writes only on change)."""
    if info.status == "ready":
        if not info.video_id:
            return {"status": "ready-without-video"}  # cannot happen on the real API; poll again
        thumb = copy_thumbnail(settings, video.id, info)
        after = _update(video.id, lambda v: states.finish_ready(v, info.id, info.video_id, thumb, info.duration,
                                                                info.width, info.height))
        if after is not None and after.status == "ready" and after.tl_video_id == info.video_id:
            started = after.index_started_at
            # index_seconds against duration: the measurements behind progress.INDEX_SECONDS_PER_VIDEO_SECOND
            log.info("video indexed", video_id=video.id, task_id=info.id, tl_video_id=info.video_id,
                     thumbnail=bool(thumb), duration=after.duration,
                     index_seconds=round((utcnow() - started).total_seconds(), 1) if started else None)
            from mam.insights import start as insights  # once per indexed version (a replay queues nothing)

            insights.on_ready(after)
        return {"status": "ready"}
    if info.status == "failed":
        reason = reasons.failure_reason(info.error_code)  # Twelve Labs' own text is for developers: logged only
        _update(video.id, lambda v: states.finish_failed(v, reason, task_id=info.id))
        log.info("video indexing failed", video_id=video.id, task_id=info.id, code=info.error_code,
                 error=(info.error or "")[:300])
        return {"status": "failed", "reason": reason}
    wanted = states.FROM_TWELVELABS.get(info.status)
    # skip the transaction entirely when nothing changed (progress.worth_a_write: news about the run's progress)
    if (wanted and wanted != video.status) or run_progress.worth_a_write(video, info.percentage, info.duration):
        _update(video.id, lambda v: states.progress(v, info.id, info.status, info.percentage, info.duration))
    result: dict[str, Any] = {"status": info.status}
    if info.percentage is not None:
        result["percentage"] = info.percentage
    return result


def copy_thumbnail(settings: Settings, video_id: str, info) -> str | None:
    """Copy Twelve Labs' thumbnail of a ready task into B2; None (keep the upload's) when there is none."""
    import requests

    from mam.clients import twelvelabs as tl

    urls = list(info.thumbnail_urls)
    if not urls and info.video_id:
        try:
            found = tl.client_for(settings.twelvelabs).get_video(info.video_id)
            urls = list(found.thumbnail_urls) if found else []
        except tl.TwelveLabsError as exc:
            log.warning("twelvelabs video lookup failed", video_id=video_id, status=exc.status)
    for url in urls[:2]:
        try:
            with requests.get(url, timeout=(5, 15), stream=True) as resp:
                kind = resp.headers.get("Content-Type", "").split(";")[0].strip()
                if resp.status_code != 200 or not kind.startswith("image/"):
                    continue
                data = resp.raw.read(THUMB_MAX_BYTES + 1, decode_content=True)
            if not data or len(data) > THUMB_MAX_BYTES:
                continue
            key = media_keys.index_thumbnail_key(video_id)
            b2.put_bytes(settings.b2, key, data, kind, cache_control="public, max-age=86400")
            return key
        except Exception as exc:  # noqa: BLE001 - the upload thumbnail is a fine fallback
            log.warning("thumbnail copy failed", video_id=video_id, error=type(exc).__name__)
    return None


def _update(video_id: str, mutate) -> Video | None:
    return store.update_video(video_id, mutate)

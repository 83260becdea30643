"""The Cloud Tasks side of insights: fetch the transcript (ONE retrieve), analyse the video (ONE analyze, or an
asynchronous analyze task followed like indexing for videos over the sync limit), check and store the answer.

Idempotent and bounded as indexing is (`mam.idempotency`): every hop has a name of its own (video, version, run,
attempt / task, hop), is claimed in `insight_hops` before Twelve Labs is called, and the record moves only through
`states` in a transaction. Waiting is a new task with a schedule time: errors back off as indexing's do
(`mam.indexing.schedule.error_delay`, honouring Retry-After), polls of an analyze task follow the indexing poll
schedule (never faster), the run ends at INSIGHTS_DEADLINE_SECONDS with Failed, and a spent daily cap moves the run
to the next UTC day (Waiting).
"""
from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from mam import idempotency, log, store
from mam.clients import b2
from mam.indexing import schedule
from mam.insights import budget, schema, states, tags
from mam.insights.record import Insight
from mam.insights.start import MIN_SECONDS, enqueue_generate
from mam.settings import Settings
from mam.store import insights as insight_store
from mam.task_routes import INSIGHT_FOLLOW, InsightFollow, InsightGenerate
from mam.tasks import TaskContext
from mam.videos import Video, utcnow

HOPS = "insight_hops"  # claimed hops (TTL policy on `expire_at`)
HOP_TTL = dt.timedelta(days=3)
MAX_ATTEMPTS = 12  # generate hops of one run (errors, bad answers, waiting) before it gives up
MAX_BAD_OUTPUTS = 2  # an answer that does not follow the schema gets one more try


def claim(key: str, ctx: TaskContext) -> bool:
    """True if this delivery owns hop `key` (`idempotency.claim_once`)."""
    return idempotency.claim_once(HOPS, key, ctx, {"expire_at": utcnow() + HOP_TTL})


def _update(video_id: str, mutate) -> Insight:
    return insight_store.update(video_id, mutate)


def enqueue_follow(video_id: str, task_id: str, run: int, hop: int, started: float, errors: int = 0,
                   delay: float = 0) -> None:
    INSIGHT_FOLLOW.enqueue(InsightFollow(video_id, task_id, run, hop, started, errors),
                           key=("follow", video_id, task_id, hop), delay_seconds=delay)


def _video_url(settings: Settings, video: Video) -> str:
    ttl = max(settings.b2.presign_ttl_seconds, settings.twelvelabs.insights_deadline_seconds + 3600)
    return b2.presigned_get(settings.b2, video.stored_key or "", ttl=ttl)


# ---- generate -----------------------------------------------------------------------------------------------
def generate(settings: Settings, payload: InsightGenerate, ctx: TaskContext) -> dict[str, Any]:
    """One hop of a run: transcript (once), the daily cap, then the analysis."""
    from mam.clients import twelvelabs as tl

    vid, tl_vid, run, attempt = payload.video_id, payload.tl_video_id, payload.run, payload.attempt
    video = store.get_video(vid)
    ins = insight_store.get(vid)
    if video is None or video.tl_video_id != tl_vid or not states.is_current(ins, run, tl_vid):
        return {"stopped": "not this run"}
    if not claim(f"{vid}.{run}.g{attempt}", ctx):
        return {"skipped": "duplicate delivery"}
    now = utcnow()
    tl_settings = settings.twelvelabs
    if states.past_deadline(ins, now, tl_settings.insights_deadline_seconds):
        _update(vid, lambda i: states.finish_failed(i, run, states.TIMED_OUT))
        return {"failed": "deadline"}
    if video.duration is not None and video.duration < MIN_SECONDS:
        _update(vid, lambda i: states.skip(i, run))
        return {"skipped": "too short"}
    client = tl.client_for(tl_settings)
    try:
        if ins.transcript is None:
            found = client.transcript(tl_vid)
            if found is None:
                _update(vid, lambda i: states.finish_failed(i, run, states.NOT_IN_INDEX))
                return {"failed": "not in the index"}
            segments = [{"start": s.start, "end": s.end, "text": s.text} for s in found.segments]
            ins = _update(vid, lambda i: states.note_transcript(i, run, segments, found.duration))
        duration = video.duration if video.duration is not None else ins.duration
        if duration is not None and duration < MIN_SECONDS:
            _update(vid, lambda i: states.skip(i, run))
            return {"skipped": "too short"}
        if ins.counted_day is None and not insight_store.take_budget(budget.day(now), tl_settings.insights_daily_limit):
            message = budget.limit_message(tl_settings.insights_daily_limit, now)
            _update(vid, lambda i: states.wait(i, run, message))
            delay = budget.seconds_to_reset(now) + random.uniform(5, 300)  # spread the morning's restarts
            enqueue_generate(vid, tl_vid, run, attempt + 1, payload.errors, delay=delay)
            log.info("insights waiting for tomorrow's budget", video_id=vid, run=run, delay=round(delay))
            return {"waiting": round(delay)}
        ins = _update(vid, lambda i: states.begin_analysis(i, run, budget.day(now), now, attempt))
        if not states.is_current(ins, run, tl_vid):
            return {"stopped": "not this run"}
        url = _video_url(settings, video)
        if duration is not None and duration > tl.SYNC_ANALYZE_MAX_SECONDS:
            task_id = client.create_analyze_task(url, schema.PROMPT, schema.INSIGHT_SCHEMA, custom_id=_custom_id(vid))
            _update(vid, lambda i: states.record_task(i, run, task_id))
            enqueue_follow(vid, task_id, run, 0, time.time(), delay=schedule.poll_delay(0))
            log.info("insights analyze task created", video_id=vid, run=run, task_id=task_id)
            return {"task_id": task_id}
        generated = client.analyze(url, schema.PROMPT, schema.INSIGHT_SCHEMA)
    except tl.TwelveLabsError as exc:
        return _call_failed(vid, tl_vid, run, attempt, payload.errors, ins, exc, settings)
    return apply_generated(settings, vid, tl_vid, run, attempt, generated, duration)


def _custom_id(video_id: str) -> str | None:
    return video_id if 0 < len(video_id) <= 64 and all(c.isalnum() or c in "-_" for c in video_id) else None


def _call_failed(vid: str, tl_vid: str, run: int, attempt: int, errors: int, ins: Insight, exc,
                 settings: Settings) -> dict[str, Any]:
    """A Twelve Labs call failed: back off and try again (429, 5xx, time-outs), or fail with a sentence."""
    log.warning("insights call failed", video_id=vid, run=run, attempt=attempt, status=exc.status, code=exc.code,
                error=exc.message[:200])
    if exc.retryable and attempt + 1 < MAX_ATTEMPTS:
        delay = schedule.error_delay(errors + 1, exc.retry_after)
        now = utcnow()
        if ins.counted_day is not None and ins.started_at is not None:  # never sleep past the deadline
            left = settings.twelvelabs.insights_deadline_seconds - (now - ins.started_at).total_seconds()
            delay = max(1.0, min(delay, left + 1.0))
        busy = "Twelve Labs is busy" if exc.status == 429 else "Twelve Labs is unavailable"
        _update(vid, lambda i: states.note(i, run, f"{busy}; trying again in {max(1, round(delay))} seconds."))
        enqueue_generate(vid, tl_vid, run, attempt + 1, errors + 1, delay=delay)
        return {"retry_in": delay}
    message = states.GAVE_UP if exc.retryable else states.REFUSED
    _update(vid, lambda i: states.finish_failed(i, run, message))
    return {"failed": exc.code or exc.status}


def apply_generated(settings: Settings, vid: str, tl_vid: str, run: int, attempt: int, generated,
                    duration: float | None) -> dict[str, Any]:
    """Check an analysis answer and store it (Ready, tags for videos whose owner never edited them); an answer
    that does not follow the schema gets one more attempt, then the run fails."""
    try:
        content = schema.parse(generated.data, generated.finish_reason, duration)
    except schema.BadOutput as exc:
        ins = _update(vid, lambda i: states.bad_output(i, run))
        log.warning("insights answer unreadable", video_id=vid, run=run, reason=str(exc)[:200],
                    finish_reason=generated.finish_reason, bad_outputs=ins.bad_outputs)
        if ins.bad_outputs < MAX_BAD_OUTPUTS and attempt + 1 < MAX_ATTEMPTS and states.is_current(ins, run):
            enqueue_generate(vid, tl_vid, run, attempt + 1, 0, delay=1)
            return {"retry": "unreadable answer"}
        _update(vid, lambda i: states.finish_failed(i, run, states.UNREADABLE))
        return {"failed": "unreadable answer"}
    usage = {"input_tokens": generated.input_tokens, "output_tokens": generated.output_tokens}
    after = _update(vid, lambda i: states.finish_ready(i, run, content, usage, utcnow()))
    if after.state == states.READY and after.run == run:
        suggested = tags.suggested(content.topics, content.hashtags)
        store.update_video(vid, lambda v: _suggest_tags(v, suggested))
        log.info("insights ready", video_id=vid, run=run, chapters=len(content.chapters), calls=after.calls,
                 **{k: v for k, v in usage.items() if v is not None})
    return {"state": after.state}


def _suggest_tags(video: Video, suggested: list[str]) -> bool:
    """Generated tags for a video whose owner never edited its tags (an edit is never overwritten)."""
    if video.tags_edited or video.tags == suggested:
        return False
    video.tags = suggested
    return True


# ---- follow (asynchronous analysis of long videos) ----------------------------------------------------------
def follow(settings: Settings, payload: InsightFollow, ctx: TaskContext) -> dict[str, Any]:
    """One poll of an analyze task: store its result, or schedule the next poll (the indexing schedule)."""
    from mam.clients import twelvelabs as tl

    vid, task_id, run, hop = payload.video_id, payload.task_id, payload.run, payload.hop
    ins = insight_store.get(vid)
    if not states.is_current(ins, run) or ins.analyze_task_id != task_id:
        return {"stopped": "not following this task"}
    if not claim(f"{vid}.{run}.{task_id}.{hop}", ctx):
        return {"skipped": "duplicate delivery"}
    now = utcnow()
    deadline = settings.twelvelabs.insights_deadline_seconds
    if states.past_deadline(ins, now, deadline):
        _update(vid, lambda i: states.finish_failed(i, run, states.TIMED_OUT))
        return {"failed": "deadline"}
    try:
        task = tl.client_for(settings.twelvelabs).retrieve_analyze_task(task_id)
        _update(vid, lambda i: states.count_poll(i, run))
    except tl.TwelveLabsError as exc:
        if isinstance(exc, tl.NotFound):
            _update(vid, lambda i: states.finish_failed(i, run, states.GAVE_UP))
            return {"failed": "task gone"}
        delay = _until_deadline(ins, now, deadline, schedule.error_delay(payload.errors + 1, exc.retry_after))
        enqueue_follow(vid, task_id, run, hop + 1, payload.started, payload.errors + 1, delay=delay)
        return {"retry_in": delay}
    result = apply_task(settings, ins, task)
    if not task.done:
        delay = _until_deadline(ins, now, deadline, schedule.poll_delay(time.time() - payload.started))
        enqueue_follow(vid, task_id, run, hop + 1, payload.started, 0, delay=delay)
        result["next_in"] = delay
    return result


def _until_deadline(ins: Insight, now: dt.datetime, deadline: int, delay: float) -> float:
    started = ins.started_at or now
    return max(1.0, min(delay, deadline - (now - started).total_seconds() + 1.0))


def apply_task(settings: Settings, ins: Insight, task) -> dict[str, Any]:
    """Bring the record in line with an analyze task seen just now (follow and webhook; idempotent)."""
    if task.status == "ready" and task.result is not None:
        return apply_generated(settings, ins.video_id, ins.generated_for or "", ins.run, ins.last_attempt, task.result,
                               ins.duration)
    if task.status in ("failed", "canceled"):
        _update(ins.video_id, lambda i: states.finish_failed(i, ins.run, states.REFUSED))
        log.info("insights analyze task failed", video_id=ins.video_id, task_id=task.id, error=(task.error or "")[:300])
        return {"state": "failed"}
    return {"status": task.status}


def handle_webhook(settings: Settings, task_id: str) -> dict[str, Any]:
    """`analyze.task.ready|failed`: finish the run waiting on that task at once (the task is re-read, never
    trusted from the event); anything else is left to the follow tasks."""
    from mam.clients import twelvelabs as tl

    ins = insight_store.find_by_task(task_id)
    if ins is None:
        return {"ignored": "unknown analyze task"}
    if not states.is_current(ins, ins.run):
        return {"already": ins.state}
    try:
        task = tl.client_for(settings.twelvelabs).retrieve_analyze_task(task_id)
    except tl.TwelveLabsError as exc:
        log.warning("webhook could not read the analyze task", task_id=task_id, status=exc.status)
        return {"deferred": True}
    return apply_task(settings, ins, task)

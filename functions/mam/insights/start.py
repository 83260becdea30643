"""Queue an insights run: when a video becomes Ready (once per indexed version), and on demand (regenerate)."""
from __future__ import annotations

from mam import log
from mam.insights import states
from mam.insights.record import Insight
from mam.task_routes import INSIGHT_GENERATE, InsightGenerate
from mam.videos import READY, Video, utcnow

MIN_SECONDS = 4.0  # Twelve Labs' minimum for analyze: shorter videos are skipped without a call


def enqueue_generate(video_id: str, tl_video_id: str, run: int, attempt: int = 0, errors: int = 0,
                     delay: float = 0) -> None:
    """The generate task of (video, version, run, attempt): named from all four, so a repeat is refused."""
    INSIGHT_GENERATE.enqueue(InsightGenerate(video_id, tl_video_id, run, attempt, errors),
                             key=("generate", video_id, tl_video_id, run, attempt), delay_seconds=delay)


def queue_run(video: Video, force: bool = False) -> Insight | None:
    """Start a run for the video's indexed version (a no-op when it already has one, unless `force`); the record
    after, or None when nothing was started. A video known to be shorter than MIN_SECONDS is skipped at once."""
    from mam.store import insights as store

    if video.status != READY or not video.tl_video_id:
        return None
    tl_video_id = video.tl_video_id
    started = False

    def mutate(ins: Insight) -> bool:
        nonlocal started
        started = states.start_run(ins, tl_video_id, utcnow(), force)
        if started and video.duration is not None and video.duration < MIN_SECONDS:
            states.skip(ins, ins.run)
        return started

    after = store.update(video.id, mutate)
    if not started:
        return None
    if after.state == states.QUEUED:
        enqueue_generate(video.id, tl_video_id, after.run)
    log.info("insights queued", video_id=video.id, tl_video_id=tl_video_id, run=after.run, state=after.state,
             regenerate=force)
    return after


def on_ready(video: Video) -> None:
    """A video just became Ready: queue its insights once for this indexed version. Never fails the caller
    (indexing must finish whatever happens here); a failure is logged."""
    try:
        queue_run(video)
    except Exception as exc:  # noqa: BLE001 - the video is Ready regardless; the log says what was missed
        log.error("insights could not be queued", video_id=video.id, error=type(exc).__name__, detail=str(exc)[:300])

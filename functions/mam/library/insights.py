"""The library's side of video intelligence: GET/POST /videos/{id}/insights and GET /videos/{id}/captions.vtt,
and the chapter each search clip falls in (one batched read of the result videos' insights)."""
from __future__ import annotations

from typing import Any

import flask

from mam.http import ApiError
from mam.insights import budget, vtt
from mam.insights.record import NONE, RUNNING, Insight
from mam.library import listing
from mam.roles import User, may_change
from mam.settings import Settings
from mam.videos import READY, Video

NOT_READY = "This video is not indexed yet; its summary is made once indexing has finished."
RUNNING_ALREADY = "A summary of this video is already being made; it shows here when it is ready."
NOT_YOURS = "You may regenerate the summary only of videos you uploaded; ask an admin for the others."
NO_TRANSCRIPT = "This video has no transcript yet. It is made with the video's summary once the video is indexed."
_EMPTY_MESSAGE = {NONE: None}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else None


def can_regenerate(user: User | None, video: Video, ins: Insight | None) -> bool:
    """The caller may ask for a new summary now: owner or admin, the video Ready, no run under way."""
    return may_change(user, video) and video.status == READY and bool(video.tl_video_id) and \
        (ins is None or ins.state not in RUNNING)


def insights_json(video: Video, ins: Insight | None, user: User | None) -> dict[str, Any]:
    """The body of GET /videos/{id}/insights (schema `Insights`)."""
    ins = ins or Insight(video.id)
    message = ins.message
    if ins.state == NONE and video.status != READY:
        message = NOT_READY
    return {
        "video_id": video.id,
        "state": ins.state,
        "message": message,
        "generated_at": _iso(ins.generated_at),
        "summary": ins.summary,
        "title_suggestion": ins.title_suggestion,
        "topics": list(ins.topics),
        "hashtags": list(ins.hashtags),
        "chapters": [_span(c) for c in ins.chapters],
        "highlights": [_span(h) for h in ins.highlights],
        "transcript": [{"start": float(s["start"]), "end": float(s["end"]), "text": str(s["text"])}
                       for s in ins.transcript or []],
        "can_regenerate": can_regenerate(user, video, ins),
    }


def _span(span: dict[str, Any]) -> dict[str, Any]:
    return {"start": float(span["start"]), "end": float(span["end"]), "title": str(span.get("title") or ""),
            "summary": str(span.get("summary") or "")}


def show(video_id: str, user: User | None) -> dict[str, Any]:
    """GET /videos/{id}/insights."""
    from mam.store import insights as store

    video = listing.existing(video_id)
    return insights_json(video, store.get(video.id), user)


def regenerate(settings: Settings, video_id: str, user: User) -> tuple[dict[str, Any], int]:
    """POST /videos/{id}/insights: queue a new run (owner or admin): 202 with the record (state queued)."""
    from mam.insights import start
    from mam.store import insights as store

    video = listing.existing(video_id)
    if not may_change(user, video):
        raise ApiError(403, "not_owner", NOT_YOURS)
    if video.status != READY or not video.tl_video_id:
        raise ApiError(409, "not_ready", NOT_READY)
    current = store.get(video.id)
    if current is not None and current.state in RUNNING:
        raise ApiError(409, "insights_running", RUNNING_ALREADY)
    limit = settings.twelvelabs.insights_daily_limit
    if store.budget_used(budget.day()) >= limit:
        seconds = max(1, round(budget.seconds_to_reset()))
        raise ApiError(429, "insights_daily_limit", budget.limit_message(limit, then="ask again then."),
                       {"Retry-After": str(seconds)})
    after = start.queue_run(video, force=True)
    if after is None:  # another request started one between our read and the transaction
        raise ApiError(409, "insights_running", RUNNING_ALREADY)
    return insights_json(video, after, user), 202


def captions(video_id: str) -> flask.Response:
    """GET /videos/{id}/captions.vtt: the stored transcript as WebVTT, as a download named after the title."""
    from mam.store import insights as store

    video = listing.existing(video_id)
    ins = store.get(video.id)
    if ins is None or not ins.transcript:
        raise ApiError(404, "no_transcript", NO_TRANSCRIPT)
    resp = flask.Response(vtt.to_webvtt(ins.transcript), status=200, mimetype="text/vtt")
    resp.headers["Content-Type"] = "text/vtt; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="{vtt.filename(video.title)}"'
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def chapter_at(chapters: list[dict[str, Any]], at: float) -> dict[str, Any] | None:
    """The chapter holding second `at` ({index, title, start, end}), or None."""
    for i, c in enumerate(chapters):
        if float(c["start"]) <= at < float(c["end"]):
            return {"index": i, "title": str(c.get("title") or ""), "start": float(c["start"]), "end": float(c["end"])}
    return None


def add_chapters(results: list[dict[str, Any]]) -> None:
    """Give every clip of search results its chapter (ONE batched read of the result videos' chapters)."""
    from mam.store import insights as store

    ids = [r["video"]["id"] for r in results]
    found = store.get_many(ids, ["chapters"]) if ids else {}
    for r in results:
        chapters = found[r["video"]["id"]].chapters if r["video"]["id"] in found else []
        for clip in r["clips"]:
            clip["chapter"] = chapter_at(chapters, float(clip["start"])) if chapters else None

"""POST /webhook: Twelve Labs tells us a task is ready or failed; finish that video (an indexing task) or its
insights (an asynchronous analyze task, `analyze.task.*`) at once.

The signature (TL-Signature, HMAC-SHA256 over "<t>.<body>", |now - t| <= 5 min) is checked before anything else.
Replays are harmless: a finished video is left alone (natural de-duplication on the record's state), and the
task is re-read from Twelve Labs rather than trusting the event's fields, so old or reordered events cannot
move a video backwards. Anything we cannot finish now is left to the follow tasks (answered 200 so Twelve Labs
does not retry in a loop)."""
from __future__ import annotations

from typing import Any

import flask

from mam import log, store
from mam.http import ApiError, JsonError, parse_json, raw_body
from mam.indexing import states, worker
from mam.settings import Settings

MAX_BODY = 64 * 1024
TASK_EVENTS = ("index.task.ready", "index.task.failed")
ANALYZE_EVENTS = ("analyze.task.ready", "analyze.task.failed")  # asynchronous analyses (mam.insights.worker)


def find_by_task(task_id: str):
    """The video following Twelve Labs task `task_id` (one equality query), or None."""
    return store.find_video("tl_task_id", task_id)


def handle(request: flask.Request, settings: Settings) -> dict[str, Any]:
    """Verify and apply one webhook event."""
    from mam.clients import twelvelabs as tl

    if not settings.twelvelabs.webhook_secret:
        raise ApiError(404, "webhooks_not_configured", "Twelve Labs webhooks are not configured here")
    body = raw_body(request, MAX_BODY, "webhook body")
    try:
        tl.verify_webhook(settings.twelvelabs.webhook_secret, request.headers.get("TL-Signature"), body)
    except tl.WebhookSignatureError as exc:
        log.warning("webhook rejected", reason=exc.reason)
        raise ApiError(401, "invalid_signature", exc.reason) from None
    try:  # whatever the Content-Type: the signature vouches for the body, and Twelve Labs documents JSON only
        event = parse_json(body)
    except JsonError as exc:
        raise ApiError(400, exc.code, f"webhook body: {exc.message}") from None
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        raise ApiError(400, "invalid_event", "webhook body has no data object")
    kind = event.get("type")
    if kind not in TASK_EVENTS and kind not in ANALYZE_EVENTS:
        return {"ignored": str(kind)[:100]}
    task_id = event["data"].get("id")
    if not isinstance(task_id, str) or not task_id or len(task_id) > 200:
        raise ApiError(400, "invalid_event", "webhook data.id must be a task id")
    if kind in ANALYZE_EVENTS:
        from mam.insights import worker as insights

        result = insights.handle_webhook(settings, task_id)
        log.info("analyze webhook applied", task_id=task_id, event=event.get("id"), type=kind, result=str(result)[:200])
        return result

    video = find_by_task(task_id)
    if video is None:
        log.info("webhook for an unknown task", task_id=task_id, event=event.get("id"))
        return {"ignored": "unknown task"}
    if not states.is_following(video, task_id):
        return {"already": video.status}
    try:
        info = tl.client_for(settings.twelvelabs).retrieve_task(task_id)
    except tl.TwelveLabsError as exc:  # the follow tasks will finish it
        log.warning("webhook could not read the task", task_id=task_id, status=exc.status)
        return {"deferred": True}
    result = worker.apply_task(settings, video, info)
    log.info("webhook applied", video_id=video.id, task_id=task_id, event=event.get("id"), type=kind,
             status=result.get("status"))
    return result

"""What the upload entry points do: start an upload, batched status, the notification, the safety check."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePosixPath
from typing import Any

import flask

from mam import idempotency, log, store
from mam.auth import require_member, require_reader
from mam.clients import transloadit
from mam.http import ApiError, id_list, json_body
from mam.manifest import function_url
from mam.roles import User, may_change
from mam.settings import Settings
from mam.task_routes import UPLOAD_CHECK, UploadCheck
from mam.tasks import Enqueued, TaskContext
from mam.uploads import discard, notification, outcome, states, status
from mam.uploads.policy import CheckPolicy, human_duration, policy_for
from mam.uploads.template import build_params
from mam.videos import FAILED, UPLOADING, Video, new_video_id, utcnow

MAX_CHECK_ATTEMPTS = 60  # far beyond any real schedule; a loop guard, not a policy
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}\Z")
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ogv", ".3gp",
                              ".wmv", ".flv", ".mts", ".m2ts", ".mxf"})
GENERIC_TYPES = frozenset({"application/octet-stream", "application/x-matroska", "application/mxf",
                           "application/vnd.rn-realmedia", "binary/octet-stream"})


# ---- start an upload ----------------------------------------------------------------------------------------
def _text(body: dict[str, Any], name: str, *, required: bool, max_len: int) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, "missing_field", f"`{name}` is required")
        return None
    if not isinstance(value, str) or _CONTROL.search(value):
        raise ApiError(400, "invalid_field", f"`{name}` must be text without control characters")
    value = value.strip()
    if required and not value:
        raise ApiError(400, "missing_field", f"`{name}` must not be empty")
    if len(value) > max_len:
        raise ApiError(400, "invalid_field", f"`{name}` is longer than {max_len} characters")
    return value


def _validate_start(body: dict[str, Any], settings: Settings) -> tuple[str, str]:
    """(filename, title) of a start request, or a 400/413 ApiError that says what is wrong."""
    filename = _text(body, "filename", required=True, max_len=255)
    title = _text(body, "title", required=False, max_len=200) or PurePosixPath(filename).stem.strip() or filename
    size = body.get("size")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ApiError(400, "invalid_field", "`size` must be a non-negative integer (bytes)")
        if size == 0:
            raise ApiError(400, "empty_file", f"“{filename}” is empty (0 bytes). Choose a video file that has content.")
        if size > settings.transloadit.upload_max_bytes:
            raise ApiError(413, "file_too_large",
                           f"“{filename}” is larger than the upload limit of {settings.transloadit.upload_max_bytes} "
                           "bytes. Choose a smaller file, or shorten or compress the video first.")
    mime = (_text(body, "type", required=False, max_len=100) or "").lower()
    ext = PurePosixPath(filename).suffix.lower()
    # Browsers report some containers with generic or odd types (.mkv, .mts...), or none: trust a video extension
    # then. Without a type, the extension must say video.
    if mime and not mime.startswith("video/") and not (mime in GENERIC_TYPES and ext in VIDEO_EXTENSIONS) or \
            not mime and ext not in VIDEO_EXTENSIONS:
        raise ApiError(400, "unsupported_type",
                       f"“{filename}” is not a video file. Choose a video file, for example an .mp4 or .mov file.")
    return filename, title


def start_upload(request: flask.Request, settings: Settings) -> tuple[dict[str, Any], int]:
    """POST /uploads (members): create the video record (uploading, owned by the caller), schedule the safety
    check, return signed params."""
    user = require_member(request, settings)
    filename, title = _validate_start(json_body(request), settings)
    t = settings.transloadit
    now = utcnow()
    video = Video(id=new_video_id(), title=title, owner=user.email or user.uid, owner_uid=user.uid,
                  status=UPLOADING, created_at=now, updated_at=now)
    store.create_video(video)
    policy = policy_for(now.timestamp(), t)
    try:
        _enqueue_check(video.id, 1, policy, min(policy.delay(1), int(policy.idle) + 1))
    except Exception as exc:  # noqa: BLE001 - without its safety net the upload could hang forever: refuse it instead
        log.error("could not schedule the upload check", video_id=video.id, error=type(exc).__name__)
        reason = "The upload could not be prepared; try again."
        idempotency.transition(video.id, lambda v: states.give_up(v, reason))
        raise ApiError(503, "tasks_unavailable", "the upload could not be prepared; try again in a moment") from None
    signed = build_params(
        auth_key=t.auth_key, auth_secret=t.auth_secret, video_id=video.id,
        notify_url=function_url("transloadit_notify"), credentials=t.b2_credentials,
        template_id=t.template_id, max_size=t.upload_max_bytes, now=now, ttl_seconds=t.upload_params_ttl_seconds)
    log.info("upload started", video_id=video.id, uid=user.uid, filename=filename)
    return {
        "video_id": video.id,
        "params": signed.params,
        "signature": signed.signature,
        "fields": signed.fields,
        "service_url": t.service_url,
        "expires": signed.expires,
    }, 201


# ---- the upload page's heartbeat, and discarding an unfinished upload -----------------------------------------
def _own_upload(request: flask.Request, settings: Settings, video_id: str) -> tuple[User, Video]:
    """The caller (a member) and the video, if the caller may change it (its uploader or an admin); else 403/404."""
    user = require_member(request, settings)
    video = store.get_video(video_id) if _VIDEO_ID.match(video_id or "") else None
    if video is None:
        raise ApiError(404, "not_found", "This upload no longer exists: it was finished, discarded or deleted. "
                                         "Look for the video in the library.")
    if not may_change(user, video):
        raise ApiError(403, "forbidden", "Only the person who started this upload, or an admin, can change it. "
                                         "Ask them or an admin.")
    return user, video


def _count(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1 << 53:
        raise ApiError(400, "invalid_field", f"`{name}` must be a non-negative integer (bytes)")
    return value


def record_progress(request: flask.Request, settings: Settings, video_id: str) -> dict[str, Any]:
    """POST /uploads/{id}/progress (the uploader's page, every few seconds, also while paused): the page is still
    there. Without it for UPLOAD_IDLE_MINUTES, the safety check ends the upload."""
    _, video = _own_upload(request, settings, video_id)
    body = json_body(request)
    sent = _count(body, "bytes_uploaded")
    _count(body, "bytes_total")
    now = utcnow()

    def beat(v: Video) -> tuple[bool, str]:
        if v.status != UPLOADING:
            return False, states.LATER_STATE
        v.upload_seen_at = now
        if sent is not None:
            v.upload_bytes = sent
        return True, states.NOTED

    after, label = idempotency.transition(video.id, beat)
    if after is None:
        raise ApiError(404, "not_found", "This upload no longer exists: it was discarded or deleted. "
                                         "Start the upload again.")
    return {"ok": True, "video_id": video.id, "result": label, "status": after.status,
            "status_reason": after.status_reason, "heartbeat_seconds": status.HEARTBEAT_SECONDS}


def discard_upload(request: flask.Request, settings: Settings, video_id: str) -> dict[str, Any]:
    """POST /uploads/{id}/discard (its uploader or an admin): an unfinished or failed upload is canceled at TransloadIt,
    its partial files are removed from B2 and its record is deleted, so nothing is left for anyone to clean up."""
    user, video = _own_upload(request, settings, video_id)
    finished = video.b2_original or video.b2_web or video.status not in (UPLOADING, FAILED)
    if finished:
        raise ApiError(409, "upload_finished", f"“{video.title}” has finished uploading, so there is nothing to "
                                               "discard. Delete it from the library if you no longer want it.")
    canceled = discard.cancel_assemblies(settings.transloadit, video) if video.status == UPLOADING else []
    try:
        removed = discard.delete_partial_objects(settings.b2, video.id)
    except discard.DiscardFailed as exc:
        raise ApiError(502, "discard_failed", str(exc)) from None
    store.delete_video(video.id)
    log.info("upload discarded", video_id=video.id, uid=user.uid, assemblies=len(canceled), objects=removed)
    return {"ok": True, "video_id": video.id, "result": "discarded", "canceled_assemblies": len(canceled),
            "removed_objects": removed}


# ---- status of many videos ------------------------------------------------------------------------------------
def batch_status(request: flask.Request, settings: Settings) -> flask.Response:
    """POST /status: statuses of up to 100 videos from ONE batched Firestore read, with ETag / 304."""
    require_reader(request, settings)
    ids = id_list(json_body(request).get("ids"), max_items=status.MAX_IDS)
    rows = status.read(ids, coalesce=settings.transloadit.status_coalesce)
    tag = status.etag(ids, rows, settings.b2)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if status.not_modified(request.headers.get("If-None-Match"), tag):
        resp = flask.Response(status=304)
    else:
        resp = flask.Response(status.body_json(ids, rows, settings.b2), mimetype="application/json")
    resp.headers.update(headers)
    return resp


# ---- the notification -----------------------------------------------------------------------------------------
def _video_by_assembly(assembly_id: str) -> str | None:
    video = store.find_video("assembly_id", assembly_id)
    return video.id if video else None


def handle_notification(request: flask.Request, settings: Settings) -> dict[str, Any]:
    """POST / (transloadit_notify): authenticate, then record the outcome on the video, idempotently.

    Unknown assemblies/videos answer 200 ("ignored"): a non-2xx only makes TransloadIt retry something that can
    never succeed. Nothing is written for forged or malformed input (400/401 before any read).
    """
    raw, signature = notification.read_fields(request)
    note = notification.authenticate(raw, signature, settings.transloadit.auth_secret)
    result = outcome.parse(note.status)
    video_id = result.video_id or _video_by_assembly(note.assembly_id)
    if not video_id:
        log.warning("notification for an unknown assembly", assembly_id=note.assembly_id)
        return {"ok": True, "result": "ignored_unknown_assembly", "assembly_id": note.assembly_id}
    video, label = idempotency.transition(video_id, lambda v: states.apply_outcome(v, result))
    if video is None:
        log.warning("notification for an unknown video", assembly_id=note.assembly_id, video_id=video_id)
        return {"ok": True, "result": "ignored_unknown_video", "assembly_id": note.assembly_id, "video_id": video_id}
    log.info("notification handled", assembly_id=note.assembly_id, video_id=video_id, outcome=result.state,
             result=label, status=video.status)
    return {"ok": True, "result": label, "assembly_id": note.assembly_id, "video_id": video_id, "status": video.status}


# ---- the missed-notification safety check -----------------------------------------------------------------------
def _enqueue_check(video_id: str, attempt: int, policy: CheckPolicy, delay: float) -> Enqueued:
    """Queue check number `attempt` of an upload; named per attempt, so queuing it twice is harmless."""
    return UPLOAD_CHECK.enqueue(UploadCheck(video_id, attempt, policy.to_payload()), key=(video_id, "check", attempt),
                                delay_seconds=delay)


def _assembly_outcomes(settings: Settings, video: Video) -> list[outcome.AssemblyOutcome]:
    """Outcomes of the video's assembly (recorded id, else a keyword search), newest first, ours only."""
    t = settings.transloadit
    ids = [video.assembly_id] if video.assembly_id else transloadit.find_assembly_ids(t, video.id, video.created_at)
    found = []
    for assembly_id in ids[:5]:
        try:
            parsed = outcome.parse(transloadit.get_assembly(t, assembly_id))
        except transloadit.AssemblyNotFound:
            continue
        if parsed.video_id == video.id:
            found.append(parsed)
    return found


def _reschedule(video_id: str, attempt: int, policy: CheckPolicy, limit: float, now: float) -> dict[str, Any]:
    """Enqueue the next check (deterministic name per attempt), never much later than `limit`."""
    nxt = attempt + 1
    delay = int(max(1, min(policy.delay(nxt), limit - now + 1)))
    _enqueue_check(video_id, nxt, policy, delay)
    idempotency.transition(video_id, states.count_check)
    return {"done": False, "result": "rescheduled", "video_id": video_id, "next_attempt": nxt, "delay_seconds": delay}


def _give_up(video_id: str, reason: str) -> dict[str, Any]:
    after, label = idempotency.transition(video_id, lambda v: states.give_up(v, reason))
    log.warning("upload given up", video_id=video_id, reason=reason, result=label)
    return {"done": True, "result": label, "video_id": video_id, "status": after.status if after else None}


def _give_up_idle(settings: Settings, video_id: str, assembly_id: str, idle: float) -> dict[str, Any]:
    """The page stopped sending the file: fail the upload with the reason, then cancel its assembly (in this
    order, so the cancel notification cannot replace the reason)."""
    answer = _give_up(video_id, f"The upload stopped: no data arrived for {human_duration(idle)}, so the page was "
                                "probably closed. Upload the file again.")
    try:
        transloadit.cancel_assembly(settings.transloadit, assembly_id)
    except (transloadit.TransloaditUnavailable, transloadit.AssemblyNotFound) as exc:
        log.warning("idle upload's assembly not canceled", video_id=video_id, assembly_id=assembly_id, error=str(exc))
    return {**answer, "reason": "idle"}


def run_check(check: UploadCheck, ctx: TaskContext, settings: Settings) -> dict[str, Any]:
    """UPLOAD_CHECK (upload_tasks): if the video is still uploading, ask TransloadIt and finish, fail or re-check.

    Always ends: a terminal assembly is recorded; a running one is re-checked with backoff until the deadline;
    no assembly at all fails after the start grace; TransloadIt outages are re-checked, then given up at the
    deadline. Duplicate deliveries are harmless by rules 1 and 2 of `mam.idempotency` (a task name per attempt,
    guarded transitions); it needs no claim, as it only reads TransloadIt.
    """
    video_id, attempt = check.video_id, check.attempt
    video = store.get_video(video_id)
    if video is None:
        return {"done": True, "result": "video_gone", "video_id": video_id}
    if video.status != UPLOADING:
        return {"done": True, "result": "not_uploading", "video_id": video_id, "status": video.status}
    started = video.created_at.timestamp()
    policy = CheckPolicy.from_payload(check.policy, started, settings.transloadit)
    now = dt.datetime.now(dt.UTC).timestamp()
    out_of_time = now >= policy.deadline or attempt >= MAX_CHECK_ATTEMPTS
    # The page reports progress while it sends the file; silence for `idle` means it is gone.
    idle_until = (video.upload_seen_at or video.created_at).timestamp() + policy.idle
    try:
        found = _assembly_outcomes(settings, video)
    except transloadit.TransloaditUnavailable as exc:
        log.warning("upload check could not reach TransloadIt", video_id=video_id, attempt=attempt, error=str(exc))
        if out_of_time:
            return _give_up(video_id, "The upload could not be confirmed with TransloadIt in time.")
        return _reschedule(video_id, attempt, policy, policy.deadline, now)
    terminal = sorted((o for o in found if o.state in (outcome.COMPLETED, outcome.FAILED)),
                      key=lambda o: o.state != outcome.COMPLETED)  # a completed assembly wins over a failed one
    if terminal:
        after, label = idempotency.transition(video_id, lambda v: states.apply_outcome(v, terminal[0]))
        log.info("upload check recorded the assembly", video_id=video_id, assembly_id=terminal[0].assembly_id,
                 result=label, task=ctx.name, attempt=attempt, status=after.status if after else None)
        return {"done": True, "result": label, "video_id": video_id, "status": after.status if after else None}
    if found:  # still uploading/executing at TransloadIt: note the assembly, look again later
        idempotency.transition(video_id, lambda v: states.apply_outcome(v, found[0]))
        if out_of_time:
            return _give_up(video_id, "The upload did not finish within "
                            f"{human_duration(policy.deadline - started)}.")
        waiting = [o for o in found if o.uploading]
        if not waiting:  # the file is in: processing is bounded by the deadline only
            return _reschedule(video_id, attempt, policy, policy.deadline, now)
        if now >= idle_until:
            return _give_up_idle(settings, video_id, waiting[0].assembly_id, policy.idle)
        return _reschedule(video_id, attempt, policy, min(policy.deadline, idle_until), now)
    if now >= policy.grace_until or out_of_time or now >= idle_until:
        return _give_up(video_id, "The upload never started (no file reached TransloadIt).")
    return _reschedule(video_id, attempt, policy, min(policy.grace_until, idle_until), now)

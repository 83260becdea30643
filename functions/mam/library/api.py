"""HTTP handlers of the `library` function: authorise, parse, call the domain modules, shape the answer.

Who may do what (README "Who may do what", rules in mam/roles.py): reading and search follow PUBLIC_READ
(anonymous when on, members only when off); a member deletes the videos they uploaded, an admin any video; delete
all, reset and sync are admin-only; GET /me tells the front end the caller's roles. B2 event notifications are
authenticated by their signature alone.
"""
from __future__ import annotations

from typing import Any

import flask

from mam import log, roles
from mam.auth import ensure_admin, require_admin, require_member, require_reader, require_user
from mam.http import ApiError, id_list, json_body, raw_body
from mam.library import listing
from mam.settings import Settings

MAX_DELETE_IDS = 1000
MAX_EVENT_BODY = 1_000_000


NOT_YOURS = "You may delete only videos you uploaded; ask an admin to delete the others."


def me(request: flask.Request, settings: Settings) -> dict[str, Any]:
    """GET /me: the signed-in caller's roles, so the front end shows only what they may do."""
    return {**require_user(request, settings).as_json(), "public_read": settings.http.public_read}


def list_videos(request: flask.Request, settings: Settings) -> dict[str, Any]:
    """GET /videos?page=&page_size= (newest first, with the total), or with any of q, owner, status, from, to,
    sort, cursor: a found page with a cursor (mam.library.finding); each video says what the caller may do."""
    from mam.library import finding

    user = require_reader(request, settings)
    if finding.wants_find(request.args):
        find = finding.parse(request.args)
        return finding.find_page(settings, find, user, request.args.get("cursor") or None)
    page, size = listing.parse_page(request.args)
    return listing.list_page(settings, page, size, viewer=user)


def edit_video(request: flask.Request, settings: Settings, video_id: str) -> dict[str, Any]:
    """PATCH /videos/{id} {"title"?, "description"?, "tags"?} (the uploader or an admin): the video as it now
    stands."""
    from mam.library import editing, finding

    user = require_member(request, settings)
    listing.check_id(video_id)
    changes = editing.parse(json_body(request))
    video = editing.edit(video_id, changes, user)
    log.info("video edited", uid=user.uid, video_id=video_id, fields=sorted(changes))
    return finding.video_view(video, settings, user)


def refresh_find_fields(request: flask.Request, settings: Settings) -> dict[str, Any]:
    """POST /find-fields (admins): write the search and sort fields of videos stored before they existed."""
    from mam.store import library_find

    user = require_admin(request, settings)
    result = library_find.backfill()
    log.info("find fields refreshed", uid=user.uid, **result)
    return result


def get_video(request: flask.Request, settings: Settings, video_id: str) -> dict[str, Any]:
    """GET /videos/{id}."""
    user = require_reader(request, settings)
    return listing.detail(settings, video_id, viewer=user)


def delete(request: flask.Request, settings: Settings) -> dict[str, Any]:
    """POST /videos/delete {"ids": [...]} (members: their own videos; admins: any) or {"all": true} (admins):
    per-video {"ok", "error"}."""
    from mam import store
    from mam.library import deletion

    user = require_member(request, settings)
    body = json_body(request)
    gone: list[str] = []  # (members) ids without a record: reported done, nothing touched
    if body.get("all") is True:
        if "ids" in body:
            raise ApiError(400, "ids_or_all", "give either ids or all, not both")
        ensure_admin(user)
        found, _ = store.videos.up_to(MAX_DELETE_IDS)  # beyond that the caller sends "all" again
        videos = {v.id: v for v in found}
        ids = list(videos)
    elif "ids" in body:
        ids = id_list(body["ids"], max_items=MAX_DELETE_IDS)
        if not ids:
            raise ApiError(400, "no_ids", "ids must name at least one video")
        if not all(listing.valid_id(vid) for vid in ids):
            raise ApiError(400, "invalid_ids", "ids must hold video ids")
        videos = store.get_videos(ids)  # one batched read
        if not user.admin:
            if any(not roles.may_change(user, v) for v in videos.values()):
                raise ApiError(403, "not_owner", NOT_YOURS)  # nothing is deleted: all or none
            # An id without a record is already gone (a retry after success); a non-admin never gets to sweep
            # the leftovers of a video that is not known to be theirs.
            gone = [vid for vid in ids if vid not in videos]
            ids = [vid for vid in ids if vid in videos]
    else:
        raise ApiError(400, "ids_or_all", 'send {"ids": [...]} or {"all": true}')
    results = deletion.delete_videos(settings, ids, videos)
    results.update((vid, deletion.DeleteResult(True)) for vid in gone)
    failed = sum(1 for o in results.values() if not o.ok)
    log.info("delete requested", uid=user.uid, requested=len(ids), failed=failed, all=body.get("all") is True)
    return {"results": {vid: o.as_json() for vid, o in results.items()}}


def reset(request: flask.Request, settings: Settings) -> dict[str, Any]:
    """POST /reset (admins): delete every video and the leftovers no record owns."""
    from mam.library import deletion

    user = require_admin(request, settings)
    log.warning("library reset requested", uid=user.uid)
    return deletion.reset(settings)


def search(request: flask.Request, settings: Settings) -> dict[str, Any]:
    """GET /search?q=&options=&page_token= (a later page of an image search: page_token without q)."""
    from mam.library import search as search_mod

    require_reader(request, settings)
    token = search_mod.parse_token(request.args.get("page_token"))
    if token and not (request.args.get("q") or "").strip():
        return search_mod.search(settings, None, ["visual"], token)
    query = search_mod.parse_query(request.args.get("q"))
    options = search_mod.parse_options(request.args.get("options"))
    return search_mod.search(settings, query, options, token)


MAX_IMAGE_BODY = 5 * 1024 * 1024 + 64 * 1024  # the image plus the multipart framing


def search_image(request: flask.Request, settings: Settings) -> dict[str, Any]:
    """POST /search/image (multipart, one file field `image`): checked before any Twelve Labs call."""
    from werkzeug.exceptions import HTTPException

    from mam.library import images
    from mam.library import search as search_mod

    require_reader(request, settings)
    too_large = ApiError(images.TOO_LARGE.status, images.TOO_LARGE.code, images.TOO_LARGE.message)
    if (request.content_length or 0) > MAX_IMAGE_BODY:
        raise too_large
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise ApiError(400, "image_missing", "Send the picture as multipart/form-data in a field named image.")
    request.max_content_length = MAX_IMAGE_BODY
    try:
        upload = request.files.get("image")
        data = upload.stream.read(images.MAX_BYTES + 1) if upload is not None else None
    except HTTPException as exc:
        if exc.code == 413:
            raise too_large from None
        raise ApiError(400, "image_unreadable", "The picture could not be read from the request. Try again.") from None
    except OSError:
        raise ApiError(408, "body_timeout", "The picture did not arrive in time; send it again.") from None
    try:
        checked = images.check(data)
    except images.ImageRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    name = f"query.{'png' if checked.kind == 'png' else 'jpg'}"
    return search_mod.search(settings, None, ["visual"], None, image=(data or b"", name, checked.content_type))


def insights(request: flask.Request, settings: Settings, video_id: str) -> dict[str, Any]:
    """GET /videos/{id}/insights (readers)."""
    from mam.library import insights as insights_mod

    user = require_reader(request, settings)
    return insights_mod.show(video_id, user)


def regenerate_insights(request: flask.Request, settings: Settings, video_id: str):
    """POST /videos/{id}/insights (the uploader or an admin): a new summary, 202."""
    from mam.library import insights as insights_mod

    user = require_member(request, settings)
    result = insights_mod.regenerate(settings, video_id, user)
    log.info("insights regenerate requested", uid=user.uid, video_id=video_id)
    return result


def captions(request: flask.Request, settings: Settings, video_id: str):
    """GET /videos/{id}/captions.vtt (readers)."""
    from mam.library import insights as insights_mod

    require_reader(request, settings)
    return insights_mod.captions(video_id)


def sync(request: flask.Request, settings: Settings) -> dict[str, Any]:
    """POST /sync (admins): add every video file of the bucket's videos prefix that has no record."""
    from mam.library import discover

    user = require_admin(request, settings)
    result = discover.sync(settings)
    log.info("sync requested", uid=user.uid, added=len(result["added"]))
    return result


def b2_events(request: flask.Request, settings: Settings) -> dict[str, Any]:
    """POST /b2-events: a B2 event notification, verified on the raw body before anything else."""
    from mam.library import discover, signature

    if not settings.b2.event_signing_secret:
        raise ApiError(404, "events_not_configured", "B2 event notifications are not configured here")
    body = raw_body(request, MAX_EVENT_BODY, "notification body")
    try:
        signature.verify(settings.b2.event_signing_secret, request.headers.get(signature.HEADER), body)
    except signature.SignatureError as exc:
        log.warning("b2 event rejected", reason=exc.reason)
        raise ApiError(401, "invalid_signature", exc.reason) from None
    try:
        events = discover.parse_events(body)
    except discover.EventsError as exc:
        raise ApiError(400, "invalid_events", str(exc)) from None
    return discover.handle_events(settings, events)

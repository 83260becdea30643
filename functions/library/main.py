"""library (public): list, find, show, edit, delete, reset and search videos (by words or by a picture); a video's
insights (summary, chapters, transcript, captions) and regenerating them; discover videos put into the bucket;
GET /me."""
import flask
from mam.http import Router
from mam.library import api
from mam.settings import settings

SETTINGS = settings("http", "b2", "twelvelabs", "transloadit")  # start-up fails here, naming every bad setting
_router = Router("library", origins=SETTINGS.http.frontend_origin)


@_router.route("GET", "/me")
def _me(request: flask.Request):
    return api.me(request, SETTINGS)


@_router.route("GET", "/videos")
def _list(request: flask.Request):
    return api.list_videos(request, SETTINGS)


@_router.route("GET", "/videos/{video_id}")
def _detail(request: flask.Request, video_id: str):
    return api.get_video(request, SETTINGS, video_id)


@_router.route("PATCH", "/videos/{video_id}")
def _edit(request: flask.Request, video_id: str):
    return api.edit_video(request, SETTINGS, video_id)


@_router.route("GET", "/videos/{video_id}/insights")
def _insights(request: flask.Request, video_id: str):
    return api.insights(request, SETTINGS, video_id)


@_router.route("POST", "/videos/{video_id}/insights")
def _regenerate(request: flask.Request, video_id: str):
    return api.regenerate_insights(request, SETTINGS, video_id)


@_router.route("GET", "/videos/{video_id}/captions.vtt")
def _captions(request: flask.Request, video_id: str):
    return api.captions(request, SETTINGS, video_id)


@_router.route("POST", "/find-fields")
def _find_fields(request: flask.Request):
    return api.refresh_find_fields(request, SETTINGS)


@_router.route("POST", "/videos/delete")
def _delete(request: flask.Request):
    return api.delete(request, SETTINGS)


@_router.route("POST", "/reset")
def _reset(request: flask.Request):
    return api.reset(request, SETTINGS)


@_router.route("GET", "/search")
def _search(request: flask.Request):
    return api.search(request, SETTINGS)


@_router.route("POST", "/search/image")
def _search_image(request: flask.Request):
    return api.search_image(request, SETTINGS)


@_router.route("POST", "/sync")
def _sync(request: flask.Request):
    return api.sync(request, SETTINGS)


@_router.route("POST", "/b2-events")
def _b2_events(request: flask.Request):
    return api.b2_events(request, SETTINGS)


def library(request: flask.Request) -> flask.Response:
    """Entry point (functions-framework target)."""
    return _router(request)

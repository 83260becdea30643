"""upload_status: start an upload (video record + signed TransloadIt params), its page's heartbeat, discard an
unfinished upload, and report many videos' status."""
import flask
from mam.http import Router
from mam.settings import settings
from mam.uploads import service

SETTINGS = settings("http", "b2", "transloadit")  # start-up fails here, naming every bad setting
_router = Router("upload_status", origins=SETTINGS.http.frontend_origin)


@_router.route("POST", "/uploads")
def _start_upload(request: flask.Request):
    return service.start_upload(request, SETTINGS)


@_router.route("POST", "/uploads/{video_id}/progress")
def _progress(request: flask.Request, video_id: str):
    return service.record_progress(request, SETTINGS, video_id)


@_router.route("POST", "/uploads/{video_id}/discard")
def _discard(request: flask.Request, video_id: str):
    return service.discard_upload(request, SETTINGS, video_id)


@_router.route("POST", "/status")
def _status(request: flask.Request):
    return service.batch_status(request, SETTINGS)


def upload_status(request: flask.Request) -> flask.Response:
    """Entry point (functions-framework target)."""
    return _router(request)

"""index_videos (public: signed-in users, Twelve Labs webhook) and index_tasks (private: Cloud Tasks)."""
import flask
from mam.http import Router, json_body
from mam.settings import load_settings
from mam.tasks import task_context

SETTINGS = load_settings("http", "b2", "twelvelabs")  # start-up fails here, naming every bad setting
_public = Router("index_videos", origins=SETTINGS.frontend_origin)
_private = Router("index_tasks")


@_public.route("POST", "/index")
def _index(request: flask.Request):
    from mam.indexing import start

    return start.start(request, SETTINGS)


@_public.route("POST", "/webhook")
def _webhook(request: flask.Request):
    from mam.indexing import webhook

    return webhook.handle(request, SETTINGS)


@_private.route("POST", "/tasks/submit")
def _submit(request: flask.Request):
    from mam.indexing import worker

    return worker.submit(SETTINGS, _task_body(request), task_context(request))


@_private.route("POST", "/tasks/follow")
def _follow(request: flask.Request):
    from mam.indexing import worker

    return worker.follow(SETTINGS, _task_body(request), task_context(request))


def _task_body(request: flask.Request) -> dict:
    from mam.http import ApiError

    body = json_body(request)
    if not isinstance(body.get("video_id"), str):
        raise ApiError(400, "invalid_task", "task payload needs video_id")
    return body


def index_videos(request: flask.Request) -> flask.Response:
    """Entry point: POST /index (signed-in user), POST /webhook (Twelve Labs)."""
    return _public(request)


def index_tasks(request: flask.Request) -> flask.Response:
    """Entry point: POST /tasks/submit and /tasks/follow (Cloud Tasks only)."""
    return _private(request)

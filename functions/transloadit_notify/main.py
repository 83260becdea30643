"""transloadit_notify (public, TransloadIt signature) and upload_tasks (private, Cloud Tasks) entry points."""
import flask
from mam.http import Router
from mam.settings import settings
from mam.task_routes import UPLOAD_CHECK, UploadCheck
from mam.tasks import TaskContext
from mam.uploads import service

SETTINGS = settings("transloadit")  # start-up fails here, naming every bad setting
_notify = Router("transloadit_notify")
_tasks = Router("upload_tasks")


@_notify.route("POST", "/")
def _notification(request: flask.Request):
    return service.handle_notification(request, SETTINGS)


@UPLOAD_CHECK.serve(_tasks)
def _check(check: UploadCheck, ctx: TaskContext):
    return service.run_check(check, ctx, SETTINGS)


def transloadit_notify(request: flask.Request) -> flask.Response:
    """Entry point: TransloadIt's assembly notification (notify_url)."""
    return _notify(request)


def upload_tasks(request: flask.Request) -> flask.Response:
    """Entry point: the missed-notification safety check (UPLOAD_CHECK), called by Cloud Tasks only."""
    return _tasks(request)

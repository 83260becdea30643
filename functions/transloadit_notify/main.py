"""transloadit_notify (public, TransloadIt signature) and upload_tasks (private, Cloud Tasks) entry points."""
import flask
from mam.http import Router
from mam.settings import load_settings
from mam.uploads import service

SETTINGS = load_settings("transloadit")
_notify = Router("transloadit_notify")
_tasks = Router("upload_tasks")


@_notify.route("POST", "/")
def _notification(request: flask.Request):
    return service.handle_notification(request, SETTINGS)


@_tasks.route("POST", "/check")
def _check(request: flask.Request):
    return service.run_check(request, SETTINGS)


def transloadit_notify(request: flask.Request) -> flask.Response:
    """Entry point: TransloadIt's assembly notification (notify_url)."""
    return _notify(request)


def upload_tasks(request: flask.Request) -> flask.Response:
    """Entry point: the missed-notification safety check, called by Cloud Tasks only."""
    return _tasks(request)

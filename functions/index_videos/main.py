"""index_videos (public: members; the Twelve Labs webhook) and index_tasks (private: Cloud Tasks)."""
import flask
from mam.http import Router
from mam.settings import settings
from mam.task_routes import INDEX_FOLLOW, INDEX_SUBMIT, IndexFollow, IndexSubmit
from mam.tasks import TaskContext

SETTINGS = settings("http", "b2", "twelvelabs")  # start-up fails here, naming every bad setting
_public = Router("index_videos", origins=SETTINGS.http.frontend_origin)
_private = Router("index_tasks")


@_public.route("POST", "/index")
def _index(request: flask.Request):
    from mam.indexing import start

    return start.start(request, SETTINGS)


@_public.route("POST", "/webhook")
def _webhook(request: flask.Request):
    from mam.indexing import webhook

    return webhook.handle(request, SETTINGS)


@INDEX_SUBMIT.serve(_private)
def _submit(payload: IndexSubmit, ctx: TaskContext):
    from mam.indexing import worker

    return worker.submit(SETTINGS, payload, ctx)


@INDEX_FOLLOW.serve(_private)
def _follow(payload: IndexFollow, ctx: TaskContext):
    from mam.indexing import worker

    return worker.follow(SETTINGS, payload, ctx)


def index_videos(request: flask.Request) -> flask.Response:
    """Entry point: POST /index (members; all or re-index: admins), POST /webhook (Twelve Labs)."""
    return _public(request)


def index_tasks(request: flask.Request) -> flask.Response:
    """Entry point: INDEX_SUBMIT and INDEX_FOLLOW (mam.task_routes), called by Cloud Tasks only."""
    return _private(request)

"""insight_tasks (private: Cloud Tasks): a video's summary, chapters, tags and transcript from Twelve Labs."""
import flask
from mam.http import Router
from mam.settings import settings
from mam.task_routes import INSIGHT_FOLLOW, INSIGHT_GENERATE, InsightFollow, InsightGenerate
from mam.tasks import TaskContext

SETTINGS = settings("b2", "twelvelabs")  # start-up fails here, naming every bad setting
_private = Router("insight_tasks")


@INSIGHT_GENERATE.serve(_private)
def _generate(payload: InsightGenerate, ctx: TaskContext):
    from mam.insights import worker

    return worker.generate(SETTINGS, payload, ctx)


@INSIGHT_FOLLOW.serve(_private)
def _follow(payload: InsightFollow, ctx: TaskContext):
    from mam.insights import worker

    return worker.follow(SETTINGS, payload, ctx)


def insight_tasks(request: flask.Request) -> flask.Response:
    """Entry point: INSIGHT_GENERATE and INSIGHT_FOLLOW (mam.task_routes), called by Cloud Tasks only."""
    return _private(request)

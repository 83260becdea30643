"""iconik_handler (public: iconik custom actions, x-bz-secret) and iconik_tasks (private: Cloud Tasks) entry points.

The routes live in mam.iconik.handler; these are the functions-framework targets named in functions/manifest.yaml.
"""
import flask
from mam.iconik.handler import action_router, task_router
from mam.settings import settings

SETTINGS = settings("iconik")  # start-up fails here, naming every bad setting; the routes read this cached copy


def iconik_handler(request: flask.Request) -> flask.Response:
    """Entry point: POST /add and /remove from an iconik custom action; GET / and /health; GET /runs/<id>."""
    return action_router(request)


def iconik_tasks(request: flask.Request) -> flask.Response:
    """Entry point: POST /step, one bounded step of a run, called by Cloud Tasks only."""
    return task_router(request)

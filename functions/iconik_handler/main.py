"""iconik_handler (public: iconik custom actions, x-bz-secret) and iconik_tasks (private: Cloud Tasks) entry points.

The work lives in mam.iconik; these are the functions-framework targets named in functions/manifest.yaml.
"""
import flask
from mam.iconik.handler import ActionHandler, TaskHandler
from mam.settings import load_settings

SETTINGS = load_settings("iconik")  # start-up fails here, naming every missing or malformed setting
_action = ActionHandler(SETTINGS)
_tasks = TaskHandler(SETTINGS)


def iconik_handler(request: flask.Request) -> flask.Response:
    """Entry point: POST /add and /remove from an iconik custom action; GET / and /health."""
    return _action(request)


def iconik_tasks(request: flask.Request) -> flask.Response:
    """Entry point: POST /step, one bounded step of a run, called by Cloud Tasks only."""
    return _tasks(request)

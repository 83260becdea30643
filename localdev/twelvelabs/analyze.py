"""`POST /analyze` (JSON or NDJSON stream) and `/analyze/tasks` of the local Twelve Labs: the answer is built
from what the stand-in really extracts from the video (see insights.py), cached by the file's SHA-256."""
from __future__ import annotations

import json
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, request

from . import analyze_request as areq
from . import insights
from .analyze_tasks import AnalyzeTasks, data_dir_for
from .errors import ApiError
from .generate import Generation, generate
from .pipeline import Limits, Pipeline

bp = Blueprint("analyze", __name__)
STREAM_CHUNK = 24  # characters per text_generation event


def run(pipeline: Pipeline, req: areq.AnalyzeRequest, limits: Limits) -> tuple[Generation, float]:
    """Fetch, check and understand the request's video, then answer it: (generation, video duration)."""
    path = areq.video_file(req, pipeline, data_dir_for(pipeline.config.data_dir))
    try:
        facts = areq.probe_checked(path, pipeline, limits, req)
        understanding = pipeline.understanding_of(path, speech=facts.has_audio)
    finally:
        areq.remove(path)
    ins = insights.build(understanding, facts.duration, req.start_time, req.end_time)
    seed = (req.video or {}).get("url") or str(facts.size)
    return generate(ins, req.prompt, req.json_schema(), req.max_tokens, seed), facts.duration


def _runtime():
    return current_app.extensions["twelvelabs"]


def _tasks() -> AnalyzeTasks:
    return current_app.extensions["twelvelabs.analyze"]


@bp.post("/analyze")
def analyze():
    req = areq.parse(request.get_json(silent=True), asynchronous=False)
    gen, _ = run(_runtime().pipeline, req, areq.SYNC_LIMITS)
    if not req.stream:
        body = {"id": gen.id, "data": gen.data, "finish_reason": gen.finish_reason, "usage": gen.usage()}
        if gen.warning:
            body["error"] = {"message": gen.warning}
        return body
    return Response(_events(gen), mimetype="application/x-ndjson")


def _events(gen: Generation) -> Iterator[str]:
    """NDJSON: stream_start, text_generation pieces, stream_end (with usage and any truncation warning)."""
    yield json.dumps({"event_type": "stream_start", "metadata": {"generation_id": gen.id}}) + "\n"
    for i in range(0, len(gen.data), STREAM_CHUNK):
        yield json.dumps({"event_type": "text_generation", "text": gen.data[i:i + STREAM_CHUNK]}) + "\n"
    end: dict = {"event_type": "stream_end", "finish_reason": gen.finish_reason,
                 "metadata": {"generation_id": gen.id, "usage": gen.usage()}}
    if gen.warning:
        end["error"] = {"message": gen.warning}
    yield json.dumps(end) + "\n"


@bp.post("/analyze/tasks")
def create_task():
    req = areq.parse(request.get_json(silent=True), asynchronous=True)
    task = _tasks().create(req)
    return {"task_id": task.id, "status": task.status}, 201


@bp.get("/analyze/tasks")
def list_tasks():
    args = request.args
    try:
        page = int(args.get("page") or 1)
        limit = int(args.get("page_limit") or 10)
    except ValueError:
        raise ApiError(400, "parameter_invalid", "page and page_limit must be integers.") from None
    if page < 1 or not 1 <= limit <= 50:
        raise ApiError(400, "parameter_invalid", "page must be >= 1 and page_limit between 1 and 50.")
    items = _tasks().listing(args.get("status"), args.get("video_url"), args.get("asset_id"),
                             args.get("analysis_mode"))
    chunk = items[(page - 1) * limit: page * limit]
    return {"data": [t.json() for t in chunk],
            "page_info": {"limit_per_page": limit, "page": page, "total_page": max(1, -(-len(items) // limit)),
                          "total_results": len(items)}}


@bp.get("/analyze/tasks/<task_id>")
def get_task(task_id: str):
    tasks = _tasks()
    with tasks.lock:
        return tasks.get(task_id).json()


@bp.delete("/analyze/tasks/<task_id>")
def delete_task(task_id: str):
    _tasks().delete(task_id)
    return "", 204


@bp.post("/analyze/tasks/<task_id>/cancel")
def cancel_task(task_id: str):
    task = _tasks().cancel(task_id)
    return {"task_id": task.id, "status": task.status}


def make_tasks(pipeline: Pipeline, webhooks, seconds: float) -> AnalyzeTasks:
    """The async task store, doing its work with `run` under the async limits."""
    return AnalyzeTasks(webhooks, lambda req: run(pipeline, req, areq.ASYNC_LIMITS), seconds)


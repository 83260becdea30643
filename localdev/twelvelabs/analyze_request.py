"""Checks of an `analyze` request body (sync `POST /analyze` and async `POST /analyze/tasks`) as SDK 1.3.6
documents them, and getting the video it names onto disk."""
from __future__ import annotations

import base64
import binascii
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any

from . import media, schema
from .errors import ApiError
from .pipeline import Limits, Pipeline, Rejected

MODELS = ("pegasus1.5", "pegasus1.6")   # AnalyzeRequestModelName in SDK 1.3.6; the default is pegasus1.5
# SDK 1.3.6 docstrings: sync analysis 1 s .. 1 h, async 1 s .. 2 h of video; 360x360 .. 5184x2160
SYNC_LIMITS = Limits(min_duration=1.0, max_duration=3600.0)
ASYNC_LIMITS = Limits(min_duration=1.0, max_duration=7200.0)
SYNC_KEYS = {"model_name", "video", "image", "prompt", "prompt_v2", "temperature", "response_format", "max_tokens",
             "start_time", "end_time", "stream"}
ASYNC_KEYS = (SYNC_KEYS - {"stream"}) | {"custom_id", "analysis_mode", "min_segment_duration",
                                         "max_segment_duration"}
MAX_BASE64_BYTES = 30 * 1024**2  # inline video; the docs put no number on it, a request this big is plenty
_CUSTOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass
class AnalyzeRequest:
    """A checked analyze request."""

    model_name: str
    video: dict | None
    images: list[dict] | None
    prompt: str | None
    temperature: float
    max_tokens: int | None
    response_format: dict | None
    start_time: float | None
    end_time: float | None
    stream: bool = False
    custom_id: str | None = None
    analysis_mode: str = "general"

    def json_schema(self) -> dict | None:
        return (self.response_format or {}).get("json_schema") if self.response_format else None

    def params_json(self) -> dict:
        """`request_params` of an async task as the API echoes it."""
        out: dict[str, Any] = {"analysis_mode": self.analysis_mode, "prompt": self.prompt,
                               "temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.response_format:
            out["response_format"] = self.response_format
        if self.start_time is not None:
            out["start_time"] = self.start_time
        if self.end_time is not None:
            out["end_time"] = self.end_time
        return out


def _bad(message: str, code: str = "parameter_invalid", status: int = 400) -> ApiError:
    return ApiError(status, code, message)


def _number(body: dict, key: str) -> float | None:
    val = body.get(key)
    if val is None:
        return None
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise _bad(f"The {key} parameter is invalid: it must be a number.")
    return float(val)


def parse(body: Any, asynchronous: bool) -> AnalyzeRequest:
    """Check an analyze body; ApiError with the API's status/code for anything it refuses."""
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    allowed = ASYNC_KEYS if asynchronous else SYNC_KEYS
    unknown = [k for k, v in body.items() if k not in allowed and v is not None]
    if unknown:
        raise _bad(f"The {unknown[0]} parameter is unknown.", "parameter_unknown")
    model = body.get("model_name") or "pegasus1.5"
    if model not in MODELS:
        raise _bad(f"The model_name parameter is invalid: use one of {', '.join(MODELS)}.")
    video, images = body.get("video"), body.get("image")
    if video is not None and images is not None:
        raise _bad("Provide a video or images, not both.")
    if video is None and images is None:
        raise _bad("The video parameter is required but was not provided.", "parameter_not_provided")
    prompt, prompt_v2 = body.get("prompt"), body.get("prompt_v2")
    if prompt is not None and prompt_v2 is not None:
        raise _bad("prompt and prompt_v2 are mutually exclusive.")
    if prompt_v2 is not None:
        raise _bad("The local Twelve Labs does not implement prompt_v2 (reference images); use prompt.")
    if prompt is not None and not isinstance(prompt, str):
        raise _bad("The prompt parameter is invalid: it must be a string.")
    if video is not None:
        _check_video(video)
    else:
        _check_images(images, model, prompt)
    temperature = _number(body, "temperature")
    if temperature is not None and not 0 <= temperature <= 1:
        raise _bad("The temperature parameter is invalid: it must be between 0 and 1.")
    max_tokens = body.get("max_tokens")
    lo = 512 if asynchronous else 1
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                   or not lo <= max_tokens <= 98304):
        raise _bad(f"The max_tokens parameter is invalid: it must be an integer between {lo} and 98304.")
    mode = body.get("analysis_mode") or "general"
    if asynchronous:
        if mode not in ("general", "time_based_metadata"):
            raise _bad("The analysis_mode parameter is invalid: use general or time_based_metadata.")
        if mode == "time_based_metadata":
            raise _bad("The local Twelve Labs does not implement time_based_metadata (video segmentation).")
        cid = body.get("custom_id")
        if cid is not None and (not isinstance(cid, str) or not _CUSTOM_ID.match(cid)):
            raise _bad("The custom_id parameter is invalid: 1-64 letters, digits, hyphens or underscores.")
        for key in ("min_segment_duration", "max_segment_duration"):
            if body.get(key) is not None:
                raise _bad(f"{key} requires analysis_mode time_based_metadata.")
    fmt = body.get("response_format")
    if fmt is not None:
        if not isinstance(fmt, dict):
            raise _bad("The response_format parameter is invalid: it must be an object.")
        allowed_types = ("json_schema", "segment_definitions") if asynchronous else ("json_schema",)
        if fmt.get("type") not in allowed_types:
            raise _bad(f"response_format.type must be {' or '.join(allowed_types)}.")
        if fmt["type"] == "segment_definitions":
            raise _bad("response_format.type segment_definitions requires analysis_mode time_based_metadata.")
        if "json_schema" not in fmt:
            raise _bad("response_format.json_schema is required but was not provided.", "parameter_not_provided")
        try:
            schema.check(fmt["json_schema"])
        except schema.SchemaError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
    start, end = _number(body, "start_time"), _number(body, "end_time")
    if start is not None and start < 0:
        raise _bad("The start_time parameter is invalid: it must not be negative.")
    if start is not None and end is not None and end - start < 1:
        raise _bad("end_time must be at least 1 second after start_time.")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad("The stream parameter is invalid: it must be a boolean.")
    return AnalyzeRequest(model_name=model, video=video, images=images, prompt=prompt,
                          temperature=0.2 if temperature is None else temperature, max_tokens=max_tokens,
                          response_format=fmt, start_time=start, end_time=end, stream=stream,
                          custom_id=body.get("custom_id"), analysis_mode=mode)


def _check_video(video: Any) -> None:
    if not isinstance(video, dict) or video.get("type") not in ("url", "asset_id", "base64_string"):
        raise _bad("The video parameter is invalid: set type to url, asset_id or base64_string.")
    field = video["type"]
    if not isinstance(video.get(field), str) or not video[field]:
        raise _bad(f"The video parameter is invalid: video.{field} is required.", "parameter_not_provided")
    if field == "url" and not re.match(r"^https?://[^/\s]+", video["url"]):
        raise _bad("The video parameter is invalid: video.url must be an http(s) URL of the raw media file.")


def _check_images(images: Any, model: str, prompt: str | None) -> None:
    if not isinstance(images, list) or not 1 <= len(images) <= 20:
        raise _bad("The image parameter is invalid: provide one to twenty images.")
    if model != "pegasus1.6":
        raise _bad("Analyzing images requires model_name pegasus1.6.")
    if not prompt:
        raise _bad("The prompt parameter is required when you provide images.", "parameter_not_provided")
    names = set()
    for img in images:
        if not isinstance(img, dict) or not isinstance(img.get("name"), str) or not _IMAGE_NAME.match(img["name"]):
            raise _bad("Each image needs a name made of letters, digits and underscores.")
        if img["name"] in names:
            raise _bad(f"The image name {img['name']} is used twice.")
        names.add(img["name"])
        if sum(1 for k in ("url", "asset_id", "base64_string") if img.get(k)) != 1:
            raise _bad(f"Image {img['name']}: include exactly one of url, asset_id or base64_string.")
    raise _bad("The local Twelve Labs analyzes videos only; image analysis (Pegasus 1.6) is not implemented.")


def video_file(req: AnalyzeRequest, pipeline: Pipeline, folder: str) -> str:
    """Put the request's video on disk (fetched or decoded); ApiError when it cannot be had."""
    os.makedirs(folder, exist_ok=True)
    video = req.video or {}
    path = os.path.join(folder, f"{uuid.uuid4().hex}.mp4")
    if video.get("type") == "asset_id":
        raise ApiError(404, "resource_not_exist", f"The asset {video['asset_id']} does not exist.")
    if video.get("type") == "base64_string":
        try:
            raw = base64.b64decode(video["base64_string"] + "=" * (-len(video["base64_string"]) % 4),
                                   validate=True)
        except (binascii.Error, ValueError):
            raise _bad("video.base64_string is not valid base64.") from None
        if len(raw) > MAX_BASE64_BYTES:
            raise _bad("video.base64_string is larger than 30 MB; pass a URL instead.")
        with open(path, "wb") as fh:
            fh.write(raw)
        return path
    try:
        pipeline.download(video["url"], path)
    except Rejected as exc:
        _remove(path)
        raise ApiError(400, exc.code, exc.message) from None
    return path


def probe_checked(path: str, pipeline: Pipeline, limits: Limits, req: AnalyzeRequest) -> media.Probe:
    """ffprobe facts of the video, refused (ApiError 400) like the API when outside `limits` or the window."""
    try:
        facts = media.probe(path)
    except media.MediaError as exc:
        raise ApiError(400, "video_file_broken", f"The video file could not be decoded: {exc}.") from None
    problem = pipeline.check(facts, limits)
    if problem:
        raise ApiError(400, *problem)
    if req.start_time is not None and req.start_time >= facts.duration:
        raise _bad("start_time must be less than the video duration.")
    if req.end_time is not None and req.end_time > facts.duration + 0.05:
        raise _bad("end_time must be less than or equal to the video duration.")
    return facts


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


remove = _remove

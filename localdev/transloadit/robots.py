"""The robots our templates use: /upload/handle, /backblaze/import, /video/encode, /video/thumbs (ffmpeg) and
/backblaze/store (S3)."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from . import media
from .config import Settings
from .model import Assembly, FileRecord, new_id
from .variables import VariableError, context, interpolate


class RobotError(Exception):
    """A step failed; becomes the assembly's `error` (code), `message` and `reason`."""

    def __init__(self, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason


@dataclass
class RobotContext:
    """What a robot needs: settings, the assembly, a scratch dir, per-file unique prefixes, and an S3 client."""

    settings: Settings
    assembly: Assembly
    workdir: str
    prefixes: dict[str, str] = field(default_factory=dict)
    _s3: Any = None
    _s3_lock: threading.Lock = field(default_factory=threading.Lock)

    def s3(self) -> Any:
        with self._s3_lock:
            if self._s3 is None:
                # lazy: only assemblies that store need boto3
                from localdev.b2.client import s3_client

                s = self.settings
                self._s3 = s3_client(s.s3_endpoint, key_id=s.s3_access_key, secret=s.s3_secret_key,
                                     region=s.s3_region, retries={"max_attempts": 4, "mode": "standard"},
                                     connect_timeout=5, read_timeout=60)
            return self._s3


Input = tuple[str, FileRecord]  # (name of the step that produced it, file)
RobotFn = Callable[[RobotContext, str, dict[str, Any], list[Input]], list[FileRecord]]


def md5_of(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def derived_file(source: FileRecord, path: str, ext: str, mime: str, name: str | None = None) -> FileRecord:
    """A new result file made from `source` (keeps original_* so results map back to the upload)."""
    basename = source.basename
    name = name or f"{basename}.{ext}"
    return FileRecord(
        id=new_id(),
        name=name,
        basename=os.path.splitext(name)[0],
        ext=ext,
        size=os.path.getsize(path),
        mime=mime,
        field=source.field,
        original_id=source.original_id,
        original_name=source.original_name,
        original_basename=source.original_basename,
        original_md5hash=source.original_md5hash,
        md5hash=md5_of(path),
        path=path,
        user_meta=dict(source.user_meta),
    )


# ---- /upload/handle ---------------------------------------------------------------------------------------
def upload_handle(ctx: RobotContext, step: str, params: dict[str, Any], inputs: list[Input]) -> list[FileRecord]:
    """Uploads pass through unchanged (the `:original` step)."""
    return [f for _, f in inputs]


# ---- /video/encode ----------------------------------------------------------------------------------------
# Preset defaults (size + codecs). The stand-in always encodes H.264/AAC MP4 with "veryfast" to keep tests quick.
PRESETS: dict[str, dict[str, Any]] = {
    "empty": {},
    "ipad-high": {"width": 1024, "height": 768},
    "iphone-high": {"width": 480, "height": 320},
    "web/mp4/360p": {"width": 640, "height": 360},
    "web/mp4/480p": {"width": 854, "height": 480},
    "web/mp4/540p": {"width": 960, "height": 540},
    "web/mp4/720p": {"width": 1280, "height": 720},
    "web/mp4/1080p": {"width": 1920, "height": 1080},
}
RESIZE_STRATEGIES = ("fit", "min_fit", "pad", "stretch", "crop", "fillcrop")
_FFMPEG_KEY = re.compile(r"^[a-z][a-z0-9_:]*$")
_FORBIDDEN_KEYS = {"i", "y", "n", "f", "map", "filter_complex", "lavfi", "dump_attachment", "attach"}
_ALIASES = {"vcodec": "c:v", "acodec": "c:a", "codec:v": "c:v", "codec:a": "c:a", "vb": "b:v", "ab": "b:a"}


def scale_filter(width: int | None, height: int | None, strategy: str) -> str:
    """ffmpeg -vf chain for a TransloadIt resize strategy; dimensions always even (H.264 needs it)."""
    if not width and not height:
        return "scale=trunc(iw/2)*2:trunc(ih/2)*2"
    if not width or not height:
        return f"scale={width or -2}:{height or -2}"
    if strategy == "stretch":
        return f"scale={width}:{height},setsar=1"
    if strategy in ("crop", "fillcrop"):
        return f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1"
    if strategy == "pad":
        return (
            f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1"
        )
    # fit / min_fit: fit inside the box, keep the aspect ratio, never upscale (documented stand-in choice).
    return (
        f"scale=w='min({width},iw)':h='min({height},ih)':force_original_aspect_ratio=decrease:"
        "force_divisible_by=2,setsar=1"
    )


def validate_encode(params: dict[str, Any]) -> str | None:
    """Problem with /video/encode params, or None."""
    preset = params.get("preset", "empty")
    if preset not in PRESETS:
        return f"preset {preset!r} is not supported by the local stand-in (supported: {', '.join(PRESETS)})"
    if params.get("resize_strategy", "pad") not in RESIZE_STRATEGIES:
        return f"resize_strategy must be one of {', '.join(RESIZE_STRATEGIES)}"
    for key in ("width", "height"):
        if key in params and not (isinstance(params[key], int) and 1 <= params[key] <= 8192):
            return f"{key} must be an integer between 1 and 8192"
    ff = params.get("ffmpeg", {})
    if not isinstance(ff, dict):
        return "ffmpeg must be an object of ffmpeg options"
    for key, val in ff.items():
        k = _ALIASES.get(key, key)
        if not _FFMPEG_KEY.match(k) or k in _FORBIDDEN_KEYS or isinstance(val, (dict, list)):
            return f"ffmpeg option {key!r} is not allowed"
    return None


def video_encode(ctx: RobotContext, step: str, params: dict[str, Any], inputs: list[Input]) -> list[FileRecord]:
    """Encode each video input to an H.264/AAC MP4 (faststart). Inputs without a video stream are skipped."""
    preset = PRESETS[params.get("preset", "empty")]
    width = params.get("width", preset.get("width"))
    height = params.get("height", preset.get("height"))
    strategy = params.get("resize_strategy", "pad")
    options: dict[str, str] = {
        "c:v": "libx264",
        "preset": "veryfast",
        "crf": "23",
        "pix_fmt": "yuv420p",
        "profile:v": "high",
        "c:a": "aac",
        "b:a": "128k",
        "ac": "2",
        "movflags": "+faststart",
    }
    for key, val in (params.get("ffmpeg") or {}).items():
        options[_ALIASES.get(key, key)] = str(val)
    out: list[FileRecord] = []
    for _, src in inputs:
        if not src.meta.get("has_video"):
            ctx.assembly.warnings.append({"level": "notice", "msg": f"{step}: skipped {src.name}: no video stream"})
            continue
        dest = os.path.join(ctx.workdir, f"{step.strip(':')}-{new_id()}.mp4")
        cmd = [ctx.settings.ffmpeg_bin, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", src.path]
        cmd += ["-map", "0:v:0", "-map", "0:a:0?", "-vf", scale_filter(width, height, strategy)]
        for key, val in options.items():
            cmd += [f"-{key}", val]
        cmd.append(dest)
        started = time.time()
        try:
            media.run(cmd, ctx.settings.ffmpeg_timeout)
        except media.MediaError as exc:
            raise RobotError("VIDEO_ENCODE_ERROR", f"Could not encode {src.name}: {exc}", exc.detail) from exc
        result = derived_file(src, dest, "mp4", "video/mp4")
        result.meta = media.probe(dest, ctx.settings.ffprobe_bin)
        result.exec_time = round(time.time() - started, 3)
        out.append(result)
    return out


# ---- /video/thumbs ----------------------------------------------------------------------------------------
def validate_thumbs(params: dict[str, Any]) -> str | None:
    count = params.get("count", 8)
    if not isinstance(count, int) or not 1 <= count <= 999:
        return "count must be an integer between 1 and 999"
    offsets = params.get("offsets")
    if offsets is not None:
        if not isinstance(offsets, list) or not offsets:
            return "offsets must be a non-empty array of seconds or percentages"
        for off in offsets:
            if isinstance(off, str) and re.fullmatch(r"\d+(\.\d+)?%", off):
                continue
            if isinstance(off, (int, float)) and not isinstance(off, bool) and off >= 0:
                continue
            return f"offset {off!r} must be seconds (number) or a percentage string like \"10%\""
    if params.get("format", "jpeg") not in ("jpg", "jpeg", "png"):
        return "format must be jpg, jpeg or png"
    if params.get("resize_strategy", "pad") not in RESIZE_STRATEGIES:
        return f"resize_strategy must be one of {', '.join(RESIZE_STRATEGIES)}"
    return None


def thumb_offsets(params: dict[str, Any], duration: float) -> list[float]:
    """Seconds at which to grab frames, as TransloadIt documents them: `offsets` (seconds, or "N%" of the duration)
    take precedence over `count`, and out-of-range offsets are silently ignored; else `count` frames at regular
    intervals (count 3 -> 25 %, 50 %, 75 %)."""
    last = max(duration - 0.05, 0.0)  # the last frame starts a little before the end
    if params.get("offsets"):
        secs = []
        for off in params["offsets"]:
            value = duration * float(off[:-1]) / 100 if isinstance(off, str) else float(off)
            if value > duration:
                continue
            secs.append(min(value, last))
        return secs
    count = params.get("count", 8)
    return [min(duration * (i + 1) / (count + 1), last) for i in range(count)]


def video_thumbs(ctx: RobotContext, step: str, params: dict[str, Any], inputs: list[Input]) -> list[FileRecord]:
    """Grab still frames from each video input."""
    fmt = params.get("format", "jpeg")
    ext = "png" if fmt == "png" else "jpg"
    mime = "image/png" if ext == "png" else "image/jpeg"
    strategy = params.get("resize_strategy", "pad")
    out: list[FileRecord] = []
    for _, src in inputs:
        if not src.meta.get("has_video"):
            ctx.assembly.warnings.append({"level": "notice", "msg": f"{step}: skipped {src.name}: no video stream"})
            continue
        duration = float(src.meta.get("duration") or 0.0)
        offsets = thumb_offsets(params, duration)
        if not offsets:
            ctx.assembly.warnings.append({"level": "notice", "msg": f"{step}: every offset is past the end of {src.name}"})
        for index, offset in enumerate(offsets):
            dest = os.path.join(ctx.workdir, f"{step.strip(':')}-{new_id()}.{ext}")
            vf = scale_filter(params.get("width"), params.get("height"), strategy)
            started = time.time()
            for seek in (offset, 0.0):  # a seek past the last frame yields nothing: fall back to the start
                cmd = [ctx.settings.ffmpeg_bin, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
                cmd += ["-ss", f"{seek:.3f}", "-i", src.path, "-frames:v", "1", "-vf", vf]
                cmd += (["-q:v", "3"] if ext == "jpg" else []) + [dest]
                try:
                    media.run(cmd, ctx.settings.ffmpeg_timeout)
                except media.MediaError as exc:
                    raise RobotError("VIDEO_THUMBS_ERROR", f"Could not extract a thumbnail: {exc}", exc.detail) from exc
                if os.path.exists(dest) and os.path.getsize(dest) > 0:
                    break
            else:
                raise RobotError("VIDEO_THUMBS_ERROR", f"No frame could be extracted from {src.name}")
            result = derived_file(src, dest, ext, mime, name=f"{src.basename}_{index}.{ext}")
            result.meta = {**media.image_size(dest, ctx.settings.ffprobe_bin), "thumb_index": index,
                           "thumb_offset": round(offset, 3)}
            result.exec_time = round(time.time() - started, 3)
            out.append(result)
    return out


# ---- /backblaze/import ------------------------------------------------------------------------------------
def validate_import(params: dict[str, Any], settings: Settings) -> str | None:
    problem = validate_store(params, settings)
    if problem:
        return problem
    paths = params.get("path")
    paths = [paths] if isinstance(paths, str) else paths
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p.strip("/") for p in paths):
        return "path must be a file or directory path in the bucket, or an array of them"
    if "recursive" in params and not isinstance(params["recursive"], bool):
        return "recursive must be true or false"
    return None


def _import_keys(ctx: RobotContext, bucket: str, path: str, recursive: bool) -> list[tuple[str, int]]:
    """(key, size) of the objects a path names: a directory ("a/b/") lists its files, else the file itself."""
    s3 = ctx.s3()
    if not path.endswith("/"):
        try:
            head = s3.head_object(Bucket=bucket, Key=path)
        except Exception as exc:
            raise RobotError("BACKBLAZE_IMPORT_NOT_FOUND", f"The file {path} was not found in bucket {bucket}",
                             type(exc).__name__) from exc
        return [(path, int(head.get("ContentLength") or 0))]
    found: list[tuple[str, int]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=path,
                                                             **({} if recursive else {"Delimiter": "/"})):
        found += [(o["Key"], int(o["Size"])) for o in page.get("Contents") or [] if not o["Key"].endswith("/")]
    return found


def backblaze_import(ctx: RobotContext, step: str, params: dict[str, Any], inputs: list[Input]) -> list[FileRecord]:
    """Download the named objects from the bucket; each becomes a file with TransloadIt's upload meta (ffprobe)."""
    bucket = _bucket(params, ctx.settings)
    paths = params["path"] if isinstance(params["path"], list) else [params["path"]]
    out: list[FileRecord] = []
    for path in paths:
        for key, _size in _import_keys(ctx, bucket, path.lstrip("/"), bool(params.get("recursive", False))):
            started = time.time()
            name = key.rsplit("/", 1)[-1]
            dest = os.path.join(ctx.workdir, f"import-{new_id()}")
            try:
                ctx.s3().download_file(bucket, key, dest)
            except Exception as exc:
                raise RobotError("BACKBLAZE_IMPORT_FAILURE", f"Could not import {key} from bucket {bucket}",
                                 type(exc).__name__) from exc
            file_id = new_id()
            digest = md5_of(dest)
            record = FileRecord(id=file_id, name=name, basename=os.path.splitext(name)[0],
                                ext=os.path.splitext(name)[1].lstrip(".").lower(), size=os.path.getsize(dest),
                                mime=mimetypes.guess_type(name)[0] or "application/octet-stream", field=None,
                                original_id=file_id, original_name=name, original_basename=os.path.splitext(name)[0],
                                original_md5hash=digest, md5hash=digest, path=dest, user_meta={})
            record.meta = media.probe(dest, ctx.settings.ffprobe_bin)
            record.url = record.ssl_url = object_url(ctx.settings, bucket, key)
            record.exec_time = round(time.time() - started, 3)
            out.append(record)
    return out


# ---- /backblaze/store -------------------------------------------------------------------------------------
def validate_store(params: dict[str, Any], settings: Settings) -> str | None:
    cred = params.get("credentials")
    inline = all(params.get(k) for k in ("bucket", "app_key_id", "app_key"))
    if cred is None and not inline:
        return "give `credentials` (a Template Credential name) or `bucket`, `app_key_id` and `app_key`"
    if cred is not None and cred not in settings.credentials:
        return f"Template Credentials {cred!r} not found (the stand-in knows: {', '.join(settings.credentials)})"
    if "path" in params and not isinstance(params["path"], str):
        return "path must be a string"
    return None


def _bucket(params: dict[str, Any], settings: Settings) -> str:
    # Named credentials stand for the local bucket; an inline bucket name is honoured as given.
    return settings.bucket if params.get("credentials") is not None else str(params["bucket"])


def object_url(settings: Settings, bucket: str, key: str) -> str:
    """Where a stored object can be fetched (path-style URL on the local S3)."""
    return f"{settings.s3_endpoint.rstrip('/')}/{bucket}/{quote(key)}"


def backblaze_store(ctx: RobotContext, step: str, params: dict[str, Any], inputs: list[Input]) -> list[FileRecord]:
    """Put each input into the bucket at `path` (assembly variables allowed); results carry the object URL."""
    bucket = _bucket(params, ctx.settings)
    template = params.get("path", "${unique_prefix}/${file.url_name}")
    headers = params.get("headers") or {}
    out: list[FileRecord] = []
    for from_step, src in inputs:
        try:
            key = str(interpolate(template, context(ctx.assembly, src, from_step, ctx.prefixes))).lstrip("/")
        except VariableError as exc:
            raise RobotError("BACKBLAZE_STORE_VALIDATION", str(exc)) from exc
        if not key:
            raise RobotError("BACKBLAZE_STORE_VALIDATION", "path resolved to an empty key")
        extra: dict[str, Any] = {"ContentType": src.mime or mimetypes.guess_type(src.name)[0] or "application/octet-stream"}
        meta = {k[len("X-Bz-Info-"):].lower(): str(v) for k, v in headers.items() if k.lower().startswith("x-bz-info-")}
        if meta:
            extra["Metadata"] = meta
        for hk, arg in (("Cache-Control", "CacheControl"), ("Content-Disposition", "ContentDisposition")):
            if hk in headers:
                extra[arg] = str(headers[hk])
        started = time.time()
        try:
            ctx.s3().upload_file(src.path, bucket, key, ExtraArgs=extra)
        except Exception as exc:
            code = "BACKBLAZE_STORE_ACCESS_DENIED" if "AccessDenied" in str(exc) else "BACKBLAZE_STORE_FAILURE"
            raise RobotError(code, f"Could not store {src.name} in bucket {bucket}", type(exc).__name__) from exc
        url = object_url(ctx.settings, bucket, key)
        # Like TransloadIt: the exported location replaces the url of the stored file everywhere it appears.
        src.url = src.ssl_url = url
        stored = replace(src, meta=dict(src.meta), user_meta=dict(src.user_meta))
        stored.exec_time = round(time.time() - started, 3)
        out.append(stored)
    return out


IMPORT_ROBOTS = frozenset({"/backblaze/import"})  # take no `use`: their files come from storage
ROBOTS: dict[str, RobotFn] = {
    "/upload/handle": upload_handle,
    "/backblaze/import": backblaze_import,
    "/video/encode": video_encode,
    "/video/thumbs": video_thumbs,
    "/backblaze/store": backblaze_store,
}


def validate_step(name: str, step: dict[str, Any], settings: Settings) -> str | None:
    """Problem with a step's robot/params, or None. Checked when the assembly is created."""
    robot = step.get("robot")
    if robot not in ROBOTS:
        return f"step {name!r}: robot {robot!r} is not supported by the local stand-in ({', '.join(ROBOTS)})"
    if robot == "/upload/handle" and name != ":original":
        return f"step {name!r}: /upload/handle must be the step named ':original'"
    if robot == "/video/encode":
        problem = validate_encode(step)
    elif robot == "/video/thumbs":
        problem = validate_thumbs(step)
    elif robot == "/backblaze/store":
        problem = validate_store(step, settings)
    elif robot == "/backblaze/import":
        problem = validate_import(step, settings)
    else:
        problem = None
    return f"step {name!r}: {problem}" if problem else None

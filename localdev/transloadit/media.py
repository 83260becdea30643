"""ffprobe/ffmpeg helpers: media facts in TransloadIt's `meta` vocabulary and bounded subprocess runs."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from typing import Any


class MediaError(Exception):
    """ffmpeg/ffprobe failed or timed out; `detail` is the tail of stderr (safe to show, no secrets)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run a media tool with a deadline; raise MediaError with the stderr tail on failure."""
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{cmd[0]} timed out after {timeout:.0f}s") from exc
    except FileNotFoundError as exc:
        raise MediaError(f"{cmd[0]} is not installed") from exc
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip()[-800:]
        raise MediaError(f"{cmd[0]} exited with {proc.returncode}", tail)
    return proc


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rate(value: Any) -> float | None:
    try:
        frac = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return round(float(frac), 3) if frac else None


def probe(path: str, ffprobe: str = "ffprobe", timeout: float = 60.0) -> dict[str, Any]:
    """Media facts of a file like TransloadIt's `meta` (duration, width, height, codecs...); {} if not media."""
    try:
        proc = run(
            [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path], timeout
        )
        data = json.loads(proc.stdout or b"{}")
    except (MediaError, ValueError):
        return {}
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video" and not _is_cover(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if not video and not audio:
        return {}
    meta: dict[str, Any] = {
        "duration": _round(_num(fmt.get("duration")) or _num((video or audio or {}).get("duration"))),
        "overall_bitrate": _int(fmt.get("bit_rate")),
        "format_name": fmt.get("format_name"),
        "has_video": video is not None,
        "has_audio": audio is not None,
        "seekable": True,
    }
    if video:
        width, height = _int(video.get("width")), _int(video.get("height"))
        rotation = _rotation(video)
        if rotation in (90, 270) and width and height:
            width, height = height, width
        meta.update(
            {
                "width": width,
                "height": height,
                "framerate": _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")),
                "video_codec": video.get("codec_name"),
                "video_bitrate": _int(video.get("bit_rate")),
                "rotation": rotation,
                "aspect_ratio": round(width / height, 3) if width and height else None,
                "num_frames": _int(video.get("nb_frames")),
            }
        )
    if audio:
        meta.update(
            {
                "audio_codec": audio.get("codec_name"),
                "audio_bitrate": _int(audio.get("bit_rate")),
                "audio_samplerate": _int(audio.get("sample_rate")),
                "audio_channels": _int(audio.get("channels")),
            }
        )
    return meta


def image_size(path: str, ffprobe: str = "ffprobe", timeout: float = 30.0) -> dict[str, Any]:
    """Width/height of an image (thumbnails)."""
    try:
        proc = run([ffprobe, "-v", "error", "-print_format", "json", "-show_streams", path], timeout)
        stream = (json.loads(proc.stdout or b"{}").get("streams") or [{}])[0]
    except (MediaError, ValueError, IndexError):
        return {}
    return {"width": _int(stream.get("width")), "height": _int(stream.get("height"))}


def _is_cover(stream: dict[str, Any]) -> bool:
    return bool((stream.get("disposition") or {}).get("attached_pic"))


def _rotation(stream: dict[str, Any]) -> int:
    tags = stream.get("tags") or {}
    if "rotate" in tags:
        return int(_num(tags["rotate"]) or 0) % 360
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(-(_num(side["rotation"]) or 0)) % 360
    return 0


def _int(value: Any) -> int | None:
    num = _num(value)
    return int(num) if num is not None else None


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None

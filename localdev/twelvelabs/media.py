"""ffprobe/ffmpeg helpers of the local Twelve Labs: media facts, thumbnails, frames and speech audio."""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

FFMPEG = os.environ.get("FFMPEG", "ffmpeg")
FFPROBE = os.environ.get("FFPROBE", "ffprobe")
SPEECH_RATE = 16000  # pocketsphinx's en-us model is trained on 16 kHz audio


class MediaError(Exception):
    """The file is not a video ffmpeg can read."""


@dataclass(frozen=True)
class Probe:
    """Facts about a video file, as ffprobe sees them."""

    duration: float
    width: int
    height: int
    fps: float
    size: int
    has_audio: bool


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{Path(args[0]).name} timed out") from exc


def probe(path: str) -> Probe:
    """ffprobe facts of `path`; MediaError when it has no decodable video stream."""
    out = _run([FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path], 60)
    if out.returncode != 0:
        raise MediaError("ffprobe cannot read the file")
    info = json.loads(out.stdout or b"{}")
    streams = info.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not (s.get("disposition") or {}).get("attached_pic")), None)
    if video is None:
        raise MediaError("the file has no video stream")
    fmt = info.get("format") or {}
    duration = _float(fmt.get("duration")) or _float(video.get("duration"))
    num, _, den = str(video.get("avg_frame_rate") or "0/1").partition("/")
    fps = _float(num) / (_float(den) or 1.0)
    return Probe(
        duration=round(duration, 3),
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        fps=round(fps, 3),
        size=int(_float(fmt.get("size")) or os.path.getsize(path)),
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
    )


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def thumbnail(path: str, at: float, out: str, width: int = 640) -> None:
    """Write one JPEG frame of `path` at second `at` to `out`."""
    res = _run([FFMPEG, "-nostdin", "-v", "error", "-y", "-ss", f"{max(at, 0):.3f}", "-i", path, "-frames:v", "1",
                "-vf", f"scale={width}:-2", "-q:v", "4", out], 60)
    if res.returncode != 0 or not os.path.exists(out):
        raise MediaError("ffmpeg could not extract a thumbnail")


def frames(path: str, every: float, out_dir: str, max_frames: int, extra: str = "") -> list[tuple[float, str]]:
    """Grey PNG frames every `every` seconds (at most `max_frames`), scaled up for OCR, then the `extra` filter
    if any: [(time, file)]."""
    res = _run([FFMPEG, "-nostdin", "-v", "error", "-y", "-i", path, "-an",
                "-vf", f"fps=1/{every:.3f},scale=-2:'max(ih,720)',format=gray{',' + extra if extra else ''}",
                "-frames:v", str(max_frames), os.path.join(out_dir, "f%05d.png")], 300)
    if res.returncode != 0:
        return []
    names = sorted(n for n in os.listdir(out_dir) if n.startswith("f") and n.endswith(".png"))
    # the fps filter puts frame k at k*every (rounded to the nearest input frame)
    return [(k * every, os.path.join(out_dir, n)) for k, n in enumerate(names)]


def speech_pcm(path: str) -> bytes:
    """Mono 16 kHz s16le audio of `path` with a faint fixed-seed dither (b'' if it has no audio).

    The dither matters: synthetic audio (TTS, test tones) has digitally silent gaps whose log energy breaks
    pocketsphinx's feature normalisation and ruins recognition; a -54 dB noise floor fixes that."""
    graph = (f"[0:a:0]aformat=channel_layouts=mono,aresample={SPEECH_RATE}[a];"
             f"anoisesrc=a=0.002:c=white:r={SPEECH_RATE}:seed=7,aformat=channel_layouts=mono[n];"
             "[a][n]amix=inputs=2:duration=first:normalize=0")
    res = _run([FFMPEG, "-nostdin", "-v", "error", "-i", path, "-filter_complex", graph,
                "-ac", "1", "-ar", str(SPEECH_RATE), "-f", "s16le", "-"], 600)
    return res.stdout if res.returncode == 0 else b""


def hls(path: str, out_dir: str) -> bool:
    """Remux `path` into an HLS VOD playlist `out_dir/index.m3u8` (+ .ts segments) without re-encoding."""
    res = _run([FFMPEG, "-nostdin", "-v", "error", "-y", "-i", path, "-c", "copy", "-f", "hls", "-hls_time", "4",
                "-hls_playlist_type", "vod", "-hls_segment_filename", os.path.join(out_dir, "seg%04d.ts"),
                os.path.join(out_dir, "index.m3u8")], 300)
    return res.returncode == 0

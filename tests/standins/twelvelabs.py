"""Helpers for tests and benchmarks that drive the Twelve Labs stand-in: run it on a free port, serve a folder over
HTTP, make short videos with spoken words (espeak-ng) and on-screen text (ffmpeg drawtext), alone or as hard-cut scenes."""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import requests

from localdev.processes import Service, free_port, start

_STANDIN_ENV = {"TWELVELABS_API_KEY", "TWELVELABS_WEBHOOK_URL", "TWELVELABS_WEBHOOK_SECRET",
                "TWELVELABS_INDEX_SECONDS", "TWELVELABS_ANALYZE_SECONDS", "FUNCTION_URL_INDEX_VIDEOS"}


class StandIn:
    """A running `python -m localdev.twelvelabs` process (use as a context manager)."""

    def __init__(self, *args: str, port: int | None = None, api_key: str | None = "tl-test-key",
                 env: dict[str, str] | None = None, log_path: str | None = None) -> None:
        self.port = port or free_port()
        self.api_key = api_key or "any-key"  # None: the stand-in accepts any key (stats are kept per key)
        self.root = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root}/v1.3"
        cmd = [sys.executable, "-m", "localdev.twelvelabs", "--port", str(self.port),
               *(["--api-key", api_key] if api_key else []), *args]
        # the stand-in takes defaults from these variables; a test's stand-in is configured by its arguments only
        inherited = {k: v for k, v in os.environ.items() if k not in _STANDIN_ENV}
        self.started = start(Service("twelvelabs", self.port, cmd, ready_url=f"{self.root}/health", start_seconds=20),
                             {**inherited, **(env or {})}, log_path or subprocess.DEVNULL)

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the /_admin control plane (faults, failures, webhook, stats)."""
        resp = requests.request(method, f"{self.root}/_admin{path}", timeout=10, **kwargs)
        resp.raise_for_status()
        return resp

    def stop(self) -> None:
        """Stop the stand-in (and its understanding workers)."""
        self.started.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


@contextlib.contextmanager
def serve_dir(folder: str | os.PathLike) -> Iterator[str]:
    """Serve `folder` on a free loopback port; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def make_video(path: str | os.PathLike, speech: str = "", caption: str = "", seconds: float = 6.0,
               size: str = "640x360", color: str = "navy") -> str:
    """An H.264/AAC MP4 of at least `seconds` with `speech` spoken by espeak-ng and `caption` drawn large on a
    plain background (plain backgrounds are what tesseract reads reliably)."""
    path = str(path)
    with tempfile.TemporaryDirectory(prefix="mkvideo-") as tmp:
        inputs = ["-f", "lavfi", "-i", f"color=c={color}:size={size}:rate=25"]
        if speech:
            wav = os.path.join(tmp, "speech.wav")
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", wav, speech], check=True,
                           capture_output=True)
            inputs += ["-i", wav]
            with wave.open(wav) as w:  # never cut the speech short
                seconds = max(seconds, w.getnframes() / w.getframerate() + 1.0)
        else:
            inputs += ["-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono"]
        vf = "null"
        if caption:
            txt = os.path.join(tmp, "caption.txt")
            Path(txt).write_text(caption)
            vf = (f"drawtext=textfile='{txt}':fontsize=h/9:fontcolor=white:box=1:boxcolor=black@0.6:"
                  "boxborderw=20:x=(w-text_w)/2:y=(h-text_h)/2")
        # apad + -t: the video lasts `seconds` even when the speech is shorter
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex",
                        f"[0:v]{vf}[v];[1:a]apad[a]", "-map", "[v]", "-map", "[a]", "-t", f"{seconds:.2f}",
                        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                        "-movflags", "+faststart", path], check=True, capture_output=True)
    return path


def make_scenes(path: str | os.PathLike, scenes: list[tuple[str, str, str]], seconds: float = 5.0) -> tuple[str, list[float]]:
    """An MP4 of hard-cut scenes, each `(speech, caption, colour)` made by `make_video` (at least `seconds` long)
    and joined without re-encoding; returns (path, the times where scenes 2.. start)."""
    path = str(path)
    with tempfile.TemporaryDirectory(prefix="mkscenes-") as tmp:
        parts, cuts, at = [], [], 0.0
        for i, (speech, caption, color) in enumerate(scenes):
            part = make_video(os.path.join(tmp, f"part{i}.mp4"), speech, caption, seconds=seconds, color=color)
            parts.append(part)
            if i:
                cuts.append(round(at, 2))
            at += _duration(part)
        listing = os.path.join(tmp, "parts.txt")
        Path(listing).write_text("".join(f"file '{p}'\n" for p in parts))
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", listing,
                        "-c", "copy", "-movflags", "+faststart", path], check=True, capture_output=True)
    return path, cuts


def _duration(path: str) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
                         check=True, capture_output=True, text=True)
    return float(out.stdout.strip())

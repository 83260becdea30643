"""Test videos whose first frames are blank, and a measure of how much a picture varies (blank = none).

A video that opens on black (a fade-in, a title card) is what made early-frame thumbnails useless: the first
frame and the frame at 10 % are uniform black, the picture starts later.
"""
from __future__ import annotations

import statistics
import subprocess


def make_blank_start_video(path: str, *, seconds: float = 4.0, blank: float = 0.6, width: int = 320,
                           height: int = 240) -> str:
    """A `seconds`-long H.264/AAC MP4: black for the first `blank` seconds, then ffmpeg's test pattern."""
    graph = (f"color=c=black:size={width}x{height}:rate=25:duration={blank}[a];"
             f"testsrc=size={width}x{height}:rate=25:duration={seconds - blank}[b];[a][b]concat=n=2:v=1:a=0[v]")
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-filter_complex", graph,
           "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-map", "[v]", "-map", "0:a",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
           "-shortest", path]
    subprocess.run(cmd, check=True, timeout=60, capture_output=True)
    return path


def spread(image: bytes) -> float:
    """Standard deviation of an image's grey levels (0-255): about 0 for a blank frame, tens for a picture."""
    proc = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", "pipe:0",
                           "-vf", "scale=64:-2", "-pix_fmt", "gray", "-f", "rawvideo", "pipe:1"],
                          input=image, capture_output=True, check=True, timeout=30)
    return statistics.pstdev(proc.stdout)

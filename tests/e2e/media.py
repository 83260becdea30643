"""Short test videos for the browser tests, made on the spot with ffmpeg and espeak-ng (nothing downloaded).

`make_video` writes a 640x360 H.264/AAC MP4 (faststart) with drawn text and, optionally, a sentence spoken by
espeak-ng starting `speech_at` seconds in, so search clips for a spoken word start well after 0 and end well
before the end of the video. `probe` reads back what ffprobe sees.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

SIZE = (640, 360)


@dataclass(frozen=True)
class Probe:
    """What ffprobe reads from a file."""

    duration: float
    width: int
    height: int
    video_codec: str
    audio_codec: str | None


def probe(path: str | Path) -> Probe:
    """Duration, size and codecs of a media file (ffprobe)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                          str(path)], capture_output=True, check=True, timeout=60)
    info = json.loads(out.stdout)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next((s for s in info["streams"] if s["codec_type"] == "audio"), None)
    return Probe(duration=float(info["format"]["duration"]), width=int(video["width"]), height=int(video["height"]),
                 video_codec=video["codec_name"], audio_codec=audio["codec_name"] if audio else None)


def make_video(path: str | Path, *, caption: str, speech: str = "", speech_at: float = 0.5, seconds: float = 8.0,
               color: str = "navy") -> Path:
    """Write a `seconds`-long 640x360 H.264/AAC MP4 with `caption` drawn in the middle; `speech` (espeak-ng,
    en-us) is heard from `speech_at` seconds on, else a quiet tone plays. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = SIZE
    with tempfile.TemporaryDirectory(prefix="e2e-media-") as tmp:
        inputs = ["-f", "lavfi", "-i", f"color=c={color}:size={w}x{h}:rate=25"]
        if speech:
            wav = Path(tmp) / "speech.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(wav), speech], check=True,
                           capture_output=True, timeout=60)
            with wave.open(str(wav)) as wf:
                spoken = wf.getnframes() / wf.getframerate()
            if speech_at + spoken + 0.5 > seconds:
                raise ValueError(f"the speech ({spoken:.1f} s from {speech_at} s) does not fit in {seconds} s")
            delay_ms = int(speech_at * 1000)
            inputs += ["-i", str(wav)]
            audio = f"[1:a]adelay={delay_ms}:all=1,apad,aresample=44100[a]"
        else:
            inputs += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
            audio = "[1:a]volume=0.2[a]"
        text = Path(tmp) / "caption.txt"
        text.write_text(caption)
        video = (f"[0:v]drawtext=textfile='{text}':fontsize=h/8:fontcolor=white:box=1:boxcolor=black@0.6:"
                 "boxborderw=16:x=(w-text_w)/2:y=(h-text_h)/2[v]")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex", f"{video};{audio}",
                        "-map", "[v]", "-map", "[a]", "-t", f"{seconds:.2f}", "-c:v", "libx264", "-preset", "veryfast",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", str(path)],
                       check=True, capture_output=True, timeout=120)
    return path

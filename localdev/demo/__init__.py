"""Demo content for the local stack: a few short videos made on the spot (an ffmpeg test pattern, a drawn
caption, an espeak-ng narration) put into the local bucket's videos prefix and discovered, so the library shows
something real on a fresh machine and indexing/search have words to find.

`python -m localdev.demo` (the local runner calls it after bootstrap). Idempotent: a video already in the
bucket is not made again, and discovering a known file changes nothing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Demo:
    """One demo video: file name (its title), ffmpeg lavfi pattern, on-screen caption, narration."""

    name: str
    pattern: str
    caption: str
    narration: str


DEMOS: tuple[Demo, ...] = (
    Demo("Cats_playing_on_the_floor", "testsrc2", "CATS PLAYING",
         "Two cats are playing on the kitchen floor. The grey cat chases a red ball."),
    Demo("Ocean_waves_at_sunset", "smptehdbars", "OCEAN SUNSET",
         "The ocean waves roll onto the beach at sunset. Seagulls fly over the water."),
    Demo("Mountain_bike_trail", "gradients", "BIKE TRAIL",
         "A mountain biker rides down a rocky trail in the forest and jumps over a log."),
    Demo("Cooking_tomato_pasta", "rgbtestsrc", "TOMATO PASTA",
         "Boil the pasta for ten minutes, then add the tomato sauce and fresh basil."),
)
SIZE = "640x360"       # Twelve Labs needs at least 360 px on each side
MIN_SECONDS = 6.0      # and at least 4 s; the narration decides the rest


def make_video(demo: Demo, path: Path) -> Path:
    """Render one demo video (H.264/AAC MP4, faststart) to `path`."""
    with tempfile.TemporaryDirectory(prefix="mam-demo-") as tmp:
        wav = os.path.join(tmp, "narration.wav")
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", wav, demo.narration], check=True,
                       capture_output=True, timeout=30)
        with wave.open(wav) as w:
            seconds = max(MIN_SECONDS, w.getnframes() / w.getframerate() + 1.0)
        caption = os.path.join(tmp, "caption.txt")
        Path(caption).write_text(demo.caption)
        # white text on a solid band across the pattern: what OCR (the Twelve Labs stand-in runs tesseract)
        # reads reliably; a busy pattern right behind the letters defeats it
        draw = ("drawbox=x=0:y=ih/2-ih/8:w=iw:h=ih/4:color=black:t=fill,"
                f"drawtext=textfile='{caption}':fontsize=h/8:fontcolor=white:x=(w-text_w)/2:y=(h-text_h)/2")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y",
                        "-f", "lavfi", "-i", f"{demo.pattern}=size={SIZE}:rate=12", "-i", wav,
                        "-filter_complex", f"[0:v]{draw},format=yuv420p[v];[1:a]apad[a]",
                        "-map", "[v]", "-map", "[a]", "-t", f"{seconds:.2f}",
                        # cheap to make (the runner waits for it): low frame rate, fastest preset, one thread
                        # each as the videos are made in parallel
                        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "-threads", "1",
                        "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", str(path)],
                       check=True, capture_output=True, timeout=120)
    return path


def key_of(prefix: str, demo: Demo) -> str:
    """Bucket key of a demo video."""
    return f"{prefix}{demo.name}.mp4"


def seed(demos: tuple[Demo, ...] = DEMOS) -> dict[str, list[str]]:
    """Put the demo videos that are missing into the bucket and discover every one of them.

    Needs the stack's settings in the environment (B2_*, TRANSLOADIT_*, FIRESTORE_EMULATOR_HOST, GCP_PROJECT). Returns
    {"uploaded": [keys], "added": [video ids], "known": [video ids]}.
    """
    from mam.clients import b2
    from mam.library import discover
    from mam.settings import load_settings

    for tool in ("ffmpeg", "espeak-ng"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (scripts/setup.sh installs it)")
    settings = load_settings("b2", "transloadit")  # discovering a video starts its TransloadIt processing
    storage = settings.b2
    missing = [d for d in demos if b2.head(storage, key_of(storage.videos_prefix, d)) is None]
    uploaded: list[str] = []
    if missing:
        with tempfile.TemporaryDirectory(prefix="mam-demo-") as tmp:
            def render(demo: Demo) -> tuple[Demo, Path]:
                return demo, make_video(demo, Path(tmp) / f"{demo.name}.mp4")

            with ThreadPoolExecutor(max_workers=min(4, len(missing))) as pool:
                for demo, path in pool.map(render, missing):
                    key = key_of(storage.videos_prefix, demo)
                    b2.put_bytes(storage, key, path.read_bytes(), "video/mp4")
                    uploaded.append(key)
    added, known = [], []
    for demo in demos:
        found = discover.discover_key(settings, key_of(storage.videos_prefix, demo))
        if found:
            (added if found[1] else known).append(found[0])
    return {"uploaded": uploaded, "added": added, "known": known}


def stack_environment() -> dict[str, str]:
    """The local stack's settings (ports moved by MAM_PORT_OFFSET), for a run outside the runner."""
    from localdev.stack import Stack

    return Stack(offset=int(os.environ.get("MAM_PORT_OFFSET", "0"))).env()


def main() -> int:
    """Seed the demo videos; prints one JSON log line with what it did."""
    import json
    import sys

    for k, v in stack_environment().items():
        os.environ.setdefault(k, v)  # the runner already set them; a manual run gets the stack's defaults
    for path in (os.environ["PYTHONPATH"].split(os.pathsep)):
        if path and path not in sys.path:
            sys.path.insert(0, path)
    started = time.monotonic()
    try:
        result = seed()
    except Exception as exc:  # noqa: BLE001 - a clear line for the developer, not a traceback
        print(json.dumps({"severity": "ERROR", "message": f"demo videos not seeded: {type(exc).__name__}: {exc}"}),
              flush=True)
        return 1
    print(json.dumps({"severity": "INFO", "message": "demo videos ready", "uploaded": len(result["uploaded"]),
                      "added": len(result["added"]), "known": len(result["known"]),
                      "seconds": round(time.monotonic() - started, 1)}), flush=True)
    return 0

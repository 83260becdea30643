"""Demo content for the local stack: a few short videos made on the spot (an ffmpeg test pattern, a drawn
caption, an espeak-ng narration) put into the local bucket's videos prefix and discovered, so the library shows
something real on a fresh machine and indexing/search have words to find. One of them (`MULTI_SCENE`) has three
visually distinct scenes, each with its own caption and narration, so generated chapters have real cuts to follow.

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


@dataclass(frozen=True)
class Scene:
    """One scene of a multi-scene demo: ffmpeg lavfi source, on-screen caption, narration."""

    source: str
    caption: str
    narration: str


@dataclass(frozen=True)
class MultiDemo:
    """A demo video made of scenes shown one after the other (hard cuts)."""

    name: str
    scenes: tuple[Scene, ...]


# Plain, far-apart colours: ffmpeg's scene detection sees each cut, tesseract reads each caption.
MULTI_SCENE = MultiDemo("City_tour_three_stops", (
    Scene("color=c=navy", "HARBOUR",
          "Our tour of the city starts at the harbour. The fishing boats are back from the sea."),
    Scene("color=c=darkorange", "OLD MARKET",
          "Then we walk to the old market. People buy fresh bread, fruit and cheese."),
    Scene("color=c=darkgreen", "CASTLE HILL",
          "The last stop is the castle on the hill. From the top you can see the whole city."),
))  # plain words and short sentences: what the stand-in's speech recogniser gets mostly right
SCENE_MIN_SECONDS = 5.0  # each scene; the three together last well over 15 s
SEEDED: tuple[Demo | MultiDemo, ...] = (*DEMOS, MULTI_SCENE)


def _narrate(text: str, wav: str) -> float:
    """espeak-ng `text` into `wav`; its length in seconds."""
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", wav, text], check=True, capture_output=True,
                   timeout=30)
    with wave.open(wav) as w:
        return w.getnframes() / w.getframerate()


def _band(caption_file: str) -> str:
    # white text on a solid band across the picture: what OCR (the Twelve Labs stand-in runs tesseract) reads
    # reliably; a busy pattern right behind the letters defeats it
    return ("drawbox=x=0:y=ih/2-ih/8:w=iw:h=ih/4:color=black:t=fill,"
            f"drawtext=textfile='{caption_file}':fontsize=h/8:fontcolor=white:x=(w-text_w)/2:y=(h-text_h)/2")


def make_multi_scene(out_dir: Path, demo: MultiDemo = MULTI_SCENE) -> Path:
    """Render the multi-scene demo into `out_dir` (file named after it); returns its path."""
    return make_video(demo, Path(out_dir) / f"{demo.name}.mp4")


def _make_scenes(demo: MultiDemo, path: Path) -> Path:
    """Each scene rendered with its caption and narration, joined by the concat filter in one encode."""
    with tempfile.TemporaryDirectory(prefix="mam-demo-") as tmp:
        inputs: list[str] = []
        graph: list[str] = []
        for i, scene in enumerate(demo.scenes):
            wav = os.path.join(tmp, f"narration{i}.wav")
            seconds = max(SCENE_MIN_SECONDS, _narrate(scene.narration, wav) + 1.0)
            caption = os.path.join(tmp, f"caption{i}.txt")
            Path(caption).write_text(scene.caption)
            sep = ":" if "=" in scene.source else "="
            inputs += ["-f", "lavfi", "-t", f"{seconds:.2f}", "-i", f"{scene.source}{sep}size={SIZE}:rate=12",
                       "-i", wav]
            graph.append(f"[{2 * i}:v]{_band(caption)},format=yuv420p,setsar=1[v{i}]")
            graph.append(f"[{2 * i + 1}:a]aformat=sample_rates=22050:channel_layouts=mono,apad,"
                         f"atrim=0:{seconds:.2f}[a{i}]")
        joined = "".join(f"[v{i}][a{i}]" for i in range(len(demo.scenes)))
        graph.append(f"{joined}concat=n={len(demo.scenes)}:v=1:a=1[v][a]")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex", ";".join(graph),
                        "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30",
                        "-threads", "1", "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", str(path)],
                       check=True, capture_output=True, timeout=120)
    return path


def make_video(demo: Demo | MultiDemo, path: Path) -> Path:
    """Render one demo video (H.264/AAC MP4, faststart) to `path`."""
    if isinstance(demo, MultiDemo):
        return _make_scenes(demo, path)
    with tempfile.TemporaryDirectory(prefix="mam-demo-") as tmp:
        wav = os.path.join(tmp, "narration.wav")
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", wav, demo.narration], check=True,
                       capture_output=True, timeout=30)
        with wave.open(wav) as w:
            seconds = max(MIN_SECONDS, w.getnframes() / w.getframerate() + 1.0)
        caption = os.path.join(tmp, "caption.txt")
        Path(caption).write_text(demo.caption)
        draw = _band(caption)
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


def key_of(prefix: str, demo: Demo | MultiDemo) -> str:
    """Bucket key of a demo video."""
    return f"{prefix}{demo.name}.mp4"


def seed(demos: tuple[Demo | MultiDemo, ...] = SEEDED) -> dict[str, list[str]]:
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
            def render(demo: Demo | MultiDemo) -> tuple[Demo | MultiDemo, Path]:
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

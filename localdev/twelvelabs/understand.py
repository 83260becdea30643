"""Simple, real video understanding for the local Twelve Labs: speech to text (pocketsphinx) and on-screen
text (tesseract) with timestamps. Runs in worker processes (CPU-bound, keeps the API responsive)."""
from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import tempfile
from typing import Any

from . import media, visual

TESSERACT = os.environ.get("TESSERACT", "tesseract")
FRAME_EVERY = 2.0  # seconds between OCR frames
MAX_FRAMES = 60
OCR_MIN_CONF = 30.0
# tesseract page-segmentation modes: 11 = sparse text (captions anywhere), 3 = automatic layout. Each finds
# words the other misses on busy synthetic backgrounds, so both run and their words are joined.
OCR_MODES = ("11", "3")
# ASR speed/quality: "best" = pocketsphinx defaults (~0.5x real time on one core); "fast" ~3x quicker, rougher
# White captions on a mid-grey box over a mid-grey picture defeat tesseract's own binarisation (the text and the
# background land on the same side); keeping only near-white pixels, black on white, reads them.
BRIGHT_TEXT = "lut=c0='if(gte(val,200),0,255)'"
ASR_PROFILES = {"best": {}, "fast": {"maxhmmpf": 3000, "fwdflat": False}}
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_decoder = None  # one pocketsphinx decoder per worker process (loading the model takes ~1 s)


def worker_init() -> None:
    """Run in each worker process: die with the server (Linux PR_SET_PDEATHSIG), even if it is SIGKILLed."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def warm() -> bool:
    """Load the speech model ahead of the first task (run once in each worker process)."""
    global _decoder
    if _decoder is None:
        from pocketsphinx import Decoder

        profile = ASR_PROFILES.get(os.environ.get("TL_STANDIN_ASR", "best"), {})
        _decoder = Decoder(samprate=media.SPEECH_RATE, loglevel="FATAL", **profile)
    return True


def analyze(path: str, speech: bool = True, ocr: bool = True, pictures: bool = False) -> dict[str, Any]:
    """Words with times from speech and on-screen text, and with `pictures` the scene cuts and keyframe
    features: {"speech", "ocr", "transcript", "scenes", "keyframes"}."""
    out: dict[str, Any] = {"speech": [], "ocr": [], "transcript": [], "scenes": [], "keyframes": []}
    if speech:
        out["speech"], out["transcript"] = transcribe(media.speech_pcm(path))
    if ocr:
        out["ocr"] = read_text(path)
    if pictures:
        try:
            duration = media.probe(path).duration
        except media.MediaError:
            return out
        out["scenes"] = visual.scene_cuts(path)
        out["keyframes"] = visual.keyframes(path, duration, out["scenes"])
    return out


def transcribe(pcm: bytes) -> tuple[list[dict], list[dict]]:
    """(words [{w, s, e}], utterances [{start, end, value}]) of 16 kHz mono s16le `pcm`."""
    if len(pcm) < media.SPEECH_RATE:  # under half a second: nothing to hear
        return [], []
    from pocketsphinx import Segmenter

    warm()
    words: list[dict] = []
    utterances: list[dict] = []
    frame_s = 0.01  # pocketsphinx segment times are in 10 ms frames
    # the VAD splits long audio into utterances: recognition degrades on long unsegmented input
    for seg in Segmenter(sample_rate=media.SPEECH_RATE).segment(io.BytesIO(pcm)):
        _decoder.start_utt()
        _decoder.process_raw(seg.pcm, full_utt=True)
        _decoder.end_utt()
        said = []
        for s in _decoder.seg():
            w = re.sub(r"\(\d+\)$", "", s.word)  # "on(2)" = 2nd pronunciation of "on"
            if w.startswith(("<", "[")) or w in ("<sil>",):
                continue
            start = round(seg.start_time + s.start_frame * frame_s, 2)
            end = round(seg.start_time + (s.end_frame + 1) * frame_s, 2)
            words.append({"w": w.lower(), "s": start, "e": end})
            said.append(w.lower())
        if said:
            utterances.append({"start": round(seg.start_time, 2), "end": round(seg.end_time, 2),
                               "value": " ".join(said)})
    return words, utterances


def read_text(path: str) -> list[dict]:
    """On-screen words [{w, s, e, x, y}] from tesseract on frames taken every FRAME_EVERY seconds: grey frames
    (both OCR_MODES) and the same frames with only near-white pixels kept as black on white (BRIGHT_TEXT)."""
    words = []
    for variant, modes in (("", OCR_MODES), (BRIGHT_TEXT, ("11",))):
        with tempfile.TemporaryDirectory(prefix="tl-ocr-") as tmp:
            shots = media.frames(path, FRAME_EVERY, tmp, MAX_FRAMES, variant)
            if not shots:
                return _merge_repeats(words)
            listing = os.path.join(tmp, "frames.txt")
            with open(listing, "w") as fh:
                fh.write("\n".join(f for _, f in shots) + "\n")
            for mode in modes:
                words += _ocr_words(listing, mode, [t for t, _ in shots])
    return _merge_repeats(words)


def _ocr_words(listing: str, mode: str, times: list[float]) -> list[dict]:
    """Words tesseract reads (confidence >= OCR_MIN_CONF) in the frames of `listing`, with frame times."""
    try:
        res = subprocess.run([TESSERACT, listing, "stdout", "--psm", mode, "tsv"],
                             capture_output=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        return []
    if res.returncode != 0:
        return []
    words = []
    half = FRAME_EVERY / 2
    for row in csv.DictReader(io.StringIO(res.stdout.decode("utf-8", "replace")), delimiter="\t",
                              quoting=csv.QUOTE_NONE):
        try:
            conf = float(row.get("conf") or -1)
            page = int(row.get("page_num") or 1) - 1
        except ValueError:
            continue
        text = (row.get("text") or "").strip()
        if conf < OCR_MIN_CONF or not text or not 0 <= page < len(times):
            continue
        t = times[page]
        for w in _WORD.findall(text.lower()):
            if len(w) >= 2:  # x/y (top-left in the scaled frame) keep a caption's words in reading order
                words.append({"w": w, "s": round(max(0.0, t - half), 2), "e": round(t + half, 2),
                              "x": int(row.get("left") or 0), "y": int(row.get("top") or 0)})
    return words


def _merge_repeats(words: list[dict]) -> list[dict]:
    """Join the same word seen on consecutive frames into one longer sighting."""
    words.sort(key=lambda x: (x["w"], x["s"]))
    merged: list[dict] = []
    for w in words:
        last = merged[-1] if merged else None
        if last and last["w"] == w["w"] and w["s"] <= last["e"] + 0.01:
            last["e"] = max(last["e"], w["e"])
        else:
            merged.append(dict(w))
    merged.sort(key=lambda x: (x["s"], x["w"]))
    return merged

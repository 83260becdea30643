"""Demo content (`python -m localdev.demo`): short spoken, captioned videos made on the spot land in the local
bucket's videos prefix and in the library, quickly, and a second run changes nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT

pytestmark = pytest.mark.timeout(120)


def _run(stack) -> dict:
    env = {**os.environ, **stack.env()}
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "localdev.demo"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=90, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    line = json.loads(out.stdout.strip().splitlines()[-1])
    line["wall"] = time.monotonic() - started
    return line


def test_demo_videos_are_seeded_discovered_and_idempotent(emulators, clean_firestore, stack):
    from mam import store
    from mam.clients import b2
    from mam.library.discover import video_id_for
    from mam.settings import load_settings

    from localdev.demo import SEEDED, key_of

    settings = load_settings("b2").b2
    keys = [key_of(settings.videos_prefix, d) for d in SEEDED]
    b2.delete_keys(settings, keys)  # a fresh bucket, as on a new machine

    first = _run(stack)
    assert first["severity"] == "INFO" and (first["uploaded"], first["added"], first["known"]) == (5, 5, 0)
    assert first["wall"] < 60, first  # the runner waits for it (about 10 s on an idle machine)
    records = store.get_videos([video_id_for(settings.bucket, k) for k in keys])
    assert sorted(v.title for v in records.values()) == ["Cats playing on the floor", "City tour three stops",
                                                          "Cooking tomato pasta", "Mountain bike trail",
                                                          "Ocean waves at sunset"]
    for key in keys:
        meta = b2.head(settings, key)
        assert meta and meta["ContentType"] == "video/mp4" and meta["ContentLength"] > 10_000
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height:format=duration",
                            "-of", "json", b2.presigned_get(settings, keys[0])], capture_output=True, text=True,
                           check=True)
    facts = json.loads(probe.stdout)
    assert {s["codec_type"] for s in facts["streams"]} == {"video", "audio"}
    assert float(facts["format"]["duration"]) >= 4.0  # Twelve Labs' minimum
    assert all(s.get("width", 640) >= 360 and s.get("height", 360) >= 360 for s in facts["streams"])

    second = _run(stack)
    assert (second["uploaded"], second["added"], second["known"]) == (0, 0, 5)
    assert len(store.get_videos([video_id_for(settings.bucket, k) for k in keys])) == 5

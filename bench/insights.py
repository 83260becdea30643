"""Benchmark: what video intelligence costs per video - Twelve Labs calls (target: 1 analyze + 1 retrieve, no
polling) and handler time of insight_tasks - for N videos made Ready, then the same N seen Ready again (a webhook
replay, a late poll: target 0 more calls).

Runs on loopback only, with a bounded count (--videos, at most 50): its own Firestore / Cloud Tasks / S3 emulators
(ports = manifest + offset), the local Twelve Labs (which really extracts speech, on-screen text and scene cuts;
the videos are one file, so it is understood once and cached by SHA-256), and insight_tasks under
functions-framework with only its deployed environment. Videos are indexed with our adapter and their records set
Ready; their runs are queued as the indexing worker queues them (`mam.insights.start.queue_run`).

Prints per video: analyze calls, transcript retrieves, analyze-task polls, handler seconds (sum of the request
durations insight_tasks logs for its task routes), and the time from queueing to Ready (p50, max).

Usage: .venv/bin/python bench/insights.py [--videos 10] [--offset 4400]
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT), str(ROOT / "tests")]

from standins.twelvelabs import StandIn, make_video

from localdev.processes import Group, free_port
from localdev.stack import Stack, grants

KEY = "bench-insights-key"
MAX_VIDEOS = 50
TASK_PATHS = ("/insights/generate", "/insights/follow")


class Procs(Group):
    def __init__(self) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="bench-insights-")))
        self.standin: StandIn | None = None

    def stop_all(self) -> None:
        if self.standin is not None:
            self.standin.stop()
        super().stop_all()


def handler_seconds(log: Path) -> tuple[float, int]:
    """Sum of request durations (the `ms` of mam.http's request lines) of the task routes, and their count."""
    total, n = 0.0, 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line) if line.startswith("{") else {}
        except ValueError:
            continue
        if entry.get("message") == "request" and entry.get("path") in TASK_PATHS:
            total += float(entry.get("ms", 0)) / 1000
            n += 1
    return total, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=10)
    ap.add_argument("--offset", type=int, default=int(os.environ.get("MAM_BENCH_PORT_OFFSET", "4400")))
    args = ap.parse_args()
    if not 1 <= args.videos <= MAX_VIDEOS:
        ap.error(f"--videos must be 1 to {MAX_VIDEOS}")
    stack = Stack(offset=args.offset, state_dir=Path(tempfile.mkdtemp(prefix="bench-stack-")))
    procs = Procs()
    try:
        return run(args, stack, procs)
    finally:
        procs.stop_all()
        print(f"(logs: {procs.logs})")


def run(args, stack: Stack, procs: Procs) -> int:
    env = {**os.environ, **stack.env()}
    os.environ.update(stack.env())
    for svc in stack.emulators():
        if svc.name in ("firestore", "tasks", "s3"):
            procs.start(svc, {**env, **svc.env})
    from mam import store
    from mam.clients import b2
    from mam.clients.twelvelabs import TwelveLabsClient
    from mam.settings import load_settings
    from mam.videos import Video

    from localdev.bootstrap import ensure_bucket, ensure_queues

    ensure_bucket(stack)
    ensure_queues(stack)
    b2_settings = load_settings("b2").b2
    clip = make_video(procs.logs / "clip.mp4", speech="The boats leave the harbour at dawn. The market opens later.",
                      caption="Harbour", seconds=8)
    data = Path(clip).read_bytes()

    tl = StandIn("--index-seconds", "0.5", "--analyze-seconds", "1", api_key=KEY,
                 log_path=str(procs.logs / "twelvelabs.log"))
    procs.standin = tl
    port = free_port()
    fenv = {"TWELVELABS_BASE_URL": tl.base_url, "TWELVELABS_INDEX_NAME": "bench-insights",
            "FUNCTION_URL_INSIGHT_TASKS": f"http://127.0.0.1:{port}", "INSIGHTS_DAILY_LIMIT": str(MAX_VIDEOS * 2)}
    for url in (tl.base_url, fenv["FUNCTION_URL_INSIGHT_TASKS"], stack.url("s3")):
        assert url.startswith("http://127.0.0.1:"), f"not loopback: {url}"  # never a real service
    svc = stack.function("insight_tasks", port, {**fenv, **{k: v for k, v in {"TWELVELABS_API_KEY": KEY}.items()
                                                            if k in grants("insight_tasks")}})
    procs.start(dataclasses.replace(svc, start_seconds=60), svc.env)
    os.environ.update(fenv)
    log = procs.logs / "insight_tasks.log"

    client = TwelveLabsClient(KEY, tl.base_url, fenv["TWELVELABS_INDEX_NAME"])
    ids = []
    for i in range(args.videos):
        vid = f"bench{i:03d}"
        key = f"uploads/{vid}/original/clip.mp4"
        b2.put_bytes(b2_settings, key, data, "video/mp4")
        store.create_video(Video(id=vid, title=vid, status="uploaded", b2_original=key))
        ids.append(vid)
    tasks = {vid: client.create_task(b2.presigned_get(b2_settings, f"uploads/{vid}/original/clip.mp4"),
                                     {"mam_id": vid})[0] for vid in ids}
    tl_ids: dict[str, str] = {}
    deadline = time.time() + 300
    while len(tl_ids) < len(ids):
        if time.time() > deadline:
            raise SystemExit("indexing timed out")
        for vid, task in tasks.items():
            if vid not in tl_ids and (info := client.retrieve_task(task)).status == "ready":
                tl_ids[vid] = info.video_id or ""
        time.sleep(0.3)
    for vid in ids:
        store.update_video(vid, lambda v, t=tl_ids[vid]: setattr(v, "status", "ready")
                           or setattr(v, "tl_video_id", t) or True)

    from mam.insights.start import queue_run
    from mam.store import insights as insight_store

    def stats() -> dict[str, int]:
        fp = hashlib.sha256(KEY.encode()).hexdigest()[:12]
        return tl.admin("GET", "/stats").json()["calls"].get(fp, {})

    def wait_done(timeout: float) -> dict[str, float]:
        done: dict[str, float] = {}
        end = time.time() + timeout
        while len(done) < len(ids) and time.time() < end:
            for vid, ins in insight_store.get_many(ids, ["state"]).items():
                if vid not in done and ins.state in ("ready", "failed", "skipped"):
                    done[vid] = time.time()
            time.sleep(0.3)
        return done

    before = stats()
    queued_at = time.time()
    for vid in ids:
        queue_run(store.get_video(vid))
    done = wait_done(600)
    after = stats()
    states = {vid: ins.state for vid, ins in insight_store.get_many(ids, ["state"]).items()}
    handler, hops = handler_seconds(log)

    # the same videos seen Ready again (webhook replay, late poll): nothing is queued, nothing is called
    for vid in ids:
        queue_run(store.get_video(vid))
    time.sleep(3)
    replay = stats()

    def diff(a: dict[str, int], b: dict[str, int], route: str) -> int:
        return b.get(route, 0) - a.get(route, 0)

    n = len(ids)
    waits = sorted(t - queued_at for t in done.values())
    retrieve = "GET /indexes/<index_id>/videos/<video_id>"
    print(f"videos: {n}  ready: {sum(1 for s in states.values() if s == 'ready')}  "
          f"other: {sorted(s for s in states.values() if s != 'ready')}")
    print(f"analyze calls per video:         {diff(before, after, 'POST /analyze') / n:.2f}  (target 1)")
    print(f"transcript retrieves per video:  {diff(before, after, retrieve) / n:.2f}  (target 1)")
    print(f"analyze-task polls per video:    {diff(before, after, 'GET /analyze/tasks/<task_id>') / n:.2f}  "
          f"(sync analysis: 0)")
    print(f"all Twelve Labs calls per video: {sum(after.values()) - sum(before.values())} / {n} = "
          f"{(sum(after.values()) - sum(before.values())) / n:.2f}")
    others = {r: diff(before, after, r) for r in after if r not in ("POST /analyze", retrieve) and diff(before, after, r)}
    print(f"  of which other calls: {others} (the index lookup, once per function instance)")
    print(f"handler seconds per video:       {handler / n:.3f}  ({hops} task deliveries, {hops / n:.2f} per video)")
    if waits:
        print(f"queued -> ready: p50 {waits[len(waits) // 2]:.1f} s, max {waits[-1]:.1f} s (the local Cloud Tasks "
              f"dispatches one task at a time per queue)")
    print(f"seen Ready again: {sum(replay.values()) - sum(after.values())} more Twelve Labs calls (target 0)")
    return 0 if len(done) == n else 1


if __name__ == "__main__":
    sys.exit(main())

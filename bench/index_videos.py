"""Benchmark: indexing 50 videos through Cloud Tasks (our design) beside a reference worker that polls Twelve
Labs every second in a sleeping loop (the original design), in the same run, on the local Twelve Labs with a
60 s indexing time. Then the same with Twelve Labs webhooks on. Optionally: POST /index's core for 1,000 videos.

Starts its own Firestore / Cloud Tasks / S3 emulators (ports = manifest + offset), the local Twelve Labs (no
speech/OCR: the pipeline is measured, not the understanding), and index_videos + index_tasks under
functions-framework. Prints, per design and mode:
- handler seconds per video: time spent inside request handlers (from the functions' request logs) - what
  request-based Cloud Functions billing allocates a vCPU for; the reference's handler holds its request for the
  whole wait, so its figure is its loop's wall time;
- process CPU seconds per video: utime+stime of the function processes (all of them, incl. the web server);
- Twelve Labs API calls per video (counted by the stand-in per API key);
- delay from Twelve Labs "ready" (the stand-in's clock) to Ready in Firestore: p50, p95, max.
Targets (issue 5): >= 50x less handler time than the reference, <= 10 calls per video without webhooks,
p95 delay <= 15 s without webhooks and <= 2 s with them.

Usage: .venv/bin/python bench/index_videos.py [--videos 50] [--index-seconds 60] [--no-webhooks] [--bulk 1000]
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT), str(ROOT / "tests")]

from standins.twelvelabs import StandIn, make_video

from localdev.processes import Group, Service, free_port, group_usage
from localdev.stack import Stack, grants

OURS_KEY = "bench-ours-key"
REF_KEY = "bench-reference-key"
SECRET = "bench-webhook-secret"


# ---- processes ----------------------------------------------------------------------------------------------
class Procs(Group):
    """This benchmark's processes and its Twelve Labs stand-in, logging into one temporary folder."""

    def __init__(self) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="bench-index-")))
        self.standin: StandIn | None = None

    def stop_all(self) -> None:
        """Stop the stand-in and every process."""
        if self.standin is not None:
            self.standin.stop()
        super().stop_all()


def group_cpu(pgid: int) -> float:
    """utime + stime (seconds) of every live process in a process group."""
    return group_usage({"group": pgid})["group"].cpu_seconds


def log_lines(log: Path) -> int:
    return len(log.read_text(errors="replace").splitlines())


def handler_seconds(log: Path, skip: int, paths: tuple[str, ...]) -> tuple[float, int]:
    """Sum of request durations (ms field of mam.http's request log lines) for `paths`, after line `skip`."""
    total, n = 0.0, 0
    for line in log.read_text(errors="replace").splitlines()[skip:]:
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") == "request" and entry.get("path") in paths:
            total += float(entry.get("ms", 0)) / 1000
            n += 1
    return total, n


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


# ---- the reference worker (runs as its own process: --reference) --------------------------------------------------
def reference_worker(ids: list[str]) -> None:
    """The original design: one handler per video creates the task, then sleeps 1 s between polls until done."""
    from mam import store
    from mam.clients import b2
    from mam.clients import twelvelabs as tl
    from mam.settings import load_settings
    from mam.videos import FAILED, READY

    settings = load_settings("b2", "twelvelabs")
    client = tl.TwelveLabsClient(REF_KEY, settings.twelvelabs.base_url, settings.twelvelabs.index_name)
    client.ensure_index()
    cpu0 = time.process_time()
    held: list[float] = []
    lock = threading.Lock()

    def one(vid: str) -> None:
        started = time.monotonic()
        video = store.get_video(vid)
        task_id, _ = client.create_task(b2.presigned_get(settings.b2, video.b2_original), {"mam_id": vid})
        store.update_video(vid, lambda v: setattr(v, "tl_task_id", task_id) or True)
        while True:
            time.sleep(1)
            try:
                info = client.retrieve_task(task_id)
            except tl.TwelveLabsError:
                continue
            if info.done:
                break
        if info.status == "ready":
            import requests

            thumb = requests.get(info.thumbnail_urls[0], timeout=15).content if info.thumbnail_urls else b""
            if thumb:
                b2.put_bytes(settings.b2, f"thumbnails/{vid}.jpg", thumb, "image/jpeg")

        def finish(v) -> bool:
            v.status = READY if info.status == "ready" else FAILED
            v.tl_video_id = info.video_id
            return True

        store.update_video(vid, finish)
        with lock:
            held.append(time.monotonic() - started)

    threads = [threading.Thread(target=one, args=(vid,)) for vid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"cpu": time.process_time() - cpu0, "held": held, "calls": client.calls}))


# ---- the run ------------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=50)
    ap.add_argument("--index-seconds", type=float, default=60.0)
    ap.add_argument("--no-webhooks", action="store_true", help="skip the run with webhooks")
    ap.add_argument("--bulk", type=int, default=1000, help="also time marking N videos Sending (0: skip)")
    ap.add_argument("--offset", type=int, default=int(os.environ.get("MAM_BENCH_PORT_OFFSET", "4300")))
    ap.add_argument("--reference", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reference is not None:
        reference_worker(args.reference)
        return 0

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
    from mam.settings import load_settings
    from mam.videos import Video

    from localdev.bootstrap import ensure_bucket, ensure_queues

    ensure_bucket(stack)
    ensure_queues(stack)
    settings = load_settings("b2").b2
    clip = make_video(Path(procs.logs) / "clip.mp4", caption="Benchmark", seconds=5)
    data = Path(clip).read_bytes()

    tl = StandIn("--index-seconds", str(args.index_seconds), "--no-understanding", api_key=None,
                 log_path=str(procs.logs / "twelvelabs.log"))
    procs.standin = tl
    public, private = free_port(), free_port()
    fenv = {"TWELVELABS_BASE_URL": tl.base_url, "TWELVELABS_INDEX_NAME": "bench",
            "FUNCTION_URL_INDEX_VIDEOS": f"http://127.0.0.1:{public}",
            "FUNCTION_URL_INDEX_TASKS": f"http://127.0.0.1:{private}"}
    secrets = {"TWELVELABS_API_KEY": OURS_KEY, "TWELVELABS_WEBHOOK_SECRET": SECRET}
    fn = {}
    for target, port in (("index_videos", public), ("index_tasks", private)):
        # Each function with only its deployed environment: index_tasks is not granted the webhook secret.
        svc = stack.function(target, port, {**fenv, **{k: v for k, v in secrets.items() if k in grants(target)}})
        fn[target] = procs.start(dataclasses.replace(svc, start_seconds=60), svc.env)
    os.environ.update({k: fenv[k] for k in ("TWELVELABS_BASE_URL", "TWELVELABS_INDEX_NAME",
                                            "FUNCTION_URL_INDEX_TASKS", "FUNCTION_URL_INDEX_VIDEOS")})

    def seed(prefix: str, count: int | None = None) -> list[str]:
        ids = []
        for i in range(args.videos if count is None else count):
            vid = f"{prefix}{i:03d}"
            key = f"uploads/{vid}/original/clip.mp4"
            b2.put_bytes(settings, key, data, "video/mp4")
            store.create_video(Video(id=vid, title=vid, status="uploaded", b2_original=key))
            ids.append(vid)
        return ids

    def wait_all(ids: list[str], timeout: float) -> dict[str, Video]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = store.get_videos(ids)
            if all(v.status in ("ready", "failed") for v in got.values()) and len(got) == len(ids):
                return got
            time.sleep(1)
        raise SystemExit(f"timed out waiting for {len(ids)} videos")

    def delays(videos: dict[str, Video]) -> list[float]:
        tasks = tl.admin("GET", "/state").json()["tasks"]
        out = []
        for v in videos.values():
            t = tasks.get(v.tl_task_id or "")
            if v.status == "ready" and t and t["status"] == "ready":
                out.append((v.updated_at - dt.datetime.fromtimestamp(t["updated_at"], dt.UTC)).total_seconds())
        return out

    def calls(key: str) -> int:
        fp = hashlib.sha256(key.encode()).hexdigest()[:12]
        return sum(tl.admin("GET", "/stats").json()["calls"].get(fp, {}).values())

    from mam.indexing import start

    results = []
    modes = [("no webhooks", False)] + ([] if args.no_webhooks else [("webhooks", True)])
    for label, hooks in modes:
        tl.admin("PUT", "/webhook", json={"url": f"http://127.0.0.1:{public}/webhook" if hooks else None,
                                          "secret": SECRET})
        # one video first, so the measured run sees warm instances (the cold start is reported on its own)
        tl.admin("PUT", "/config", json={"index_seconds": 2})
        warm = seed(f"warm{'w' if hooks else 'p'}", 1)
        start.index_videos(warm, False, 7200)
        wait_all(warm, 120)
        tl.admin("PUT", "/config", json={"index_seconds": args.index_seconds})
        ours = seed(f"{'w' if hooks else 'p'}")
        ref = seed("r") if not hooks else []
        cpu0 = {k: group_cpu(p.pid) for k, p in fn.items()}
        lines0 = {k: log_lines(procs.logs / f"{k}.log") for k in fn}
        calls0 = calls(OURS_KEY)
        print(f"[bench] {label}: indexing {len(ours)} videos" + (f" + {len(ref)} reference" if ref else ""),
              flush=True)
        refp = None
        if ref:
            refp = procs.start(Service("reference", 0, [sys.executable, __file__, "--reference", *ref]),
                               {**os.environ}, log=subprocess.PIPE, stderr=procs.logs / "reference.log").proc
        _queued, skipped = start.index_videos(ours, False, 7200)
        assert not skipped, skipped
        got = wait_all(ours, args.index_seconds * 3 + 120)
        cpu = sum(group_cpu(p.pid) - cpu0[k] for k, p in fn.items())
        held, n_req = 0.0, 0
        for target in fn:
            s, n = handler_seconds(procs.logs / f"{target}.log", lines0[target],
                                   ("/tasks/submit", "/tasks/follow", "/webhook"))
            held += s
            n_req += n
        ok = sum(v.status == "ready" for v in got.values())
        d = delays(got)
        results.append({"design": "Cloud Tasks (ours)", "mode": label, "videos": len(ours), "ready": ok,
                        "handler_s": held / len(ours), "requests": n_req / len(ours), "cpu_s": cpu / len(ours),
                        "calls": (calls(OURS_KEY) - calls0) / len(ours), "d": d})
        if refp is not None:
            out, _ = refp.communicate(timeout=args.index_seconds * 3 + 120)
            rep = json.loads(out.decode().strip().splitlines()[-1])
            rgot = store.get_videos(ref)
            results.append({"design": "reference (1 s sleep loop)", "mode": label, "videos": len(ref),
                            "ready": sum(v.status == "ready" for v in rgot.values()),
                            "handler_s": sum(rep["held"]) / len(ref), "requests": 1.0,
                            "cpu_s": rep["cpu"] / len(ref), "calls": rep["calls"] / len(ref), "d": delays(rgot)})

    cold = {}
    for target, path in (("index_tasks", "/tasks/submit"), ("index_tasks", "/tasks/follow"),
                         ("index_videos", "/webhook")):
        for line in (procs.logs / f"{target}.log").read_text(errors="replace").splitlines():
            if line.startswith("{") and f'"path": "{path}"' in line:
                cold[path] = json.loads(line)["ms"] / 1000
                break
    bulk = None
    if args.bulk:
        bulk = bulk_mark(args.bulk)

    print()
    print(f"Indexing {args.videos} videos, local Twelve Labs indexing time {args.index_seconds:g} s "
          f"(machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    head = (f"{'design':28} {'mode':12} {'ready':>6} {'handler s/video':>16} {'CPU s/video':>12} "
            f"{'TL calls/video':>15} {'delay p50':>10} {'p95':>7} {'max':>7}")
    print(head)
    print("-" * len(head))
    for r in results:
        d = r["d"]
        print(f"{r['design']:28} {r['mode']:12} {r['ready']:>3}/{r['videos']:<2} {r['handler_s']:>16.3f} "
              f"{r['cpu_s']:>12.3f} {r['calls']:>15.1f} {pct(d, 50):>9.2f}s {pct(d, 95):>6.2f}s "
              f"{max(d) if d else float('nan'):>6.2f}s")
    ours_nw = next(r for r in results if r["design"].startswith("Cloud") and r["mode"] == "no webhooks")
    ref = next((r for r in results if r["design"].startswith("reference")), None)
    print()
    if ref:
        print(f"handler time ratio reference/ours: {ref['handler_s'] / ours_nw['handler_s']:.0f}x (target >= 50x); "
              f"process CPU ratio: {ref['cpu_s'] / ours_nw['cpu_s']:.1f}x")
    print(f"TL calls per video without webhooks: {ours_nw['calls']:.1f} (target <= 10); "
          f"p95 delay: {pct(ours_nw['d'], 95):.2f} s (target <= 15 s)")
    hooked = next((r for r in results if r["mode"] == "webhooks"), None)
    if hooked:
        print(f"p95 delay with webhooks: {pct(hooked['d'], 95):.2f} s (target <= 2 s); "
              f"TL calls per video: {hooked['calls']:.1f}")
    print("cold start (first request of a fresh instance, SDK import included): " +
          ", ".join(f"{k} {v:.2f} s" for k, v in cold.items()))
    if bulk:
        print(f"marking {bulk[0]} videos Sending + queueing their submit tasks (POST /index core, local "
              f"emulators): {bulk[1]:.2f} s; emulator floor (one masked read + one batched write of them): "
              f"{bulk[2]:.2f} s")
    return 0


def bulk_mark(n: int) -> tuple[int, float, float]:
    """Time index_videos() for n videos with the queue paused (tasks are purged afterwards)."""
    from mam import store, tasks
    from mam.indexing import start
    from mam.videos import Video

    db = store.client()
    col = db.collection("videos")
    ids = [f"bulk{i:05d}" for i in range(n)]
    for first in range(0, n, 400):
        batch = db.batch()
        for vid in ids[first:first + 400]:
            batch.set(col.document(vid), Video(id=vid, title=vid, status="uploaded",
                                               b2_original=f"uploads/{vid}/a.mp4").to_doc())
        batch.commit()
    t = time.monotonic()
    snaps = list(db.get_all([col.document(i) for i in ids], field_paths=["status", "attempts"]))
    for first in range(0, n, 400):
        batch = db.batch()
        for snap in snaps[first:first + 400]:
            batch.update(snap.reference, {"owner": ""})
        batch.commit()
    floor = time.monotonic() - t
    client = tasks._tasks_client()
    queue = tasks.queue_path("index")
    client.pause_queue(name=queue)
    try:
        t = time.monotonic()
        queued, skipped = start.index_videos(ids, False, 7200)
        took = time.monotonic() - t
        assert len(queued) == n, skipped
    finally:
        client.purge_queue(name=queue)
        client.resume_queue(name=queue)
    return n, took, floor


if __name__ == "__main__":
    sys.exit(main())

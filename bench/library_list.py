"""Benchmark: the library's read routes under functions-framework against the local Firestore emulator and moto.

Seeds N videos (stored keys, thumbnails), then times GET /videos (first page and a deep page), GET /videos/{id}
and, in-process, the search join (one batched read of 12 records + the Video JSON with presigned URLs). Uses the
stack on MAM_BENCH_PORT_OFFSET (default 3000), starting Firestore and S3 there if they are not running.
Figures: requests/s and p50/p95 latency per route. Not a pass/fail test.

Usage: .venv/bin/python bench/library_list.py [--videos 300] [--requests 50]

The emulator scans and sorts the whole collection per query, so its figures are about our overhead and the
number of round trips, not about Firestore's latency.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from localdev.processes import Group, free_port, is_ready
from localdev.stack import Stack


def _start(stack: Stack, procs: Group) -> None:
    for service in stack.emulators():
        if service.name in ("firestore", "s3") and not is_ready(service):
            procs.start(service, {**os.environ, **stack.env(), **service.env})


def _seed(n: int) -> list[str]:
    from mam import store
    from mam.clients import b2
    from mam.settings import load_settings
    from mam.videos import READY, Video

    settings = load_settings("b2").b2
    urllib.request.urlopen(urllib.request.Request(
        f"http://{os.environ['FIRESTORE_EMULATOR_HOST'].rsplit(':', 1)[0]}:"
        f"{int(os.environ['FIRESTORE_EMULATOR_HOST'].rsplit(':', 1)[1]) + 1}/reset", method="POST")).read()
    b2.put_bytes(settings, "bench/thumb.jpg", b"\xff\xd8\xff", "image/jpeg")
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    from concurrent.futures import ThreadPoolExecutor

    ids = [f"bench{i:015d}" for i in range(n)]

    def create(i: int) -> None:
        vid = ids[i]
        store.create_video(Video(id=vid, title=f"Bench {i}", owner="bench@example.com", status=READY,
                                 created_at=t0 + dt.timedelta(seconds=i), b2_web=f"uploads/{vid}/web.mp4",
                                 b2_thumbnail=f"thumbnails/{vid}.jpg", tl_video_id=f"tl{i}", duration=10.0))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(create, range(n)))
    return ids


def _time(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _report(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(f"{name:<34} {1000 / statistics.mean(ms):8.1f} req/s   p50 {statistics.median(ms):7.2f} ms   "
          f"p95 {p95:7.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=300)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    import requests

    stack = Stack(offset=int(os.environ.get("MAM_BENCH_PORT_OFFSET", "3000")), state_dir=ROOT / ".local" / "bench")
    os.environ.update(stack.env())
    procs = Group()  # output discarded
    try:
        _start(stack, procs)
        from localdev.bootstrap import ensure_bucket

        ensure_bucket(stack)
        ids = _seed(args.videos)
        port = free_port()
        svc = stack.function("library", port, {"LOG_LEVEL": "WARNING"})  # only its deployed environment
        procs.start(svc, svc.env)
        url = f"http://127.0.0.1:{port}"
        http = requests.Session()
        deep = max(1, args.videos // 24 - 1)
        for path in ("/videos", f"/videos?page={deep}", f"/videos/{ids[0]}"):
            assert http.get(url + path, timeout=30).status_code == 200  # warm: imports, clients, URL cache
        print(f"library read routes, {args.videos} videos, {args.requests} sequential requests each "
              f"(keep-alive, Firestore emulator + moto on loopback)")
        _report("GET /videos (page 1 of 24)", _time(lambda: http.get(url + "/videos", timeout=30), args.requests))
        _report(f"GET /videos?page={deep} (deep)",
                _time(lambda: http.get(url + f"/videos?page={deep}", timeout=30), args.requests))
        _report("GET /videos/{id}", _time(lambda: http.get(url + f"/videos/{ids[7]}", timeout=30), args.requests))

        from mam.clients.twelvelabs import Clip, SearchHit
        from mam.library import search
        from mam.settings import load_settings

        settings = load_settings("http", "b2", "twelvelabs")
        hits = [SearchHit(video_id=f"tl{i}", clips=(Clip(f"tl{i}", 1.0, 6.0, 1),), user_metadata={"mam_id": vid})
                for i, vid in enumerate(ids[:12])]
        assert len(search.join(settings, hits)) == 12
        _report("search join of 12 hits (in-process)", _time(lambda: search.join(settings, hits), args.requests))
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the library's read routes under functions-framework against the local Firestore emulator and moto.

Seeds N videos (stored keys, thumbnails; titles from a small vocabulary, ten owners, three statuses, varied
durations), then times GET /videos (first page and a deep page), the found pages of README "Finding videos"
(mine + status, a title word, two title words, a date range under the duration sort, a second page by cursor),
GET /videos/{id} and, in-process, the search join (one batched read of 12 records + the Video JSON with presigned
URLs). Uses the stack on MAM_BENCH_PORT_OFFSET (default 3000), starting Firestore, S3 and the Auth emulator there
if they are not running. Figures: requests/s and p50/p95 latency per route. Not a pass/fail test.

Usage: .venv/bin/python bench/library_list.py [--videos 300] [--requests 50]
       (the issue's case: --videos 10000)

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
        if service.name in ("firestore", "s3", "auth") and not is_ready(service):
            procs.start(service, {**os.environ, **stack.env(), **service.env})


ADJECTIVES = ["golden", "quiet", "rainy", "busy", "early", "late", "windy", "frozen", "bright", "misty"]
NOUNS = ["harbour", "sunset", "market", "bridge", "forest", "station", "beach", "street", "garden", "river"]
STATUSES = ["ready", "ready", "failed", "uploaded"]


def _title(i: int) -> str:
    return f"{ADJECTIVES[i % 10].title()} {NOUNS[(i // 10) % 10]} take {i}"


def _seed(n: int, mine_uid: str) -> list[str]:
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
        owner_uid = mine_uid if i % 10 == 3 else f"benchuser{i % 10}"  # a tenth of the library is "mine"
        store.create_video(Video(id=vid, title=_title(i), owner="bench@example.com", owner_uid=owner_uid,
                                 status=STATUSES[i % 4] if i % 7 else READY,
                                 created_at=t0 + dt.timedelta(minutes=i), b2_web=f"uploads/{vid}/web.mp4",
                                 b2_thumbnail=f"thumbnails/{vid}.jpg", tl_video_id=f"tl{i}",
                                 duration=float(5 + (i * 37) % 600)))

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
    print(f"{name:<36} {1000 / statistics.mean(ms):8.1f} req/s   p50 {statistics.median(ms):7.2f} ms   "
          f"p95 {p95:7.2f} ms")


def _find_cases(http, url: str, token: str, args) -> None:
    """The filtered pages (README "Finding videos"), signed in as the owner of a tenth of the library."""
    auth = {"Authorization": f"Bearer {token}"}
    days = max(1, args.videos // (24 * 60 * 3))  # about a third of the seeded span (a video a minute from t0)
    cases = {
        "find: mine + ready, newest": {"owner": "mine", "status": "ready", "sort": "newest"},
        "find: title word, by title": {"q": "harb", "sort": "title"},
        "find: two title words, newest": {"q": "golden harbour", "sort": "newest"},
        "find: mine + dates, by duration": {"owner": "mine", "sort": "duration", "from": "2026-01-01",
                                            "to": (dt.date(2026, 1, 1) + dt.timedelta(days=days)).isoformat()},
    }
    for name, params in cases.items():
        first = http.get(url + "/videos", params=params, headers=auth, timeout=30)
        assert first.status_code == 200, first.text
        body = first.json()
        _report(name, _time(lambda p=params: http.get(url + "/videos", params=p, headers=auth, timeout=30),
                            args.requests))
        print(f"{'':<36}({len(body['videos'])} on the page, total {body['total']}, "
              f"{'more by cursor' if body['next_cursor'] else 'no more'})")
        if name == "find: mine + ready, newest" and body["next_cursor"]:
            second = {**params, "cursor": body["next_cursor"]}
            _report("find: mine + ready, page 2 (cursor)",
                    _time(lambda p=second: http.get(url + "/videos", params=p, headers=auth, timeout=30), args.requests))


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
        from localdev import auth_users

        mine_uid = auth_users.ensure_user(stack, "bench-finder@example.com", "bench-pass-1")
        token = auth_users.sign_in(stack, "bench-finder@example.com", "bench-pass-1")["idToken"]
        ids = _seed(args.videos, mine_uid)
        port = free_port()
        svc = stack.function("library", port, {"LOG_LEVEL": "WARNING", "MEMBER_EMAILS": "bench-finder@example.com"})
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
        _find_cases(http, url, token, args)
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

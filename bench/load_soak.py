"""Benchmark: a bounded load and soak run against the whole local stack (issue 12), then a burst of B2 version
listings.

Starts every emulator, stand-in and function of the local stack (ports = manifest + MAM_BENCH_PORT_OFFSET, default
3000; loopback only), seeds VIDEOS videos, signs in the demo user (a member and admin locally) at the Auth emulator,
then runs three loads at once, each a fixed number of requests (never "as many as fit in N seconds"):
- POLLERS concurrent status pollers: each sends POLLS `POST /status` for 20 videos, one per POLL_EVERY seconds,
  with If-None-Match after the first answer (what the front end does);
- UPLOADS `POST /uploads` (member token) at UPLOAD_RATE per second (each creates a record and enqueues its check);
- SEARCHES `GET /search` at SEARCH_RATE per second (the library against the local Twelve Labs).
Then LISTINGS ListObjectVersions of one folder each against the local B2 holding B2_OBJECTS objects of 1 MB, from 8
threads (the shape of the run that once drove the local B2 to 22.7 GB).

Prints per route: requests, p50/p95/p99 latency, status codes, 5xx (must be 0) and transport errors; and for every
local process (each emulator, stand-in and function, with its children: the process group) its resident memory at
start, at the end of the load, after the listings, and the peak sampled once a second. Exits 1 on any 5xx, any
transport error or any process that died.

Usage: .venv/bin/python bench/load_soak.py [--small] [--pollers 100] [--polls 60] [--uploads 1200] [--searches 300]
       [--listings 2500]
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from localdev.processes import Group, Started, group_usage, wait_ready
from localdev.stack import DEMO_EMAIL, DEMO_PASSWORD, Stack

QUERIES = ("a person talking", "red car", "sunset over water", "text on screen", "dog", "music", "kitchen",
           "crowd cheering", "snow", "interview")


# ---- memory of every process ------------------------------------------------------------------------------------
def group_rss_mb(pgids: dict[str, int]) -> dict[str, tuple[float, int]]:
    """{service: (resident MB, processes)} summed over each service's process group, from /proc."""
    return {name: (u.rss_mb, u.processes) for name, u in group_usage(pgids).items()}


class Sampler:
    """Samples every group's RSS once a second in a thread and keeps the peak of each."""

    def __init__(self, pgids: dict[str, int]) -> None:
        self.pgids = pgids
        self.peak: dict[str, float] = dict.fromkeys(pgids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> dict[str, tuple[float, int]]:
        now = group_rss_mb(self.pgids)
        for name, (mb, _) in now.items():
            self.peak[name] = max(self.peak[name], mb)
        return now

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.sample()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ---- load -------------------------------------------------------------------------------------------------------
@dataclass
class Route:
    """What one route answered: latencies (ms), status codes, transport errors."""

    name: str
    ms: list[float] = field(default_factory=list)
    codes: collections.Counter = field(default_factory=collections.Counter)
    errors: collections.Counter = field(default_factory=collections.Counter)

    def record(self, started: float, status: int) -> None:
        self.ms.append((time.perf_counter() - started) * 1000)
        self.codes[status] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.codes.items() if code >= 500)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def _request(session, route: Route, method: str, url: str, **kwargs) -> tuple[int, object, bytes]:
    import aiohttp

    started = time.perf_counter()
    try:
        async with session.request(method, url, **kwargs) as resp:
            body = await resp.read()
            route.record(started, resp.status)
            return resp.status, resp.headers.copy(), body  # case-insensitive, like HTTP
    except (TimeoutError, aiohttp.ClientError) as exc:
        route.errors[type(exc).__name__] += 1
        return 0, {}, b""


async def _paced(count: int, rate: float, one) -> None:
    """Start exactly `count` calls of `one(i)`, `rate` per second (open loop: a slow answer does not slow the
    schedule), and wait for all of them."""
    t0 = time.perf_counter()
    tasks = []
    for i in range(count):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)


async def drive(urls: dict[str, str], token: str, ids: list[str], args: argparse.Namespace) -> dict[str, Route]:
    """The three loads at once; returns what each route answered."""
    import aiohttp

    routes = {n: Route(n) for n in ("POST /status", "POST /uploads", "GET /search")}
    auth = {"Authorization": f"Bearer {token}"}
    jh = {"Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=args.pollers + 100)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def poller(n: int) -> None:
            rng = random.Random(n)
            body = json.dumps({"ids": rng.sample(ids, min(20, len(ids)))})
            etag = None
            await asyncio.sleep(rng.random() * args.poll_every)  # spread the pollers over one interval
            for _ in range(args.polls):
                t = time.perf_counter()
                headers = {**jh, **({"If-None-Match": etag} if etag else {})}
                status, resp_headers, _ = await _request(session, routes["POST /status"], "POST",
                                                         urls["upload_status"] + "/status", data=body, headers=headers)
                if status == 200:
                    etag = resp_headers.get("ETag")
                await asyncio.sleep(max(0.0, args.poll_every - (time.perf_counter() - t)))

        async def upload(i: int) -> None:
            body = json.dumps({"filename": f"soak-{i:05d}.mp4", "size": 1_000_000, "type": "video/mp4"})
            await _request(session, routes["POST /uploads"], "POST", urls["upload_status"] + "/uploads", data=body,
                           headers={**jh, **auth})

        async def search(i: int) -> None:
            await _request(session, routes["GET /search"], "GET", urls["library"] + "/search",
                           params={"q": QUERIES[i % len(QUERIES)]}, headers=auth)

        await asyncio.gather(*(poller(n) for n in range(args.pollers)),
                             _paced(args.uploads, args.upload_rate, upload),
                             _paced(args.searches, args.search_rate, search))
    return routes


def put_objects(stack: Stack, objects: int) -> None:
    """Write `objects` objects of 1 MB to the local B2, one folder each."""
    from localdev.b2.client import for_stack

    s3 = for_stack(stack)
    body = b"\0" * (1 << 20)
    for i in range(objects):
        s3.put_object(Bucket="mam-local", Key=f"soak/{i:04d}/source.mp4", Body=body)


def list_versions(stack: Stack, objects: int, listings: int) -> Route:
    """Send exactly `listings` ListObjectVersions (8 threads): of one folder, every tenth of the whole bucket."""
    from localdev.b2.client import for_stack

    s3 = for_stack(stack, max_pool_connections=8)
    route = Route("B2 ListObjectVersions")

    def one(i: int) -> None:
        t = time.perf_counter()
        prefix = f"soak/{i % objects:04d}/" if i % 10 else ""  # every tenth lists the whole bucket
        try:
            for _ in s3.get_paginator("list_object_versions").paginate(Bucket="mam-local", Prefix=prefix):
                pass
            route.record(t, 200)
        except Exception as exc:  # noqa: BLE001 - counted and reported, never hidden
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status:
                route.record(t, status)
            else:
                route.errors[type(exc).__name__] += 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(listings)))
    return route


# ---- the stack ----------------------------------------------------------------------------------------------------
def start_stack(stack: Stack, procs: Group) -> dict[str, Started]:
    """Every emulator, then bootstrap (bucket, queues, demo user), then every stand-in and function."""
    from localdev.bootstrap import ensure_bucket, ensure_queues, ensure_user

    def launch(services) -> None:
        started = [(s, procs.start(s, stack.process_env(s), wait=False)) for s in services]
        for service, proc in started:
            wait_ready(service, alive=proc.alive)

    launch(stack.emulators())
    ensure_bucket(stack)
    ensure_queues(stack)
    ensure_user(stack)
    launch(stack.standins())
    launch([stack.function(f.name, overrides={"LOG_LEVEL": "WARNING"}) for f in stack.functions()])
    return dict(procs.procs)


def sign_in(stack: Stack) -> str:
    """An ID token of the demo user from the Auth emulator."""
    req = urllib.request.Request(
        f"{stack.url('auth')}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=local",
        data=json.dumps({"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "returnSecureToken": True}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["idToken"]


def seed(n: int) -> list[str]:
    """n ready videos in Firestore (what the pollers ask about)."""
    from mam import store
    from mam.videos import READY, Video, new_video_id

    ids = []
    for i in range(n):
        v = Video(id=new_video_id(), title=f"soak {i}", owner=DEMO_EMAIL, status=READY,
                  b2_thumbnail=f"uploads/soak{i}/thumbnail.jpg", b2_web=f"uploads/soak{i}/web.mp4")
        store.create_video(v)
        ids.append(v.id)
    return ids


# ---- report -----------------------------------------------------------------------------------------------------
def print_routes(routes: list[Route]) -> None:
    print(f"\n{'route':<24}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'5xx':>6}{'errors':>8}  status codes")
    for r in routes:
        n = sum(r.codes.values()) + sum(r.errors.values())
        codes = " ".join(f"{c}:{k}" for c, k in sorted(r.codes.items()))
        errs = " ".join(f"{e}:{k}" for e, k in r.errors.items())
        print(f"{r.name:<24}{n:>9}{pct(r.ms, 50):>9.1f}{pct(r.ms, 95):>9.1f}{pct(r.ms, 99):>9.1f}"
              f"{r.server_errors:>6}{sum(r.errors.values()):>8}  {codes}{'  ' + errs if errs else ''}")


def print_memory(snapshots: dict[str, dict[str, tuple[float, int]]], peak: dict[str, float],
                 alive: dict[str, bool]) -> None:
    cols = list(snapshots)
    print(f"\n{'process (group)':<22}{'procs':>6}" + "".join(f"{c:>17}" for c in cols) + f"{'peak':>10}  alive")
    for name, top in peak.items():
        first = snapshots[cols[0]][name]
        print(f"{name:<22}{first[1]:>6}" + "".join(f"{snapshots[c][name][0]:>14.0f} MB" for c in cols)
              + f"{top:>7.0f} MB  {'yes' if alive[name] else 'NO'}")
    total = {c: sum(v[0] for v in snapshots[c].values()) for c in cols}
    print(f"{'total':<22}{'':>6}" + "".join(f"{total[c]:>14.0f} MB" for c in cols))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="a CI-size run (20 pollers x 10 polls, 40 uploads, "
                                                         "15 searches, 250 listings of 20 objects)")
    ap.add_argument("--pollers", type=int, default=100)
    ap.add_argument("--polls", type=int, default=60, help="requests per poller")
    ap.add_argument("--poll-every", type=float, default=1.0, help="seconds between one poller's requests")
    ap.add_argument("--uploads", type=int, default=1200)
    ap.add_argument("--upload-rate", type=float, default=20.0)
    ap.add_argument("--searches", type=int, default=300)
    ap.add_argument("--search-rate", type=float, default=5.0)
    ap.add_argument("--videos", type=int, default=100, help="seeded videos the pollers ask about")
    ap.add_argument("--b2-objects", type=int, default=200)
    ap.add_argument("--listings", type=int, default=2500)
    args = ap.parse_args()
    if args.small:
        args.pollers, args.polls, args.uploads, args.searches, args.b2_objects, args.listings = 20, 10, 40, 15, 20, 250

    stack = Stack(offset=int(os.environ.get("MAM_BENCH_PORT_OFFSET", "3000")),
                  state_dir=ROOT / ".local" / f"bench-soak-{os.environ.get('MAM_BENCH_PORT_OFFSET', '3000')}")
    os.environ.update(stack.env())
    procs = Group(Path(tempfile.mkdtemp(prefix="bench-soak-")))
    try:
        t_start = time.perf_counter()
        started = start_stack(stack, procs)
        print(f"local stack up in {time.perf_counter() - t_start:.0f} s: {', '.join(started)} (logs: {procs.logs})")
        ids = seed(args.videos)
        token = sign_in(stack)
        urls = {n: stack.url(n) for n in ("upload_status", "library")}
        pgids = {name: s.pid for name, s in started.items()}
        print(f"load: {args.pollers} pollers x {args.polls} POST /status every {args.poll_every:g} s | "
              f"{args.uploads} POST /uploads at {args.upload_rate:g}/s | {args.searches} GET /search at "
              f"{args.search_rate:g}/s | then {args.listings} B2 ListObjectVersions over {args.b2_objects} objects")
        with Sampler(pgids) as sampler:
            snapshots = {"start": sampler.sample()}
            t0 = time.perf_counter()
            routes = asyncio.run(drive(urls, token, ids, args))
            load_s = time.perf_counter() - t0
            snapshots["end of load"] = sampler.sample()
            put_objects(stack, args.b2_objects)
            snapshots["after B2 writes"] = sampler.sample()
            t1 = time.perf_counter()
            listing = list_versions(stack, args.b2_objects, args.listings)
            list_s = time.perf_counter() - t1
            snapshots["after listings"] = sampler.sample()
        alive = {name: s.alive() for name, s in started.items()}
        print(f"load phase {load_s:.0f} s, listing phase {list_s:.0f} s")
        print_routes([*routes.values(), listing])
        print_memory(snapshots, sampler.peak, alive)
        bad = sum(r.server_errors + sum(r.errors.values()) for r in [*routes.values(), listing])
        dead = [n for n, ok in alive.items() if not ok]
        print(f"\n5xx + transport errors: {bad}; processes that died: {dead or 'none'}")
        return 1 if bad or dead else 0
    finally:
        procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())

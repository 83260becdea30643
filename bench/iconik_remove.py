"""Benchmark: "Remove from LucidLink" of 10,000 assets in nested collections, end to end on the local stack.

Starts its own Firestore / Cloud Tasks / S3 emulators (ports = manifest + offset), the iconik stand-in with 20 ms
latency per API call and a 50 requests/s limit (token bucket, 429 + Retry-After beyond it), and iconik_handler +
iconik_tasks as functions-framework processes. Seeds 10,000 assets (ORIGINAL + PPRO_PROXY on "LucidLink", the
local folder) under 1 root, 10 sub-collections and 100 leaf collections, optionally with copy faults on a few
assets, then has the stand-in fire the custom action at the root collection exactly as iconik would.

Prints: wall time (custom action fired -> run done in Firestore), iconik API calls received per asset (counted by
the stand-in, 429 answers included), the longest iconik_tasks invocation (from its request logs), 429s received,
assets kept (copy not confirmed) and assets lost (ORIGINAL neither intact on LucidLink nor byte-identical in the
bucket). Targets (issue 3): wall <= 1.25 x (calls / 50 per second), longest invocation < 60 s, zero assets lost.

Usage: .venv/bin/python bench/iconik_remove.py [--assets 10000] [--faults 20] [--client-rate 48] [--keep]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT), str(ROOT / "tests")]

from localdev.iconik.seed import content, nested_tree
from localdev.processes import Group
from localdev.stack import Stack
from standins.iconik import APP_ID, SECRET, Admin

FILE_SIZE = 1024


class Procs(Group):
    """Processes started by this benchmark (and only those), each logging into one temporary folder."""

    def __init__(self) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="bench-iconik-")))

    def start(self, service, env: dict[str, str], **options):
        """Start `service` with the stack's environment `env`; a function with only its own."""
        return super().start(service, dict(service.env) if service.isolated else {**env, **service.env}, **options)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--assets", type=int, default=10000)
    p.add_argument("--depth", type=int, default=2, help="levels of sub-collections under the root")
    p.add_argument("--fanout", type=int, default=10, help="sub-collections per collection")
    p.add_argument("--faults", type=int, default=20,
                   help="assets whose copy fails and as many whose copy is truncated (they must be kept)")
    p.add_argument("--latency-ms", type=float, default=20)
    p.add_argument("--server-rate", type=float, default=50, help="iconik's limit, requests/s")
    p.add_argument("--client-rate", type=int, default=48, help="our ICONIK_RATE_LIMIT, requests/s")
    p.add_argument("--offset", type=int, default=int(os.environ.get("MAM_BENCH_PORT_OFFSET", "5300")))
    p.add_argument("--keep", action="store_true", help="leave the processes running afterwards")
    return p.parse_args()


def longest_invocation(log: Path) -> tuple[float, int]:
    """(longest iconik_tasks request in seconds, number of step requests) from the function's JSON log."""
    longest, count = 0.0, 0
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") == "request" and entry.get("function") == "iconik_tasks" and entry.get("path") == "/step":
            longest, count = max(longest, float(entry["ms"]) / 1000), count + 1
    return longest, count


def count_lost(stack: Stack, info: dict, asset_ids: list[str]) -> tuple[int, int, int]:
    """(lost, still on LucidLink, confirmed in the bucket) over every asset's ORIGINAL."""
    from localdev.b2.client import for_stack

    s3 = for_stack(stack)  # the stack's local B2 checks signatures: sign with the stack's key
    etags: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="mam-local", Prefix=info["prefix"]):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".mov"):
                etags[obj["Key"].split("/")[1]] = obj["ETag"].strip('"')
    ll_root = Path(info["lucidlink_dir"])
    lost = on_ll = in_b2 = 0
    for aid in asset_ids:
        want = content(aid, "ORIGINAL", FILE_SIZE)
        originals = list((ll_root / aid / "original").glob("*.mov")) if (ll_root / aid).exists() else []
        ll_ok = len(originals) == 1 and originals[0].read_bytes() == want
        b2_ok = etags.get(aid) == hashlib.md5(want).hexdigest()
        on_ll += ll_ok
        in_b2 += b2_ok
        lost += not (ll_ok or b2_ok)
    return lost, on_ll, in_b2


def main() -> int:
    args = parse_args()
    stack = Stack(offset=args.offset, state_dir=ROOT / ".local" / f"bench-iconik-{args.offset}")
    env = {**os.environ, **stack.env(), "ICONIK_RATE_LIMIT": str(args.client_rate), "LOG_LEVEL": "INFO"}
    os.environ.update(env)
    procs = Procs()
    try:
        emulators = {s.name: s for s in stack.emulators()}
        for name in ("firestore", "tasks", "s3"):
            procs.start(emulators[name], env)
        from localdev.bootstrap import ensure_bucket, ensure_queues

        ensure_bucket(stack)
        ensure_queues(stack)
        procs.start(next(s for s in stack.standins() if s.name == "iconik"), env)
        for name in ("iconik_handler", "iconik_tasks"):
            procs.start(stack.function(name, overrides={"ICONIK_RATE_LIMIT": str(args.client_rate), "LOG_LEVEL": "INFO"}),
                        env)
        admin = Admin(stack.url("iconik"))
        admin.reset(wipe_storage=True)
        info = admin.info()

        print(f"seeding {args.assets} assets (depth {args.depth}, fanout {args.fanout}) ...", flush=True)
        t0 = time.monotonic()
        seeded = admin.seed({**nested_tree(args.assets, depth=args.depth, fanout=args.fanout),
                             "formats": {"ORIGINAL": ["LL"], "PPRO_PROXY": ["LL"]}, "file_size": FILE_SIZE})
        all_ids = seeded["all_asset_ids"]
        n_collections = _count_collections(seeded["collections"][0])
        print(f"  seeded in {time.monotonic() - t0:.1f} s: {len(all_ids)} assets in {n_collections} collections")
        faulty = {a: "fail" for a in all_ids[1::max(1, len(all_ids) // max(1, args.faults))][:args.faults]}
        faulty.update({a: "truncate" for a in all_ids[3::max(1, len(all_ids) // max(1, args.faults))][:args.faults]
                       if a not in faulty})
        if faulty:
            admin.copy_faults(faulty)
        admin.config(latency_ms=args.latency_ms, rate_limit=args.server_rate, rate_burst=args.server_rate)
        admin.reset_stats()

        handler = stack.url("iconik_handler")
        url = f"{handler}/remove?b2_storage_id={info['b2_storage_id']}&ll_storage_id={info['ll_storage_id']}"
        started = time.monotonic()
        delivery = admin.fire(url=url, headers={"x-bz-secret": SECRET}, context="COLLECTION",
                              collection_ids=[seeded["collections"][0]["id"]], app_id=APP_ID)
        if delivery.get("status") != 200:
            print(f"handler answered {delivery}")
            return 1
        run_id = delivery["headers"]["X-Run-Id"]
        print(f"custom action answered 200 in {delivery['elapsed_ms']} ms; run {run_id}", flush=True)
        run = _watch(handler, run_id)
        wall = time.monotonic() - started
        stats = admin.stats()
        longest, steps = longest_invocation(procs.logs / "iconik_tasks.log")
        lost, on_ll, in_b2 = count_lost(stack, info, all_ids)
        calls = stats["total"]
        budget = 1.25 * calls / args.server_rate
        summary = run.get("summary") or {}
        print()
        print(f"run status            {run['status']}: {run.get('message')}")
        print(f"assets                {len(all_ids)} in {n_collections} collections; copy faults injected on "
              f"{len(faulty)}")
        print(f"wall time             {wall:.1f} s   (target <= 1.25 x calls/{args.server_rate:g}/s = {budget:.1f} s)"
              f"  {'OK' if wall <= budget else 'MISSED'}")
        print(f"iconik API calls      {calls} received = {calls / len(all_ids):.2f} per asset "
              f"(by route: {json.dumps(_top_routes(stats['by_route']))})")
        print(f"longest invocation    {longest:.1f} s over {steps} step deliveries  (target < 60 s)  "
              f"{'OK' if longest < 60 else 'MISSED'}")
        print(f"429s received         {stats['status_429']} (rate-limited {stats['rate_limited']})")
        print(f"assets                done {summary.get('done')}, kept {summary.get('kept')}, failed "
              f"{summary.get('failed')}, pending {summary.get('pending')}")
        print(f"assets lost           {lost}  (ORIGINAL intact on LucidLink: {on_ll}, byte-identical on B2: {in_b2})"
              f"  {'OK' if lost == 0 else 'MISSED'}")
        print(f"logs                  {procs.logs}")
        return 0 if (wall <= budget and longest < 60 and lost == 0) else 2
    finally:
        if not args.keep:
            procs.stop_all()


def _count_collections(node: dict) -> int:
    return 1 + sum(_count_collections(c) for c in node.get("collections", []))


def _top_routes(by_route: dict[str, int]) -> dict[str, int]:
    return dict(sorted(by_route.items(), key=lambda kv: -kv[1])[:8])


def _watch(handler: str, run_id: str, timeout: float = 4 * 3600) -> dict:
    import requests

    end = time.monotonic() + timeout
    last = ""
    while time.monotonic() < end:
        resp = requests.get(f"{handler}/runs/{run_id}", headers={"x-bz-secret": SECRET}, timeout=30)
        if resp.status_code == 200:
            run = resp.json()
            line = f"phase {run['phase']}, assets {run.get('assets_total')}, processed {run.get('processed')}"
            if line != last:
                print(f"  {time.strftime('%H:%M:%S')} {line}", flush=True)
                last = line
            if run["phase"] == "done":
                return run
        time.sleep(2)
    raise TimeoutError(f"run {run_id} did not finish")


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: memory of the local B2 under version listings, moto's own answer vs the strict layer's (issue 12).

For each mode, starts a fresh local B2 (`python -m localdev.b2`, with `--moto-versions` for moto's answer: moto
5.2.5 deep-copies every version of every key in the bucket per listing), writes KEYS objects of SIZE MB, then sends
exactly LISTINGS version listings of one video's folder from CONCURRENCY threads (what the library's delete does).
Prints the B2 process's resident memory (VmRSS) after the writes and after the listings, its peak (VmHWM), and the
listing latency p50/p95. moto's answer can take the machine's memory (10 GB after a few hundred listings here):
a mode stops sending listings once the process passes --max-rss-mb, and says after how many.

Usage: .venv/bin/python bench/b2_versions_memory.py [--keys 200] [--size-mb 1] [--listings 500] [--concurrency 4]
       [--mode both|moto|layer] [--max-rss-mb 3000]
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT), str(ROOT / "tests")]

from standins.b2 import LocalB2

BUCKET = "mam-local"


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MB, from /proc."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) / 1024
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def run(mode: str, keys: int, size_mb: float, listings: int, concurrency: int, max_rss_mb: float) -> dict[str, float]:
    """One fresh local B2 in `mode`: write, measure, list (a fixed count), measure."""
    args = ("--moto-versions",) if mode == "moto" else ()
    with LocalB2(buckets=(BUCKET,), args=args) as b2:
        s3 = b2.client(max_pool_connections=concurrency)
        body = b"\0" * int(size_mb * (1 << 20))
        for i in range(keys):
            s3.put_object(Bucket=BUCKET, Key=f"videos/{i:04d}/source.mp4", Body=body)
        del body
        start = memory_mb(b2.pid)

        too_big = threading.Event()  # the guard: no more listings once the process is past max_rss_mb

        def list_one(n: int) -> float | None:
            if too_big.is_set():
                return None
            t = time.perf_counter()
            resp = s3.list_object_versions(Bucket=BUCKET, Prefix=f"videos/{n % keys:04d}/")
            took = time.perf_counter() - t
            assert len(resp["Versions"]) == 1, resp
            if memory_mb(b2.pid)["VmRSS"] > max_rss_mb:
                too_big.set()
            return took

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            took = [t for t in pool.map(list_one, range(listings)) if t is not None]
        wall = time.perf_counter() - t0
        end = memory_mb(b2.pid)
    return {"rss_start": start["VmRSS"], "rss_end": end["VmRSS"], "peak": end["VmHWM"], "p50": pct(took, 50) * 1000,
            "p95": pct(took, 95) * 1000, "wall": wall, "sent": len(took)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--size-mb", type=float, default=1.0)
    ap.add_argument("--listings", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--mode", choices=("both", "moto", "layer"), default="both")
    ap.add_argument("--max-rss-mb", type=float, default=3000.0,
                    help="stop sending listings once the local B2 holds this much (default 3000)")
    args = ap.parse_args()
    modes = ("moto", "layer") if args.mode == "both" else (args.mode,)
    print(f"local B2: {args.keys} objects x {args.size_mb:g} MB, then {args.listings} ListObjectVersions of one "
          f"folder each from {args.concurrency} threads (fresh process per mode)")
    print(f"{'answered by':<34}{'RSS after writes':>17}{'RSS after lists':>16}{'peak RSS':>10}"
          f"{'list p50':>10}{'list p95':>10}{'wall':>8}  listings sent")
    for mode in modes:
        r = run(mode, args.keys, args.size_mb, args.listings, args.concurrency, args.max_rss_mb)
        label = "moto (before the fix)" if mode == "moto" else "strict layer (localdev/b2/versions)"
        print(f"{label:<34}{r['rss_start']:>14.0f} MB{r['rss_end']:>13.0f} MB{r['peak']:>7.0f} MB"
              f"{r['p50']:>7.1f} ms{r['p95']:>7.1f} ms{r['wall']:>6.1f} s  {r['sent']}"
              + (f" (stopped: past {args.max_rss_mb:.0f} MB)" if r["sent"] < args.listings else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: POST /status for 20 videos vs GET /health of the same upload_status function, same run.

Starts its own Firestore emulator, a counting proxy in front of it, and upload_status under
functions-framework (the local stack's command line), seeds 20 videos, then drives both routes with the same
keep-alive HTTP client and concurrency, alternating rounds so drift hits both alike. Prints requests/s of each
route, their ratio (target >= 0.5), the CPU each request cost the function and the emulator (both share this
machine's two cores with the load generator), and the Firestore RPCs per status call (target: one BatchGetDocuments),
counted on the wire by the proxy (HTTP/1.1 request lines, or HTTP/2 HEADERS frames decoded with HPACK), not by
trusting the code.

Usage: .venv/bin/python bench/upload_status.py [--requests 2000] [--rounds 3] [--concurrency 8] [--videos 20]
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import json
import os
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from localdev.processes import Group, free_port
from localdev.stack import Stack


# ---- a TCP proxy that counts Firestore calls by method: gRPC (HTTP/2 HEADERS) and REST (HTTP/1.1 requests) ------
class CallCounter:
    """Forwards bytes both ways; parses the client->server bytes (HTTP/2 frames or HTTP/1.1 requests) to count
    calls per path, whichever protocol a connection speaks (the emulator's port serves both, like Firestore)."""

    PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.calls: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(5)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        from hpack import Decoder

        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        decoder = Decoder()
        buf = bytearray()
        state = {"protocol": None, "block": bytearray(), "stream": 0}

        def parse() -> None:
            if state["protocol"] is None:
                if len(buf) < len(self.PREFACE) and self.PREFACE.startswith(bytes(buf)):
                    return
                state["protocol"] = "h2" if buf.startswith(self.PREFACE) else "http/1.1"
                if state["protocol"] == "h2":
                    del buf[: len(self.PREFACE)]
            if state["protocol"] == "http/1.1":
                return parse_http1()
            while len(buf) >= 9:
                length = int.from_bytes(buf[0:3], "big")
                if len(buf) < 9 + length:
                    return
                ftype, flags = buf[3], buf[4]
                stream = struct.unpack(">I", bytes(buf[5:9]))[0] & 0x7FFFFFFF
                payload = bytes(buf[9 : 9 + length])
                del buf[: 9 + length]
                if ftype == 0x1:  # HEADERS
                    pad = payload[0] if flags & 0x8 else 0
                    start = (1 if flags & 0x8 else 0) + (5 if flags & 0x20 else 0)
                    block = payload[start : len(payload) - pad]
                    state["block"], state["stream"] = bytearray(block), stream
                    if flags & 0x4:
                        self._count(decoder, bytes(state["block"]))
                elif ftype == 0x9 and stream == state["stream"]:  # CONTINUATION
                    state["block"] += payload
                    if flags & 0x4:
                        self._count(decoder, bytes(state["block"]))

        def parse_http1() -> None:  # keep-alive requests back to back, each with a Content-Length body
            while (end := buf.find(b"\r\n\r\n")) >= 0:
                head = bytes(buf[:end]).decode("latin1").split("\r\n")
                lengths = [h.split(":", 1)[1] for h in head[1:] if h.lower().startswith("content-length:")]
                size = int(lengths[0]) if lengths else 0
                if len(buf) < end + 4 + size:
                    return
                del buf[: end + 4 + size]
                with self._lock:
                    self.calls[head[0].split(" ")[1]] += 1

        async def pump(reader, writer, inspect: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if inspect:
                        buf.extend(data)
                        parse()
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        await asyncio.gather(pump(client_r, server_w, True), pump(server_r, client_w, False))

    def _count(self, decoder, block: bytes) -> None:
        headers = {(k.decode() if isinstance(k, bytes) else k): v for k, v in decoder.decode(block, raw=True)}
        path = headers.get(":path", b"?")
        with self._lock:
            self.calls[path.decode() if isinstance(path, bytes) else path] += 1


# ---- load --------------------------------------------------------------------------------------------------------
async def _drive(url: str, method: str, body: bytes | None, headers: dict[str, str], requests: int,
                 concurrency: int, expect: int) -> tuple[int, float]:
    """Send exactly `requests` requests from `concurrency` workers; return (answers as expected, seconds taken)."""
    import aiohttp

    done = 0
    errors = 0
    left = requests  # bounded by a count, never by a time budget
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal done, errors, left
            while left > 0:
                left -= 1
                try:
                    async with session.request(method, url, data=body, headers=headers) as resp:
                        await resp.read()
                        if resp.status == expect:
                            done += 1
                        else:
                            errors += 1
                except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                    continue  # the server closed an idle keep-alive connection under us: just reconnect

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{errors} unexpected answers from {url}")
    return done, elapsed


def _post_status(url: str, body: bytes, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers)) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        if exc.code != 304:
            raise
        return 304


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    family, grew = {pid}, True
    while grew:
        kids = {p for p, parent in parents.items() if parent in family} - family
        family |= kids
        grew = bool(kids)
    return sum(ticks.get(p, 0) for p in family) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(stolen, total) CPU ticks of the whole machine so far, from /proc/stat: a virtual machine's host can take
    its cores away, which slows every route but not alike, so each run says how much was taken."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    return (values[7] if len(values) > 7 else 0), sum(values[:8])


def _measure(base: str, body: bytes, etag: str, args, pids: dict[str, int]) -> dict[str, dict[str, float]]:
    """req/s of /health, /status (200) and /status (304) on one instance, rounds interleaved; plus the CPU ms per
    request spent by each process in `pids` (the function, the emulator) while that route was driven."""
    jh = {"Content-Type": "application/json"}
    routes = {
        "health": (base + "/health", "GET", None, {}, 200),
        "status": (base + "/status", "POST", body, jh, 200),
        "status_304": (base + "/status", "POST", body, {**jh, "If-None-Match": etag}, 304),
    }
    totals = {name: [0, 0.0] for name in routes}
    cpu = {name: dict.fromkeys(pids, 0.0) for name in routes}
    stolen = {name: [0, 0] for name in routes}
    for r in routes.values():  # warm-up (imports, connections, presign cache)
        asyncio.run(_drive(*r[:4], max(1, args.requests // 10), args.concurrency, r[4]))
    for _ in range(args.rounds):
        for name, r in routes.items():
            before = {k: tree_cpu(p) for k, p in pids.items()}
            ticks = machine_ticks()
            n, t = asyncio.run(_drive(*r[:4], args.requests, args.concurrency, r[4]))
            for k, p in pids.items():
                cpu[name][k] += tree_cpu(p) - before[k]
            after = machine_ticks()
            stolen[name][0] += after[0] - ticks[0]
            stolen[name][1] += after[1] - ticks[1]
            totals[name][0] += n
            totals[name][1] += t
    return {name: {"rps": n / t, **{f"{k}_cpu_ms": 1000 * cpu[name][k] / max(n, 1) for k in pids},
                   "steal_pct": 100 * stolen[name][0] / max(stolen[name][1], 1)}
            for name, (n, t) in totals.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000, help="requests per measuring round per route")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--videos", type=int, default=20)
    args = ap.parse_args()

    stack = Stack(offset=int(os.environ.get("MAM_BENCH_PORT_OFFSET", "2000")), state_dir=ROOT / ".local" / "bench")
    logs = ROOT / ".local" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    procs = Group(logs)

    def instance(name: str, extra: dict[str, str]) -> tuple[str, int]:
        """One more upload_status process, with only its deployed environment (plus `extra` settings)."""
        port = free_port()
        svc = dataclasses.replace(stack.function("upload_status", port, {"LOG_LEVEL": "WARNING", **extra}), name=name)
        return f"http://127.0.0.1:{port}", procs.start(svc, svc.env).pid

    try:
        firestore = next(s for s in stack.emulators() if s.name == "firestore")
        firestore_pid = procs.start(firestore, {**os.environ, **stack.env()}).pid
        proxy = CallCounter(firestore.port)
        # Instances of the same function (the local stack's command line): as shipped (coalesced reads), with
        # coalescing off (one read per call, always), and one behind the counting proxy for the RPC figures.
        # Throughput instances talk straight to the emulator so the Python proxy adds no latency.
        shipped, shipped_pid = instance("upload_status_shipped", {})
        plain, plain_pid = instance("upload_status_uncoalesced", {"STATUS_COALESCE": "0"})
        counted, _ = instance("upload_status_counted", {"FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{proxy.port}"})

        os.environ.update(stack.env())
        from mam import store
        from mam.videos import UPLOADED, Video, new_video_id

        ids = []
        for i in range(args.videos):
            v = Video(id=new_video_id(), title=f"bench {i}", status=UPLOADED, b2_thumbnail=f"uploads/b{i}/thumbnail.jpg",
                      b2_web=f"uploads/b{i}/web.mp4")
            store.create_video(v)
            ids.append(v.id)
        body = json.dumps({"ids": ids}).encode()
        jh = {"Content-Type": "application/json"}
        with urllib.request.urlopen(urllib.request.Request(shipped + "/status", data=body, headers=jh)) as resp:
            etag = resp.headers["ETag"]
            assert len(json.loads(resp.read())["videos"]) == args.videos

        figures = {"shipped": _measure(shipped, body, etag, args, {"function": shipped_pid, "emulator": firestore_pid}),
                   "uncoalesced": _measure(plain, body, etag, args, {"function": plain_pid, "emulator": firestore_pid})}
        rps = {mode: {route: f["rps"] for route, f in r.items()} for mode, r in figures.items()}

        calls = 50
        proxy.reset()
        for i in range(calls):  # sequential; half conditional (a 304 costs the same single read)
            _post_status(counted + "/status", body, {**jh, **({"If-None-Match": etag} if i % 2 else {})})
        sequential = proxy.snapshot()
        proxy.reset()
        for _ in range(calls):
            urllib.request.urlopen(counted + "/health").read()
        health_rpcs = proxy.snapshot()
        proxy.reset()
        n_loaded, _ = asyncio.run(_drive(counted + "/status", "POST", body, jh, 2.0, args.concurrency, 200))
        loaded = proxy.snapshot()

        def per_call(snap: dict[str, int], n: int) -> dict[str, float]:
            return {k.rsplit("/", 1)[-1]: round(v / n, 3) for k, v in snap.items()}

        result = {
            "videos": args.videos, "concurrency": args.concurrency, "requests_per_route": args.requests * args.rounds,
            **{f"{mode}_{route}_rps": round(v, 1) for mode, r in rps.items() for route, v in r.items()},
            "ratio_status_to_health": round(rps["shipped"]["status"] / rps["shipped"]["health"], 3),
            "ratio_304_to_health": round(rps["shipped"]["status_304"] / rps["shipped"]["health"], 3),
            "ratio_uncoalesced_status_to_health": round(rps["uncoalesced"]["status"] / rps["uncoalesced"]["health"], 3),
            "firestore_rpcs_per_status_call_sequential": per_call(sequential, calls),
            "firestore_rpcs_per_status_call_under_load": per_call(loaded, max(n_loaded, 1)),
            "firestore_rpcs_per_health_call": round(sum(health_rpcs.values()) / calls, 3),
            **{f"{mode}_{route}_{k}": round(v, 3) for mode, r in figures.items() for route, f in r.items()
               for k, v in f.items() if k.endswith("_cpu_ms") or k == "steal_pct"},
        }
        print(f"upload_status under functions-framework (gunicorn, THREADS={stack.function_env('upload_status')['THREADS']}), Firestore emulator, "
              f"{args.videos} videos per call, concurrency {args.concurrency}, {args.rounds} x {args.requests} requests per route")
        for mode, r in rps.items():
            print(f"  [{mode}] GET /health {r['health']:7.1f} req/s | POST /status {r['status']:7.1f} req/s "
                  f"(ratio {r['status'] / r['health']:.3f}) | 304 {r['status_304']:7.1f} req/s "
                  f"(ratio {r['status_304'] / r['health']:.3f})")
            f = figures[mode]
            print("      CPU ms per request (function / emulator): " + " | ".join(
                f"{route} {f[route]['function_cpu_ms']:.2f} / {f[route]['emulator_cpu_ms']:.2f}" for route in f))
            print("      machine CPU stolen by the host while driving: " + " | ".join(
                f"{route} {f[route]['steal_pct']:.1f}%" for route in f))
        print(f"  Firestore RPCs per status call: sequential {result['firestore_rpcs_per_status_call_sequential']}, "
              f"under load (concurrency {args.concurrency}) {result['firestore_rpcs_per_status_call_under_load']}; "
              f"per health call {result['firestore_rpcs_per_health_call']}")
        print(json.dumps(result))
        return 0
    finally:
        procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())

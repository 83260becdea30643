"""Cold import time of every function in the manifest: a fresh interpreter imports its main.py, as on a cold start.

Usage: .venv/bin/python bench/cold_imports.py [--runs 5]
Prints, per function, the median and best of N runs of importing its main.py on top of functions-framework and
Flask (which the runtime loads first either way, shown as a baseline), with the local stack's settings.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from localdev.stack import Stack, manifest  # noqa: E402

PROBE = """
import importlib.util, sys, time
t_ff = time.perf_counter()
import functions_framework, flask  # what the runtime loads before our code either way
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("main", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
getattr(module, sys.argv[2])
print(f"{(t0 - t_ff) * 1000:.1f} {(time.perf_counter() - t0) * 1000:.1f} {len(sys.modules)}")
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    stack = Stack()
    print(f"{'function':<20} {'median ms':>10} {'best ms':>9} {'modules':>8} {'baseline ms':>12}")
    for f in manifest()["functions"]:
        main_py = ROOT / "functions" / f["source"] / "main.py"
        if not main_py.exists():
            print(f"{f['name']:<20} {'missing':>10}")
            continue
        times, base, mods = [], [], 0
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, "-c", PROBE, str(main_py), f["entry_point"]],
                                 env=stack.function_env(f["name"]),  # what it gets deployed, no more
                                 capture_output=True, text=True, timeout=120)
            if out.returncode != 0:
                print(f"{f['name']:<20} import failed: {out.stderr.strip().splitlines()[-1:]}")
                break
            base_ms, ms, mods_s = out.stdout.split()
            times.append(float(ms))
            base.append(float(base_ms))
            mods = int(mods_s)
        else:
            print(f"{f['name']:<20} {statistics.median(times):>10.1f} {min(times):>9.1f} {mods:>8} "
                  f"{statistics.median(base):>12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The front end's indexing line (frontend/src/format.ts: stopwatch, roughly, indexingText), run in Node.

format.ts imports nothing, so the project's own TypeScript (frontend/node_modules) transpiles it to a module Node
can import; each case is evaluated there and compared here.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
STARTED = "2026-01-02T03:04:05Z"
T0 = 1767323045000  # STARTED in epoch milliseconds

RUNNER = r"""
const ts = require(process.argv[1]);
const fs = require('fs');
const src = fs.readFileSync(process.argv[2], 'utf8');
const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } });
const m = { exports: {} };
new Function('module', 'exports', js.outputText)(m, m.exports);
const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(cases.map(([fn, args]) => m.exports[fn](...args))));
"""


def run(cases: list[tuple[str, list]]) -> list:
    node = shutil.which("node")
    assert node, "node is needed (scripts/setup.sh installs it with the front end's packages)"
    tsc = FRONTEND / "node_modules" / "typescript"
    assert tsc.exists(), "frontend/node_modules is missing: npm ci in frontend/"
    out = subprocess.run([node, "-e", RUNNER, str(tsc), str(FRONTEND / "src" / "format.ts")],
                         input=json.dumps(cases), capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


STOPWATCH = [(0, "0:00"), (7.9, "0:07"), (83, "1:23"), (600, "10:00"), (3723, "1:02:03"), (-5, "0:00")]
ROUGHLY = [(5, "less than a minute"), (59, "less than a minute"), (100, "about 2 min"), (150, "about 3 min"),
           (3600, "about 1 h"), (4200, "about 1 h 10 min")]
INDEXING = [
    ("indexing", {"index_started_at": STARTED, "index_estimate_seconds": 203}, T0 + 83_000,
     "Indexing — 1:23 elapsed, about 2 min left"),
    ("queued", {"index_started_at": STARTED, "index_estimate_seconds": 40}, T0 + 7_000,
     "Indexing — 0:07 elapsed, less than a minute left"),
    ("indexing", {"index_started_at": STARTED, "index_estimate_seconds": 40}, T0 + 95_000,
     "Indexing — 1:35 elapsed, taking longer than expected"),
    ("indexing", {"index_started_at": STARTED, "index_estimate_seconds": None}, T0 + 83_000,
     "Indexing — 1:23 elapsed"),
    ("indexing", {"index_started_at": STARTED, "index_progress": 40, "index_estimate_seconds": 203}, T0 + 83_000,
     "Indexing — 40 %"),
    ("sending", {"index_started_at": STARTED}, T0 - 3_000, "Indexing — 0:00 elapsed"),  # browser clock behind
    ("sending", {}, T0, "Indexing — starting"),
    ("ready", {"index_started_at": STARTED, "index_estimate_seconds": 40}, T0, None),
    ("uploaded", {}, T0, None),
]


def test_stopwatch():
    assert run([("stopwatch", [s]) for s, _ in STOPWATCH]) == [want for _, want in STOPWATCH]


def test_roughly():
    assert run([("roughly", [s]) for s, _ in ROUGHLY]) == [want for _, want in ROUGHLY]


@pytest.mark.parametrize("status, clock, now, want", INDEXING)
def test_indexing_text(status, clock, now, want):
    assert run([("indexingText", [status, clock, now])]) == [want]

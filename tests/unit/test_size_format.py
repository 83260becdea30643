"""The app's size text (frontend/src/format.ts `bytes`) reads exactly as Uppy's Dashboard shows the same file.

Uppy 6's Dashboard prints sizes with @transloadit/prettier-bytes (powers of 1024 labelled KB/MB/GB); the app used
powers of 1000, so a 3,600,000-byte file read "3.4 MB" while uploading and "3.6 MB" in the library. Both functions
run in Node: format.ts transpiled by the project's TypeScript, prettier-bytes as Uppy itself imports it.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
PRETTIER = FRONTEND / "node_modules" / "@transloadit" / "prettier-bytes" / "dist" / "prettierBytes.js"

RUNNER = r"""
const [tsPath, formatPath, prettierPath] = process.argv.slice(1);
const ts = require(tsPath);
const fs = require('fs');
const js = ts.transpileModule(fs.readFileSync(formatPath, 'utf8'),
  { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } });
const m = { exports: {} };
new Function('module', 'exports', js.outputText)(m, m.exports);
import(prettierPath).then(({ prettierBytes }) => {
  const sizes = JSON.parse(fs.readFileSync(0, 'utf8'));
  process.stdout.write(JSON.stringify(sizes.map((n) => [m.exports.bytes(n), prettierBytes(n)])));
});
"""

SIZES = [0, 1, 999, 1000, 1023, 1024, 1536, 10_239, 10_240, 999_999, 1_000_000, 1_048_576, 3_600_000, 3_565_158,
         10_485_759, 52_428_800, 123_456_789, 1_073_741_824, 1_610_612_736, 5_000_000_000, 2_199_023_255_552]


def _run(sizes: list[int]) -> list[list[str]]:
    node = shutil.which("node")
    assert node, "node is needed (scripts/setup.sh installs it with the front end's packages)"
    assert PRETTIER.exists(), "frontend/node_modules is missing: npm ci in frontend/"
    out = subprocess.run([node, "-e", RUNNER, str(FRONTEND / "node_modules" / "typescript"),
                          str(FRONTEND / "src" / "format.ts"), str(PRETTIER)],
                         input=json.dumps(sizes), capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def test_app_sizes_read_exactly_as_uppy_shows_them() -> None:
    pairs = _run(SIZES)
    assert [app for app, _ in pairs] == [uppy for _, uppy in pairs], list(zip(SIZES, pairs, strict=True))


def test_the_reported_file_reads_the_same_in_both() -> None:
    # the file: Uppy said 3.4 MB, the library 3.6 MB
    assert _run([3_600_000]) == [["3.4 MB", "3.4 MB"]]



FACTS_RUNNER = r"""
const ts = require(process.argv[1]);
const fs = require('fs');
const js = ts.transpileModule(fs.readFileSync(process.argv[2], 'utf8'),
  { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } });
const m = { exports: {} };
new Function('module', 'exports', js.outputText)(m, m.exports);
process.stdout.write(JSON.stringify(JSON.parse(fs.readFileSync(0, 'utf8')).map((v) => m.exports.mediaFacts(v))));
"""


def test_media_facts_line_on_library_tiles() -> None:
    videos = [{"duration": 4.02, "width": 320, "height": 240, "size": 3_600_000},
              {"duration": 3723, "width": None, "height": None, "size": None},
              {"duration": None, "width": 1920, "height": 1080, "size": 1_610_612_736},
              {"duration": None, "width": None, "height": None, "size": None},
              {"duration": 6.6, "width": None, "height": None, "size": None}]
    out = subprocess.run([shutil.which("node") or "node", "-e", FACTS_RUNNER,
                          str(FRONTEND / "node_modules" / "typescript"), str(FRONTEND / "src" / "format.ts")],
                         input=json.dumps(videos), capture_output=True, text=True, timeout=60, check=True)
    # durations in whole seconds rounded down, as the video page and players show them (6.6 s is 0:06 on both)
    assert json.loads(out.stdout) == ["0:04 · 320 × 240 · 3.4 MB", "1:02:03", "1920 × 1080 · 1.50 GB", None, "0:06"]

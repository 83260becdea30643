"""Schemathesis over every public function of the running local stack, against api/openapi.yaml.

Each function is fuzzed on the operations tagged with its name, with a fixed number of examples per operation from a
fixed seed (never a time budget) and four checks: no 5xx, documented status, documented content type, response body
matching its schema. Calls carry the demo user's ID token (an admin locally), so the routes behind sign-in are reached
too; iconik's custom actions are fuzzed without the shared secret (a stranger's view: 401 before anything else).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from fuzz.tally import EXAMPLES, SEED, Tally
from mam import manifest

SPEC = ROOT / "api" / "openapi.yaml"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
PUBLIC = [f.name for f in manifest.functions() if f.public]
# CPython 3.11's ast.parse can fail this way when called from a worker thread (hypothesis describes a filter's lambda
# with it); seen once with --workers 2
CPYTHON_AST_BUG = "AST constructor recursion depth mismatch"

pytestmark = pytest.mark.timeout(600)


def _st(url: str, tag: str, token: str, report: Path) -> subprocess.CompletedProcess[str]:
    cmd = [str(Path(sys.executable).parent / "st"), "run", str(SPEC), "--url", url, "--include-tag", tag,
           "--checks", CHECKS, "--max-examples", str(EXAMPLES), "--seed", str(SEED),
           "--phases", "examples,coverage,fuzzing", "--workers", "1", "--request-timeout", "30",
           "--header", f"Authorization: Bearer {token}", "--report", "ndjson", "--report-ndjson-path", str(report),
           "--no-color", "--warnings", "off"]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=560, cwd=report.parent)


def _count(report: Path, name: str) -> Tally:
    """What schemathesis sent and found, from its ndjson event stream."""
    operations: set[str] = set()
    tally = Tally(f"schemathesis {name}")
    for line in report.read_text().splitlines():
        event = json.loads(line)
        (kind, body), = event.items() if len(event) == 1 else [(None, None)]
        if kind == "ScenarioFinished":
            recorder = body.get("recorder", {})
            label = recorder.get("label")
            if label:
                operations.add(label)
            for interactions in recorder.get("interactions", {}).values():
                resp = (interactions or {}).get("response") or {}
                tally.requests += 1
                tally.statuses[resp.get("status_code", 0)] += 1
                if resp.get("status_code", 0) >= 500:
                    tally.server_errors += 1
            for case_checks in recorder.get("checks", {}).values():
                for check in case_checks or []:
                    if check.get("status") == "FAILURE":
                        tally.failures.append(f"{label}: {check.get('name')} {str(check.get('failure_info'))[:200]}")
    tally.operations = len(operations)
    return tally


@pytest.mark.parametrize("name", PUBLIC)
def test_public_function_conforms_to_the_contract(fuzz_stack, demo_token, tally, tmp_path, name):
    result = _st(fuzz_stack[name], name, demo_token, tmp_path / f"{name}.ndjson")
    if CPYTHON_AST_BUG in result.stdout:  # an interpreter bug inside schemathesis, not an answer of ours: once more
        result = _st(fuzz_stack[name], name, demo_token, tmp_path / f"{name}.ndjson")
    counted = _count(tmp_path / f"{name}.ndjson", name)
    tally.append(counted)
    assert result.returncode == 0 and not counted.failures, (result.stdout[-6000:] + result.stderr[-2000:])
    assert counted.operations > 0 and counted.requests > 0

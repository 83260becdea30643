"""api/openapi.yaml is the contract: every documented path and method is routed by the function it names."""
from __future__ import annotations

import re

import pytest
import yaml

from conftest import ROOT
from mam import manifest

SPEC = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
OPERATIONS = [(method.upper(), path, re.match(r"\[(\w+)\]", op.get("summary", "")).group(1))
              for path, ops in SPEC["paths"].items() for method, op in ops.items()
              if re.match(r"\[(\w+)\]", op.get("summary", ""))]


@pytest.fixture(scope="module")
def clients(emulators, stack_env):
    import functions_framework

    out = {}
    for name in {fn for _, _, fn in OPERATIONS}:
        spec = manifest.function(name)
        app = functions_framework.create_app(spec.entry_point, str(ROOT / "functions" / spec.source / "main.py"))
        out[name] = app.test_client()
    return out


def test_every_function_named_in_the_contract_is_public_in_the_manifest():
    for _, _, fn in OPERATIONS:
        assert manifest.function(fn).public, f"{fn} serves the public API but is private in the manifest"


@pytest.mark.parametrize("method,path,fn", OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_documented_operation_is_routed(clients, method, path, fn):
    concrete = re.sub(r"\{\w+\}", "no-such-id", path)
    resp = clients[fn].open(concrete, method=method, data=b"", headers={"Content-Type": "application/json"})
    body = resp.get_json(silent=True) or {}
    assert resp.status_code != 405, f"{fn} does not accept {method} {path}"
    assert not (resp.status_code == 404 and "no route" in body.get("error", {}).get("message", "")), \
        f"{fn} has no route for {path}"
    assert resp.status_code < 500, f"{method} {path} on {fn}: {resp.status_code} {body}"
    if resp.status_code >= 400:
        assert set(body.get("error", {})) >= {"code", "message"}, "errors must use the JSON error body"

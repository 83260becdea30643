"""Every route a public function serves is in api/openapi.yaml (the fuzz only reaches what the contract names)."""
from __future__ import annotations

import importlib.util
import re

import pytest
import yaml
from conftest import ROOT
from mam import manifest
from mam.http import Router

SPEC = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
DOCUMENTED = {(method.upper(), path, fn)
              for path, ops in SPEC["paths"].items() for method, op in ops.items()
              for fn in op.get("tags", [])}
PUBLIC = [f for f in manifest.functions() if f.public]


def _router_of(spec) -> Router:
    path = ROOT / "functions" / spec.source / "main.py"
    module_spec = importlib.util.spec_from_file_location(f"contract_coverage_{spec.name}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return next(v for v in vars(module).values() if isinstance(v, Router) and v.name == spec.name)


@pytest.mark.parametrize("spec", PUBLIC, ids=[f.name for f in PUBLIC])
def test_every_route_of_a_public_function_is_documented(stack_env, spec):
    router = _router_of(spec)
    documented = [(m, p) for m, p, fn in DOCUMENTED if fn == spec.name]
    assert documented, f"{spec.name} has no operation tagged with its name"
    missing = []
    for route in router._routes:
        if not any(m == route.method and route.pattern.match(re.sub(r"\{\w+\}", "x", p)) for m, p in documented):
            missing.append(f"{route.method} {route.pattern.pattern}")
    # iconik's custom-action route takes every method so that the secret is judged first; only POST is an operation
    missing = [m for m in missing if not (spec.name == "iconik_handler" and m.split()[0] in ("GET", "PUT", "PATCH",
                                                                                            "DELETE")
                                          and "op" in m)]
    assert not missing, f"{spec.name} serves routes api/openapi.yaml does not document: {missing}"

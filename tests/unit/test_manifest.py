"""The manifest is consistent with the code: every function has its source, entry point and pinned requirements."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mam import manifest

ROOT = Path(__file__).resolve().parents[2]
SHARED_PINS = dict(re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", (ROOT / "functions/mam/requirements.txt").read_text(), re.M))


@pytest.mark.parametrize("spec", manifest.functions(), ids=lambda s: s.name)
def test_function_source_entry_point_and_pins(spec):
    main = ROOT / "functions" / spec.source / "main.py"
    tree = ast.parse(main.read_text())
    entry = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == spec.entry_point]
    assert entry, f"{main} has no top-level function {spec.entry_point} (functions-framework needs a function)"
    assert ast.get_docstring(entry[0]) or ast.get_docstring(tree), f"{main}: document the entry point"
    reqs = (ROOT / "functions" / spec.source / "requirements.txt").read_text()
    lines = [l.strip() for l in reqs.splitlines() if l.strip() and not l.strip().startswith("#")]
    assert any(l.startswith("functions-framework==") for l in lines)
    for line in lines:
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)$", line)
        assert m, f"{spec.source}/requirements.txt: '{line}' is not pinned with =="
        name, version = m.groups()
        if name in SHARED_PINS:
            assert version == SHARED_PINS[name], f"{spec.source} pins {name}=={version}, shared package {SHARED_PINS[name]}"


def test_private_functions_are_task_entries_and_queues_exist():
    queues = set(manifest.load_raw()["queues"])
    for spec in manifest.functions():
        assert set(spec.queues) <= queues, f"{spec.name} uses an undeclared queue"
        assert 0 < spec.timeout <= 600
    ports = [s.port for s in manifest.functions()] + list(manifest.load_raw()["local"].values())
    assert len(ports) == len(set(ports)), "two local processes share a port"

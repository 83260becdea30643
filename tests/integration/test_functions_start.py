"""Every function of the manifest starts under functions-framework and answers its health route; a bad setting
stops start-up with one message naming every problem."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from conftest import ROOT
from mam import manifest


@pytest.mark.parametrize("name", [s.name for s in manifest.functions()])
def test_health_route_answers(name, start_function, emulators):
    url = start_function(name)
    with urllib.request.urlopen(f"{url}/health", timeout=5) as resp:
        assert resp.status == 200 and json.loads(resp.read()) == {"ok": True, "function": name}


@pytest.mark.parametrize("name", [s.name for s in manifest.functions()])
def test_running_function_holds_only_its_own_secrets(name, start_function, processes, emulators):
    """Read from the live process (/proc/PID/environ): the fixtures start it with what it gets deployed, no more."""
    from localdev.stack import LOCAL_SECRETS, grants, template_secrets

    start_function(name)
    raw = open(f"/proc/{processes.procs[name].pid}/environ", "rb").read().split(b"\0")
    env = dict(item.decode().split("=", 1) for item in raw if b"=" in item)
    assert {k for k in env if k in template_secrets()} == grants(name)
    assert not {k for k in env if k.startswith("AWS_")}
    for secret in template_secrets() - grants(name):  # nor under another name
        if secret in LOCAL_SECRETS:
            assert LOCAL_SECRETS[secret] not in env.values(), secret


def test_missing_settings_stop_start_up_naming_every_problem(stack_env):
    spec = manifest.function("upload_status")
    env = {**os.environ, "GCP_PROJECT": "", "TRANSLOADIT_AUTH_SECRET": "", "UPLOAD_MAX_BYTES": "lots"}
    probe = ("import importlib.util,sys; s=importlib.util.spec_from_file_location('main', sys.argv[1]); "
             "m=importlib.util.module_from_spec(s); s.loader.exec_module(m)")
    out = subprocess.run([sys.executable, "-c", probe, str(ROOT / "functions" / spec.source / "main.py")],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "GCP_PROJECT is required" in out.stderr
    assert "TRANSLOADIT_AUTH_SECRET is required" in out.stderr
    assert "UPLOAD_MAX_BYTES must be an integer" in out.stderr
    assert "local-transloadit" not in out.stderr  # no secret value in the message

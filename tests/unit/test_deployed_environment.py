"""Each function starts with exactly what it gets when deployed: the settings of .env.yaml.template (deploy.sh
passes them to every function) plus only the secrets functions/manifest.yaml grants it — no local-stack variable.

Every import runs in a fresh interpreter whose environment is built from those two files alone, so a function that
reads a setting or secret it is not given fails here as it would fail on Cloud Run.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from localdev.stack import Stack, grants, manifest, template_secrets, template_settings

ROOT = Path(__file__).resolve().parents[2]
IMPORT = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("main", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assert callable(getattr(module, sys.argv[2]))
"""
FUNCTIONS = manifest()["functions"]


def _deployed_env(secrets: frozenset[str]) -> dict[str, str]:
    """The template's example settings, placeholder values of `secrets`, and what the interpreter needs to run.
    PYTHONPATH stands in for deploy.sh staging the shared package beside main.py."""
    placeholders = {name: f"placeholder-{name.lower()}" for name in secrets}
    return {**template_settings(), **placeholders, "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT / "functions"), "FUNCTIONS_BASE_URL": "https://us-central1-p.cloudfunctions.net",
            "THREADS": "8"}


def _import(function: dict, env: dict[str, str]) -> subprocess.CompletedProcess:
    main_py = ROOT / "functions" / function["source"] / "main.py"
    return subprocess.run([sys.executable, "-c", IMPORT, str(main_py), function["entry_point"]], env=env, cwd="/",
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f["name"])
def test_function_imports_with_only_its_deployed_settings_and_secrets(function):
    out = _import(function, _deployed_env(grants(function["name"])))
    assert out.returncode == 0, f"{function['name']} cannot start as deployed:\n{out.stderr[-1500:]}"


def test_the_old_upload_status_grant_fails_as_it_did_on_cloud_run():
    """The defect this guards against: upload_status signs B2 URLs but was granted only the TransloadIt secret."""
    upload_status = next(f for f in FUNCTIONS if f["name"] == "upload_status")
    out = _import(upload_status, _deployed_env(frozenset({"TRANSLOADIT_AUTH_SECRET"})))
    assert out.returncode != 0
    assert "B2_APPLICATION_KEY is required (b2) but not set" in out.stderr


def test_manifest_grants_only_documented_secrets():
    documented = template_secrets()
    for function in FUNCTIONS:
        assert grants(function["name"]) <= documented, function["name"]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f["name"])
def test_local_function_environment_is_the_deployed_one(function):
    """The local runner and the fixtures give a function its own secrets only, never the stack's union."""
    env = Stack(offset=0).function_env(function["name"])
    secrets = {k for k in env if k in template_secrets()}
    assert secrets == grants(function["name"])
    assert set(template_settings()) <= set(env)
    assert not {k for k in env if k.startswith("AWS_")}
    assert "MAM_STATE_DIR" not in env and "GOOGLE_CLOUD_PROJECT" not in env


def test_a_test_cannot_hand_a_function_a_secret_it_is_not_granted():
    with pytest.raises(ValueError, match="index_tasks does not get TWELVELABS_WEBHOOK_SECRET"):
        Stack(offset=0).function_env("index_tasks", {"TWELVELABS_WEBHOOK_SECRET": "x"})

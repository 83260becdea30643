"""deploy.sh against a recording fake `gcloud` on PATH: the plan covers every manifest entry, and runs are idempotent."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "functions" / "manifest.yaml").read_text())
SECRETS = sorted({s for f in MANIFEST["functions"] for s in f.get("secrets", [])})


@pytest.fixture
def fake_env(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(ROOT / "tests" / "deploy" / "fake_gcloud", bin_dir / "gcloud")
    env_file = tmp_path / "env.yaml"
    env_file.write_text((ROOT / ".env.yaml.template").read_text())
    log = tmp_path / "gcloud.log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_GCLOUD_LOG": str(log)}
    return env, env_file, log


def deploy(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "deploy.sh"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_dry_run_prints_every_function_queue_and_secret_and_runs_nothing(fake_env):
    env, env_file, log = fake_env
    result = deploy(env, "--dry-run", "--env-file", str(env_file))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert not log.exists(), "a dry run must not call gcloud"
    for f in MANIFEST["functions"]:
        line = next(l for l in out.splitlines() if f"functions deploy {f['name']} " in l)
        assert f"--entry-point={f['entry_point']}" in line and f"--source=build/{f['name']}" in line
        assert ("--allow-unauthenticated" if f["public"] else "--no-allow-unauthenticated") in line
        for s in f.get("secrets", []):
            assert f"{s}=mam-{s.lower().replace('_', '-')}:" in line
        assert (f"add-invoker-policy-binding {f['name']} " in out) == (not f["public"])
    for q in MANIFEST["queues"]:
        assert f"tasks queues create {q} " in out and f"tasks queues update {q} " in out
    for s in SECRETS:
        assert f"secrets create mam-{s.lower().replace('_', '-')} " in out
    assert "firestore databases create" in out and "services enable" in out
    assert "scripts/publish_frontend.py" in out


def test_real_run_creates_in_order_pins_secrets_and_never_echoes_them(fake_env):
    env, env_file, log = fake_env
    secret_values = {s: f"s3cr3t-value-of-{s}" for s in SECRETS}
    result = deploy({**env, **secret_values}, "--env-file", str(env_file), "--skip-frontend")
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    index = {c: i for i, c in enumerate(calls)}

    def first(fragment: str) -> int:
        return next(i for c, i in index.items() if fragment in c)

    for s in SECRETS:
        name = f"mam-{s.lower().replace('_', '-')}"
        assert any(f"secrets versions add {name} --data-file=- <stdin:{len(secret_values[s])} bytes>" in c for c in calls)
    for value in secret_values.values():
        assert value not in result.stdout and value not in result.stderr and value not in log.read_text()
    deploys = [first(f"functions deploy {f['name']} ") for f in MANIFEST["functions"]]
    assert first("services enable") < first("secrets create") < first("tasks queues create") < min(deploys)
    assert all(":7" in calls[i] for i in deploys if "--set-secrets" in calls[i])  # pinned to the newest version
    for f in MANIFEST["functions"]:
        staged = ROOT / "build" / f["name"]
        assert (staged / "main.py").exists() and (staged / "mam" / "manifest.yaml").exists()
        assert (staged / "requirements.txt").exists()
        env_vars = yaml.safe_load((staged / ".env.deploy.yaml").read_text())
        assert env_vars["FUNCTIONS_BASE_URL"] and env_vars["GCP_PROJECT"] == "my-mam-project"


def test_second_run_creates_nothing_that_exists(fake_env):
    env, env_file, log = fake_env
    result = deploy({**env, "FAKE_GCLOUD_EXISTS": "1"}, "--env-file", str(env_file), "--skip-frontend")
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert not [c for c in calls if " create " in c], "existing resources must not be created again"
    assert sum(" functions deploy " in c for c in calls) == len(MANIFEST["functions"])


def test_missing_env_file_is_a_clear_error(fake_env):
    env, _, log = fake_env
    result = deploy(env, "--env-file", "/nonexistent/env.yaml")
    assert result.returncode == 1 and "copy .env.yaml.template" in result.stderr
    assert not log.exists()


@pytest.mark.skipif((ROOT / ".env.yaml").exists(), reason="this checkout has a real .env.yaml")
def test_dry_run_on_a_fresh_clone_shows_the_plan_with_the_templates_values(fake_env):
    env, _, log = fake_env
    result = deploy(env, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert ".env.yaml.template" in result.stderr
    assert sum(" functions deploy " in l for l in result.stdout.splitlines()) == len(MANIFEST["functions"])
    real = deploy(env)  # a real run never falls back to example values
    assert real.returncode == 1 and "copy .env.yaml.template" in real.stderr
    assert not log.exists()

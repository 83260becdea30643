"""Start-up guard: a deployed function (Cloud Run sets K_SERVICE/K_REVISION/K_CONFIGURATION) refuses to start with
an emulator host or other local wiring in its environment; FIREBASE_AUTH_EMULATOR_HOST would turn off sign-in token
verification. Checked through settings loading (what every function runs at import) and a real import."""
from __future__ import annotations

import subprocess
import sys

import pytest
from mam.runtime import deployment_problems, local_wiring
from mam.settings import ConfigError, load_settings

from localdev.processes import ROOT
from localdev.stack import Stack, grants, manifest, template_settings

ENV = {"GCP_PROJECT": "p", "FRONTEND_ORIGIN": "https://media.example.com"}
CLOUD_RUN = {"K_SERVICE": "library", "K_REVISION": "library-00001-abc", "K_CONFIGURATION": "library"}


@pytest.mark.parametrize("variable", ["FIREBASE_AUTH_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST",
                                      "CLOUD_TASKS_EMULATOR_HOST", "STORAGE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST",
                                      "MAM_LOCAL", "FUNCTION_URL_LIBRARY", "CLOUD_TASKS_OIDC_CERTS_URL"])
def test_a_deployed_function_refuses_local_wiring(variable):
    with pytest.raises(ConfigError) as err:
        load_settings("http", environ={**ENV, **CLOUD_RUN, variable: "127.0.0.1:9099"})
    assert variable in str(err.value) and "remove them" in str(err.value)


@pytest.mark.parametrize("marker", sorted(CLOUD_RUN))
def test_any_cloud_run_marker_is_enough(marker):
    assert deployment_problems({marker: "x", "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"})


def test_the_guard_names_every_variable_with_the_other_problems():
    with pytest.raises(ConfigError) as err:
        load_settings("http", environ={"GCP_PROJECT": "p", **CLOUD_RUN, "FIREBASE_AUTH_EMULATOR_HOST": "a:1",
                                       "FIRESTORE_EMULATOR_HOST": "a:2"})
    text = str(err.value)
    assert "FIREBASE_AUTH_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST" in text
    assert "FRONTEND_ORIGIN is required" in text  # one pass fixes everything


def test_clean_deployments_and_local_runs_start():
    assert load_settings("http", environ={**ENV, **CLOUD_RUN}).core.project == "p"
    assert load_settings("http", environ={**ENV, "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
                                          "MAM_LOCAL": "true"}).core.local
    assert local_wiring({"FIREBASE_AUTH_EMULATOR_HOST": ""}) == []  # an empty value points nowhere


def test_the_local_stack_does_not_look_like_cloud_run():
    """Locally every function gets the emulator hosts, so it must not get Cloud Run's markers."""
    env = Stack(offset=4000).function_env("library")
    assert not any(k in env for k in CLOUD_RUN) and "FIREBASE_AUTH_EMULATOR_HOST" in env
    assert deployment_problems(env) == []


IMPORT = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("main", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
"""


def test_a_real_function_import_fails_on_cloud_run_with_the_auth_emulator_set(tmp_path):
    fn = next(f for f in manifest()["functions"] if f["name"] == "library")
    env = {**template_settings(), **{k: "placeholder" for k in grants("library")}, "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(ROOT / "functions"), **CLOUD_RUN}
    main_py = str(ROOT / "functions" / fn["source"] / "main.py")
    run = lambda extra: subprocess.run([sys.executable, "-c", IMPORT, main_py], env={**env, **extra},
                                       capture_output=True, text=True, timeout=120, cwd=str(tmp_path), check=False)
    ok = run({})
    assert ok.returncode == 0, ok.stderr[-1500:]
    bad = run({"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"})
    assert bad.returncode != 0 and "ConfigError" in bad.stderr and "FIREBASE_AUTH_EMULATOR_HOST" in bad.stderr

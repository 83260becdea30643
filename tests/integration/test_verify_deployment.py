"""`./deploy.sh --verify --local` against the test stack: every check passes or says why it is skipped; a function
that is not running, or a bucket whose CORS rules do not allow the front end, is a FAIL with its fix."""
from __future__ import annotations

import json
import os
import subprocess
from typing import Iterator

import pytest

from conftest import ROOT
from localdev.stack import Stack
from mam import manifest

PRIVATE = {f.name for f in manifest.functions() if not f.public}


@pytest.fixture(scope="module")
def live_stack(stack: Stack, processes, firestore, s3, cloud_tasks, start_function, tmp_path_factory) -> Iterator[Stack]:
    """Every function of the manifest and a front end serving config.json, as scripts/dev.sh runs them.

    No check signs a user in, so the Auth emulator is not needed (nor started: fewer processes on a shared host)."""
    for spec in manifest.functions():
        start_function(spec.name)
    started_frontend = "frontend" not in processes.procs
    if started_frontend:  # only config.json is needed; scripts/dev.sh serves it next to the built site
        from localdev.bootstrap import write_frontend_config

        site = Stack(offset=stack.offset, state_dir=stack.state_dir, site_dir=tmp_path_factory.mktemp("site"))
        write_frontend_config(site)
        processes.start(site.frontend())
    yield stack
    if started_frontend:  # leave the port to the browser tests' front end, which serves the whole site
        processes.stop("frontend")


def verify(stack: Stack, *extra: str) -> tuple[int, list[dict], str]:
    env = {**os.environ, "MAM_PORT_OFFSET": str(stack.offset)}
    out = subprocess.run([str(ROOT / "deploy.sh"), "--verify", "--local", "--json", *extra], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.stdout.strip().startswith("["), out.stderr
    return out.returncode, json.loads(out.stdout), out.stdout + out.stderr


def by_check(results: list[dict]) -> dict[str, dict]:
    return {r["check"]: r for r in results}


def test_every_check_passes_or_explains_its_skip(live_stack: Stack):
    code, results, text = verify(live_stack)
    rows = by_check(results)
    assert code == 0, text
    assert not [r for r in results if r["result"] == "FAIL"], text
    for spec in manifest.functions():
        assert rows[f"health {spec.name}"]["result"] == "PASS"
    for check in ("forged TransloadIt signature -> transloadit_notify /", "forged iconik x-bz-secret -> iconik_handler /add",
                  "front end config.json", "cors library allows the front end"):
        assert rows[check]["result"] == "PASS", rows[check]
    for check in ("forged Twelve Labs TL-Signature -> index_videos /webhook", "forged B2 event signature -> library /b2-events"):
        # the local stack sets both optional secrets; a feature-off SKIP must say which secret
        assert rows[check]["result"] == "PASS" or "is not set" in rows[check]["seen"], rows[check]
    assert sum(c.startswith("b2 cors allows ") and r["result"] == "PASS" for c, r in rows.items()) == 2
    skipped = [r for r in results if r["result"] == "SKIP"]
    for r in skipped:
        assert "is not set" in r["seen"], r
        assert r["fix"]
    # No IAM locally: the task routes' own OIDC check refuses an anonymous call.
    for name in PRIVATE:
        row = rows[f"private {name} refuses anonymous"]
        assert row["result"] == "PASS" and "401 missing_token" in row["seen"], row


def test_a_function_that_is_not_running_fails_with_its_fix(live_stack: Stack, processes, start_function):
    processes.stop("library")
    try:
        code, results, text = verify(live_stack)
    finally:
        start_function("library")
    row = by_check(results)["health library"]
    assert code == 1, text
    assert row["result"] == "FAIL" and "refused" in row["seen"]
    assert "./scripts/dev.sh" in row["fix"] and str(live_stack.port("library")) in row["fix"]
    assert by_check(results)["health upload_status"]["result"] == "PASS"


def test_a_front_end_origin_the_bucket_does_not_allow_fails_with_its_fix(live_stack: Stack):
    """The bucket's CORS rules (and the functions') allow the stack's front end only; a front end served from
    another origin is what an operator sees when FRONTEND_ORIGIN and the bucket disagree."""
    elsewhere = "https://somewhere-else.example"
    code, results, text = verify(live_stack, "--frontend-origin", elsewhere)
    rows = by_check(results)
    assert code == 1, text
    row = rows[f"b2 cors allows {elsewhere}"]
    assert row["result"] == "FAIL" and "not allowed" in row["seen"]
    assert elsewhere in row["fix"] and "CORS" in row["fix"]
    assert rows["cors library allows the front end"]["result"] == "FAIL"
    assert rows["front end config.json"]["result"] == "PASS" and rows["health library"]["result"] == "PASS"


def test_the_table_names_every_miss_and_prints_no_secret(live_stack: Stack):
    from localdev.stack import LOCAL_SECRETS

    env = {**os.environ, "MAM_PORT_OFFSET": str(live_stack.offset)}
    out = subprocess.run([str(ROOT / "deploy.sh"), "--verify", "--local"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "CHECK" in out.stdout and "RESULT" in out.stdout and " failed, " in out.stdout
    for name, value in LOCAL_SECRETS.items():
        if len(value) > 6:  # short values such as "test" are also ordinary words
            assert value not in out.stdout + out.stderr, name

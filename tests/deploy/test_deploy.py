"""deploy.sh against a stateful fake `gcloud` (tests/deploy/fake_gcloud): a first deploy into an empty project, a
second run that changes nothing, secrets compared by hash, optional secrets skipped, required ones stopping the run
before any change, TTL policies, the build service account, and a dry run that calls nothing.

deploy.sh runs from a snapshot of the files it reads (deploy.sh, scripts/, functions/, the template) so that
edits made elsewhere in the working tree during a test cannot change what it deploys between two runs."""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FAKE_GCLOUD = ROOT / "tests" / "deploy" / "fake_gcloud"
MANIFEST = yaml.safe_load((ROOT / "functions" / "manifest.yaml").read_text())
SECRETS = sorted({s for f in MANIFEST["functions"] for s in f.get("secrets", [])})
sys.path.insert(0, str(ROOT / "functions"))
from mam.settings import knobs  # noqa: E402

OPTIONAL = sorted(s for s in SECRETS if any(k.env == s and not k.required for k in knobs()))
REQUIRED = sorted(set(SECRETS) - set(OPTIONAL))
MUTATING = re.compile(r" (create|enable|update|deploy|add-iam-policy-binding|add-invoker-policy-binding|set-iam-policy"
                      r"|remove-iam-policy-binding|delete|disable)\b| versions add ")
PROJECT = "my-mam-project"
TASKS_SA = f"mam-tasks@{PROJECT}.iam.gserviceaccount.com"
BUILD_SA = f"mam-build@{PROJECT}.iam.gserviceaccount.com"
APIS = ("iam.googleapis.com", "cloudbuild.googleapis.com", "run.googleapis.com", "artifactregistry.googleapis.com",
        "cloudfunctions.googleapis.com", "cloudtasks.googleapis.com", "firestore.googleapis.com",
        "secretmanager.googleapis.com", "identitytoolkit.googleapis.com")


def secret_name(env_name: str) -> str:
    return "mam-" + env_name.lower().replace("_", "-")


def values(names) -> dict[str, str]:
    return {s: f"s3cr3t-value-of-{s}" for s in names}


@dataclass
class Fake:
    """A snapshot checkout, an env file, and the fake project deploy.sh talks to."""

    repo: Path
    env_file: Path
    log: Path
    state: Path
    env: dict

    def deploy(self, *args: str, secrets: dict[str, str] | None = None, **extra_env: str) -> subprocess.CompletedProcess:
        env = {**self.env, **(secrets or {}), **extra_env}
        return subprocess.run([str(self.repo / "deploy.sh"), "--env-file", str(self.env_file), *args], cwd=self.repo,
                              env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def mutating(self) -> list[str]:
        return [c for c in self.calls() if MUTATING.search(" " + c)]

    def project(self) -> dict:
        return json.loads(self.state.read_text())

    def reset_log(self) -> None:
        self.log.unlink(missing_ok=True)


def install_fake_gcloud(bin_dir: Path) -> Path:
    """bin_dir/gcloud = the fake, run by this interpreter without site imports (deploy.sh calls it ~80 times)."""
    gcloud = bin_dir / "gcloud"
    body = FAKE_GCLOUD.read_text().split("\n", 1)[1]
    gcloud.write_text(f"#!{sys.executable} -IS\n{body}")
    gcloud.chmod(0o755)
    return gcloud


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> tuple[Path, Path]:
    """A copy of what deploy.sh reads, and a bin/ with the fake gcloud (shared by the module's tests)."""
    base = tmp_path_factory.mktemp("deploy")
    repo = base / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    repo.mkdir()
    for name in ("deploy.sh", ".env.yaml.template"):
        shutil.copy2(ROOT / name, repo / name)
    for name in ("scripts", "functions"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    bin_dir = base / "bin"
    bin_dir.mkdir()
    install_fake_gcloud(bin_dir)
    return repo, bin_dir


def make_fake(repo: Path, bin_dir: Path, tmp: Path) -> Fake:
    """An empty fake project (its own state and call log) and an env file with the template's values."""
    env_file = tmp / "env.yaml"
    env_file.write_text((ROOT / ".env.yaml.template").read_text())
    log = tmp / "gcloud.log"
    state = tmp / "project.json"
    # A secret of the test process's own environment (e.g. left by the local stack's fixtures) must not leak in.
    base = {k: v for k, v in os.environ.items() if k not in SECRETS and k != "BUNNY_API_KEY"}
    env = {**base, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_GCLOUD_LOG": str(log),
           "FAKE_GCLOUD_STATE": str(state), "PYTHON": str(ROOT / ".venv" / "bin" / "python")}
    return Fake(repo, env_file, log, state, env)


@pytest.fixture
def fake(snapshot: tuple[Path, Path], tmp_path: Path) -> Fake:
    """A fresh, empty fake project for one test."""
    return make_fake(*snapshot, tmp_path)


@pytest.fixture(scope="module")
def first_deploy(snapshot, tmp_path_factory) -> tuple[str, str, subprocess.CompletedProcess]:
    """A first deploy into an empty project with the required secrets only: run once per module, and each test
    that needs it starts from a copy of the project and call log it left."""
    f = make_fake(*snapshot, tmp_path_factory.mktemp("first"))
    result = f.deploy("--skip-frontend", secrets=values(REQUIRED))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return f.state.read_text(), f.log.read_text(), result


def deployed(fake: Fake, first_deploy) -> subprocess.CompletedProcess:
    """Put `fake` where the first deploy left its project (state and call log); return that run."""
    state, log, result = first_deploy
    fake.state.write_text(state)
    fake.log.write_text(log)
    return result


# ---- the plan -------------------------------------------------------------------------------------------------
def test_dry_run_prints_every_function_queue_and_secret_and_calls_nothing(fake: Fake):
    result = fake.deploy("--dry-run", secrets=values(SECRETS))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert not fake.log.exists(), "a dry run must not call gcloud"
    for f in MANIFEST["functions"]:
        line = next(l for l in out.splitlines() if f"functions deploy {f['name']} " in l)
        assert f"--entry-point={f['entry_point']}" in line and f"--source=build/{f['name']}" in line
        assert ("--allow-unauthenticated" if f["public"] else "--no-allow-unauthenticated") in line
        assert f"--build-service-account=projects/{PROJECT}/serviceAccounts/{BUILD_SA}" in line
        for s in f.get("secrets", []):
            assert f"{s}={secret_name(s)}:" in line
        assert (f"add-invoker-policy-binding {f['name']} " in out) == (not f["public"])
    for q in MANIFEST["queues"]:
        assert f"tasks queues create {q} " in out and f"tasks queues update {q} " in out
    for s in SECRETS:
        assert f"secrets create {secret_name(s)} " in out
    for api in APIS:
        assert api in next(l for l in out.splitlines() if "services enable" in l)
    assert "firestore databases create" in out and "scripts/publish_frontend.py" in out
    assert "fields ttls update expire_at --collection-group=index_hops --enable-ttl" in out


def test_dry_run_without_secrets_says_what_a_real_run_would_do(fake: Fake):
    result = fake.deploy("--dry-run")
    assert result.returncode == 0, result.stderr
    assert not fake.log.exists()
    for s in REQUIRED:
        assert re.search(rf"{s} \(required\) is not in your shell: .*stops before changing anything", result.stdout)
    for s in OPTIONAL:
        assert re.search(rf"{s} \(optional\) is not in your shell: .*left off", result.stdout)


# ---- a first deploy into an empty project ---------------------------------------------------------------------
def test_first_deploy_into_an_empty_project_succeeds_without_optional_secrets(fake: Fake, first_deploy):
    result = deployed(fake, first_deploy)
    project = fake.project()
    calls = fake.calls()
    # APIs first: nothing else that changes the project may run before them (the fake refuses disabled APIs).
    assert "services enable" in fake.mutating()[0]
    assert set(APIS) <= set(project["services"])
    assert set(project["functions"]) == {f["name"] for f in MANIFEST["functions"]}
    # Optional secrets: not created, not granted, and the features they enable are reported off.
    for s in OPTIONAL:
        assert secret_name(s) not in project["secrets"]
        assert not any(f"{secret_name(s)}" in c for c in calls if " deploy " in c)
        assert f"- {s}: " in result.stdout
    assert "Twelve Labs webhooks are off" in result.stdout and "B2 event notifications are off" in result.stdout
    for f in MANIFEST["functions"]:
        granted = {e["key"] for e in project["functions"][f["name"]]["serviceConfig"]["secretEnvironmentVariables"]}
        assert granted == set(f.get("secrets", [])) - set(OPTIONAL), f["name"]
    for s in REQUIRED:
        assert len(project["secrets"][secret_name(s)]["versions"]) == 1


def test_every_function_builds_with_the_dedicated_build_service_account(fake: Fake, first_deploy):
    deployed(fake, first_deploy)
    project = fake.project()
    assert BUILD_SA in project["service_accounts"]
    assert any(b["role"] == "roles/cloudbuild.builds.builder" and f"serviceAccount:{BUILD_SA}" in b["members"]
               for b in project["project_policy"]["bindings"])
    for name, fn in project["functions"].items():
        assert fn["buildConfig"]["serviceAccount"].endswith(f"/serviceAccounts/{BUILD_SA}"), name


def test_the_fake_refuses_a_build_without_a_build_service_account(fake: Fake, first_deploy, tmp_path: Path):
    """What the build-account test relies on: like a new project since 2024, the default build account cannot build."""
    deployed(fake, first_deploy)
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("")
    (src / "requirements.txt").write_text("")
    out = subprocess.run(["gcloud", f"--project={PROJECT}", "functions", "deploy", "x", "--gen2", "--runtime=python312",
                          "--region=us-central1", f"--source={src}", "--entry-point=x", "--trigger-http",
                          f"--service-account=mam-functions@{PROJECT}.iam.gserviceaccount.com"],
                         env=fake.env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "cloudbuild.builds.builder" in out.stderr


def test_private_functions_are_invoked_by_the_tasks_account_only(fake: Fake, first_deploy):
    deployed(fake, first_deploy)
    project = fake.project()
    for f in MANIFEST["functions"]:
        service = project["functions"][f["name"]]["serviceConfig"]["service"].rsplit("/", 1)[-1]
        members = {m for b in project["run_policies"][service]["bindings"] if b["role"] == "roles/run.invoker"
                   for m in b["members"]}
        assert members == ({"allUsers"} if f["public"] else {f"serviceAccount:{TASKS_SA}"}), f["name"]


def expiring_collections() -> set[tuple[str, str]]:
    """(collection, field) for every document written with an expiry-like field anywhere in functions/mam."""
    expiry = re.compile(r"^(expire_?at|expires_?at|expiry|expire_time|ttl|ttl_at|delete_at|purge_at)$")
    found: set[tuple[str, str]] = set()
    for path in (ROOT / "functions" / "mam").rglob("*.py"):
        tree = ast.parse(path.read_text())
        consts = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
                  and isinstance(n.value.value, str) for t in n.targets if isinstance(t, ast.Name)}

        def name_of(node: ast.AST) -> str:
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                return node.value
            if isinstance(node, ast.Name) and node.id in consts:
                return consts[node.id]
            return f"<unresolved in {path.name}>"

        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            fields = [k.value for arg in [*call.args, *(kw.value for kw in call.keywords)] if isinstance(arg, ast.Dict)
                      for k in arg.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
                      and expiry.match(k.value)]
            if not fields:
                continue
            collection = None
            if isinstance(call.func, ast.Attribute) and call.func.attr == "claim_once" and call.args:
                collection = name_of(call.args[0])
            else:  # client().collection(X).document(...).set/create/update({...})
                node = call.func
                while isinstance(node, (ast.Attribute, ast.Call)) and collection is None:
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                            and node.func.attr == "collection" and node.args:
                        collection = name_of(node.args[0])
                    node = node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        else getattr(node, "value", None)
            if collection is not None:
                found |= {(collection, f) for f in fields}
    return found


def test_a_ttl_policy_covers_every_collection_written_with_an_expiry_field(fake: Fake, first_deploy):
    wanted = expiring_collections()
    assert ("index_hops", "expire_at") in wanted and ("b2_events", "expire_at") in wanted
    assert not [c for c, _ in wanted if c.startswith("<unresolved")], wanted
    deployed(fake, first_deploy)
    calls = fake.calls()
    for collection, field in sorted(wanted):
        assert sum(f"fields ttls update {field} --collection-group={collection} --enable-ttl" in c for c in calls) == 1
    states = fake.project()["ttls"]
    assert {tuple(k.split("/")) for k in states} == wanted
    db = next(i for i, c in enumerate(calls) if "databases create" in c)
    assert all(i > db for i, c in enumerate(calls) if "ttls update" in c)  # the database exists first


INDEX_FILE = ROOT / "functions" / "firestore.indexes.json"


def _declared_indexes() -> list[dict]:
    return [{"group": i["collectionGroup"], "scope": i["queryScope"], "fields": i["fields"]}
            for i in json.loads(INDEX_FILE.read_text())["indexes"]]


def test_every_declared_composite_index_is_created_once(fake: Fake, first_deploy):
    declared = _declared_indexes()
    assert declared, "functions/firestore.indexes.json declares the find queries' indexes"
    deployed(fake, first_deploy)
    calls = fake.calls()
    creates = [c for c in calls if "firestore indexes composite create" in c]
    assert len(creates) == len(declared) and all("--async" in c for c in creates)
    assert [{k: i[k] for k in ("group", "scope", "fields")} for i in fake.project()["indexes"]] == declared
    db = next(i for i, c in enumerate(calls) if "databases create" in c)
    assert all(i > db for i, c in enumerate(calls) if "indexes composite" in c)


def test_a_missing_index_is_created_and_the_others_left_alone(fake: Fake, first_deploy):
    deployed(fake, first_deploy)
    state = fake.project()
    dropped = state["indexes"].pop(3)
    fake.state.write_text(json.dumps(state))
    fake.reset_log()
    result = fake.deploy("--skip-frontend", secrets=values(REQUIRED))
    assert result.returncode == 0, result.stderr
    assert [c for c in fake.mutating() if "indexes" in c] == [c for c in fake.mutating()]
    (create,) = fake.mutating()
    for f in dropped["fields"]:
        assert f"field-path={f['fieldPath']}," in create
    assert len(fake.project()["indexes"]) == len(_declared_indexes())


def test_dry_run_lists_the_index_creates(fake: Fake):
    result = fake.deploy("--dry-run", secrets=values(SECRETS))
    assert result.returncode == 0, result.stderr
    creates = [line for line in result.stdout.splitlines() if "firestore indexes composite create" in line]
    assert len(creates) == len(_declared_indexes())


# ---- running it again -----------------------------------------------------------------------------------------
def test_a_second_run_changes_nothing(fake: Fake, first_deploy):
    deployed(fake, first_deploy)
    fake.reset_log()
    result = fake.deploy("--skip-frontend", secrets=values(REQUIRED))
    assert result.returncode == 0, result.stderr
    assert fake.mutating() == [], "a second run must only read"
    assert "Nothing to change" in result.stdout
    assert any(" describe " in c for c in fake.calls())
    # and still says which features are off
    assert "Features off" in result.stdout


def test_a_second_run_without_the_secrets_in_the_shell_keeps_secret_manager_s(fake: Fake, first_deploy):
    deployed(fake, first_deploy)
    fake.reset_log()
    result = fake.deploy("--skip-frontend")
    assert result.returncode == 0, result.stderr
    assert fake.mutating() == []
    for s in REQUIRED:
        assert f"{s}: kept as it is in Secret Manager" in result.stdout


def test_a_changed_secret_adds_one_version_and_redeploys_only_its_functions(fake: Fake, first_deploy):
    deployed(fake, first_deploy)
    fake.reset_log()
    changed = "BZ_SHARED_SECRET"
    result = fake.deploy("--skip-frontend", secrets={**values(REQUIRED), changed: "a-new-shared-secret"})
    assert result.returncode == 0, result.stderr
    users = {f["name"] for f in MANIFEST["functions"] if changed in f.get("secrets", [])}
    mutating = fake.mutating()
    assert [c for c in mutating if "versions add" in c] == \
        [f"--project={PROJECT} --quiet secrets versions add {secret_name(changed)} --data-file=- <stdin:19 bytes>"]
    assert {c.split(" deploy ")[1].split()[0] for c in mutating if " functions deploy " in c} == users
    assert len(mutating) == 1 + len(users)
    for name in users:
        granted = fake.project()["functions"][name]["serviceConfig"]["secretEnvironmentVariables"]
        assert {"key": changed, "secret": secret_name(changed), "version": "2"} in granted


def test_an_optional_secret_given_later_turns_its_feature_on(fake: Fake, first_deploy):
    deployed(fake, first_deploy)
    fake.reset_log()
    result = fake.deploy("--skip-frontend", secrets=values(REQUIRED + ["B2_EVENT_SIGNING_SECRET"]))
    assert result.returncode == 0, result.stderr
    users = {f["name"] for f in MANIFEST["functions"] if "B2_EVENT_SIGNING_SECRET" in f.get("secrets", [])}
    assert {c.split(" deploy ")[1].split()[0] for c in fake.mutating() if " functions deploy " in c} == users
    assert "B2 event notifications are off" not in result.stdout and "Twelve Labs webhooks are off" in result.stdout
    library = fake.project()["functions"]["library"]["serviceConfig"]["secretEnvironmentVariables"]
    assert any(e["key"] == "B2_EVENT_SIGNING_SECRET" for e in library)


def test_a_queue_that_drifted_is_updated_and_nothing_else(fake: Fake, first_deploy):
    deployed(fake, first_deploy)
    state = fake.project()
    state["queues"]["index"]["retryConfig"]["maxAttempts"] = 3
    fake.state.write_text(json.dumps(state))
    fake.reset_log()
    result = fake.deploy("--skip-frontend", secrets=values(REQUIRED))
    assert result.returncode == 0, result.stderr
    assert [c.split(" --location")[0] for c in fake.mutating()] == [f"--project={PROJECT} --quiet tasks queues update index"]
    assert fake.project()["queues"]["index"]["retryConfig"]["maxAttempts"] == MANIFEST["queues"]["index"]["max_attempts"]


def test_secret_values_never_appear_in_output_or_gcloud_arguments(fake: Fake):
    secrets = values(SECRETS)
    first = fake.deploy("--skip-frontend", secrets=secrets)
    second = fake.deploy("--skip-frontend", secrets=secrets)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    for value in secrets.values():
        for text in (first.stdout, first.stderr, second.stdout, second.stderr, fake.log.read_text()):
            assert value not in text


# ---- stopping before any change -------------------------------------------------------------------------------
def test_a_missing_required_secret_stops_before_any_change(fake: Fake):
    missing = REQUIRED[:2]
    result = fake.deploy("--skip-frontend", secrets=values(set(REQUIRED) - set(missing)))
    assert result.returncode == 1
    assert fake.mutating() == [], "nothing may change before the missing secrets are reported"
    assert "stopped before changing anything" in result.stderr
    for s in missing:
        assert re.search(rf"^  - {s}: \S", result.stderr, re.M), result.stderr
    assert "export" in result.stderr and "run ./deploy.sh again" in result.stderr


def test_a_gcloud_that_is_not_signed_in_stops_with_what_to_do(fake: Fake):
    result = fake.deploy("--skip-frontend", secrets=values(REQUIRED), FAKE_GCLOUD_NO_AUTH="1")
    assert result.returncode == 1 and "gcloud auth login" in result.stderr
    assert len(fake.calls()) == 1 and fake.mutating() == []


def test_missing_env_file_is_a_clear_error(fake: Fake):
    result = subprocess.run([str(fake.repo / "deploy.sh"), "--env-file", "/nonexistent/env.yaml"], cwd=fake.repo,
                            env=fake.env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and "copy .env.yaml.template" in result.stderr
    assert not fake.log.exists()


def test_dry_run_on_a_fresh_clone_shows_the_plan_with_the_templates_values(fake: Fake):
    assert not (fake.repo / ".env.yaml").exists()  # the snapshot is a fresh clone, whatever this checkout has
    run = lambda *a: subprocess.run([str(fake.repo / "deploy.sh"), *a], cwd=fake.repo, env=fake.env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    result = run("--dry-run")
    assert result.returncode == 0, result.stderr
    assert ".env.yaml.template" in result.stderr
    assert sum(" functions deploy " in l for l in result.stdout.splitlines()) == len(MANIFEST["functions"])
    real = run()  # a real run never falls back to example values
    assert real.returncode == 1 and "copy .env.yaml.template" in real.stderr
    assert not fake.log.exists()


def test_staged_functions_carry_the_shared_package_and_the_settings(fake: Fake, first_deploy):
    deployed(fake, first_deploy)
    for f in MANIFEST["functions"]:
        staged = fake.repo / "build" / f["name"]
        assert (staged / "main.py").exists() and (staged / "mam" / "manifest.yaml").exists()
        assert (staged / "requirements.txt").exists()
        env_vars = yaml.safe_load((staged / ".env.deploy.yaml").read_text())
        assert env_vars["FUNCTIONS_BASE_URL"] and env_vars["GCP_PROJECT"] == PROJECT
        assert not set(env_vars) & set(SECRETS)

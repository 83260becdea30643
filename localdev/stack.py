"""The local stack as data: every emulator, stand-in and function, its command, port, environment and readiness.

The developer runner (`localdev/run.py`, through honcho), the test fixtures (`tests/conftest.py`) and the
benchmarks build their processes from here, and the function list comes from functions/manifest.yaml, so they never
drift. Starting, awaiting and stopping a process is `localdev/processes.py`'s job.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from localdev.processes import ROOT, Service
from localdev.tasks.oidc import certs_url

MANIFEST = ROOT / "functions" / "manifest.yaml"
PY = str(ROOT / ".venv" / "bin" / "python")
PROJECT = "mam-local"
BUCKET = "mam-local"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"

# Local-only credentials of the local stand-ins. They protect nothing and are not used anywhere else. The B2 pair
# has the shape of a real application key (25-character id, 31-character key) because the local B2 checks
# signatures with it, as B2 does.
LOCAL_SECRETS = {
    "B2_KEY_ID": "004a1b2c3d4e5f60000000001",
    "B2_APPLICATION_KEY": "K004LocalOnlyKeyProtectsNothing",
    "B2_EVENT_SIGNING_SECRET": "local-b2-event-secret",
    "TRANSLOADIT_AUTH_KEY": "local-transloadit-key",
    "TRANSLOADIT_AUTH_SECRET": "local-transloadit-secret",
    "TWELVELABS_API_KEY": "local-twelvelabs-key",
    "TWELVELABS_WEBHOOK_SECRET": "local-twelvelabs-webhook-secret",
    "BZ_SHARED_SECRET": "local-bz-secret",
    "ICONIK_APP_ID": "local-iconik-app",
}
TEMPLATE = ROOT / ".env.yaml.template"
_SECRET_LINE = re.compile(r"^#\s*([A-Z][A-Z0-9_]*)\s+#.*\bSECRET\b", re.M)
# What Google's runtime gives a deployed function besides its settings and secrets, and its local stand-in:
# emulator hosts instead of Application Default Credentials, a URL per function instead of one base URL (each
# local function has its own port), and the interpreter's own variables.
RUNTIME_KEYS = frozenset({"FIRESTORE_EMULATOR_HOST", "CLOUD_TASKS_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST",
                          "CLOUD_TASKS_OIDC_CERTS_URL",
                          "MAM_LOCAL", "K_SERVICE", "FUNCTION_TARGET", "PORT", "THREADS", "PATH", "HOME", "LANG",
                          "TMPDIR", "XDG_RUNTIME_DIR", "PYTHONPATH", "PYTHONUNBUFFERED"})


def grants(name: str) -> frozenset[str]:
    """The secrets functions/manifest.yaml grants function `name` (what --set-secrets gives it when deployed)."""
    return frozenset(next(f for f in manifest()["functions"] if f["name"] == name)["secrets"])


def template_settings() -> dict[str, str]:
    """The settings .env.yaml.template documents (what deploy.sh gives every function), with their example values."""
    return {k: "" if v is None else str(v) for k, v in (yaml.safe_load(TEMPLATE.read_text()) or {}).items()}


def template_secrets() -> frozenset[str]:
    """The secrets .env.yaml.template documents (stored in Secret Manager, granted per function by the manifest)."""
    return frozenset(_SECRET_LINE.findall(TEMPLATE.read_text()))


def template_tuning() -> frozenset[str]:
    """Optional tuning variables the template documents in comments (ICONIK_STEP_SECONDS, ...)."""
    return frozenset(n for line in TEMPLATE.read_text().splitlines() if line.startswith("# ICONIK_")
                     for n in re.findall(r"\b(ICONIK_[A-Z_]+) ", line))


def manifest() -> dict:
    """functions/manifest.yaml, parsed."""
    return yaml.safe_load(MANIFEST.read_text())


@dataclass
class Stack:
    """Ports (with an offset so tests never collide with a running developer stack) and derived settings."""

    offset: int = 0
    state_dir: Path = ROOT / ".local"
    site_dir: Path = ROOT / "frontend" / "dist"  # what the front-end server serves (tests serve a copy)

    def port(self, name: str) -> int:
        m = manifest()
        if name in m["local"]:
            return int(m["local"][name]) + self.offset
        for f in m["functions"]:
            if f["name"] == name:
                return int(f["port"]) + self.offset
        raise KeyError(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port(name)}"

    def settings(self) -> dict[str, str]:
        """Every setting of .env.yaml.template with this stack's local value: what deploy.sh gives every function."""
        local = {
            "GCP_PROJECT": PROJECT,
            "GCP_REGION": "us-central1",
            "FUNCTIONS_BASE_URL": "",  # locally each function has its own port: FUNCTION_URL_<NAME> (runtime_env)
            "TASKS_SERVICE_ACCOUNT": f"mam-tasks@{PROJECT}.iam.gserviceaccount.com",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
            "FRONTEND_ORIGIN": f"{self.url('frontend')},http://localhost:{self.port('frontend')}",
            "FIREBASE_API_KEY": "local-api-key",
            "FIREBASE_AUTH_DOMAIN": "127.0.0.1",
            "PUBLIC_READ": "true",
            "ADMIN_EMAILS": DEMO_EMAIL,  # the demo user (created with a verified email) is the local admin
            "MEMBER_EMAILS": DEMO_EMAIL,
            "MEMBER_DOMAINS": "",
            "B2_ENDPOINT": self.url("s3"),
            "B2_REGION": "us-west-004",
            "B2_BUCKET": BUCKET,
            "B2_KEY_ID": LOCAL_SECRETS["B2_KEY_ID"],
            "B2_PUBLIC_BASE_URL": "",
            "TRANSLOADIT_AUTH_KEY": LOCAL_SECRETS["TRANSLOADIT_AUTH_KEY"],
            "TRANSLOADIT_SERVICE_URL": self.url("transloadit"),
            "TWELVELABS_BASE_URL": self.url("twelvelabs") + "/v1.3",
            "ICONIK_URL": self.url("iconik"),
            "ICONIK_APP_ID": LOCAL_SECRETS["ICONIK_APP_ID"],
            "BUNNY_PULL_ZONE_ID": "",
        }
        template = template_settings()
        unknown = sorted(set(local) - set(template))
        if unknown:  # a local-only setting would make local runs differ from deployed ones
            raise RuntimeError(f"settings missing from .env.yaml.template: {unknown}")
        values = {**template, **local}
        values.update((k, v) for k, v in _dotenv(ROOT / ".env").items() if k in values)  # a developer's overrides
        return values

    def secrets(self) -> dict[str, str]:
        """Local values of the secrets the template documents that functions use (a developer's .env may replace them);
        BUNNY_API_KEY is deploy.sh's own and has none."""
        dotenv = _dotenv(ROOT / ".env")
        return {k: dotenv.get(k, LOCAL_SECRETS.get(k, "")) for k in sorted(template_secrets())
                if k in LOCAL_SECRETS or k in dotenv}

    def runtime_env(self) -> dict[str, str]:
        """What stands in locally for Google's runtime: emulator hosts, a URL per function, the interpreter's variables."""
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        env.update({
            "MAM_LOCAL": "true",
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{self.port('firestore')}",
            "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{self.port('tasks')}",
            # where the local Cloud Tasks publishes the keys of the OIDC tokens it sends (Google's certs in the cloud)
            "CLOUD_TASKS_OIDC_CERTS_URL": certs_url(self.port("tasks")),
            "FIREBASE_AUTH_EMULATOR_HOST": f"127.0.0.1:{self.port('auth')}",
            "PYTHONPATH": str(ROOT / "functions") + os.pathsep + str(ROOT),
            "PYTHONUNBUFFERED": "1",
        })
        for f in manifest()["functions"]:
            env[f"FUNCTION_URL_{f['name'].upper()}"] = self.url(f["name"])
        return env

    def function_env(self, name: str, overrides: dict[str, str] | None = None, port: int | None = None) -> dict[str, str]:
        """The whole environment of function `name`: the template's settings, only the secrets the manifest grants it,
        and the runtime's stand-ins. `overrides` (tests) may change settings, its own secrets and runtime values only."""
        spec = next(f for f in manifest()["functions"] if f["name"] == name)
        secrets = self.secrets()
        granted = {k: secrets[k] for k in grants(name)}
        # Like a Cloud Run instance, each function has a runtime directory of its own: gunicorn puts its control
        # socket there, and one shared $HOME/.gunicorn/gunicorn.ctl made the local functions fight over it.
        run_dir = self.state_dir / "run" / f"{name}-{port or self.port(name)}"
        run_dir.mkdir(parents=True, exist_ok=True)
        # No K_SERVICE/K_REVISION here: Cloud Run sets them, and a function that sees them refuses the emulator
        # hosts below (mam.runtime.deployment_problems).
        env = {**self.runtime_env(), **self.settings(), **granted,
               "FUNCTION_TARGET": spec["entry_point"], "PORT": str(port or self.port(name)),
               "XDG_RUNTIME_DIR": str(run_dir), "THREADS": "8"}  # deploy.sh sets THREADS=8 too
        allowed = set(env) | template_tuning() | RUNTIME_KEYS
        for key, value in (overrides or {}).items():
            if key not in allowed and not key.startswith("FUNCTION_URL_"):
                raise ValueError(f"{name} does not get {key} when deployed (not a template setting, not a secret the "
                                 f"manifest grants it); the test must not give it either")
            env[key] = value
        return env

    def env(self) -> dict[str, str]:
        """The environment of the emulators, stand-ins, scripts and in-process tests: every setting and local secret.
        Function processes never get this union: they get `function_env`."""
        env = {
            **self.runtime_env(),
            **LOCAL_SECRETS,
            **self.settings(),
            **self.secrets(),
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "AWS_ACCESS_KEY_ID": LOCAL_SECRETS["B2_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": LOCAL_SECRETS["B2_APPLICATION_KEY"],
            "AWS_DEFAULT_REGION": "us-west-004",
            "NO_UPDATE_NOTIFIER": "1",
            "MAM_STATE_DIR": str(self.state_dir),
        }
        for k, v in _dotenv(ROOT / ".env").items():  # a developer's own overrides (git-ignored)
            env.setdefault(k, v) if k in ("PYTHONPATH",) else env.__setitem__(k, v)
        return env

    def firebase_config(self) -> Path:
        """A firebase.json for the Auth emulator on this stack's ports (hub/logging ports moved along)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / "firebase.json"
        path.write_text(json.dumps({"emulators": {
            "auth": {"host": "127.0.0.1", "port": self.port("auth")},
            "hub": {"host": "127.0.0.1", "port": 4400 + self.offset},
            "logging": {"host": "127.0.0.1", "port": 4500 + self.offset},
            "ui": {"enabled": False}, "singleProjectMode": True}}))
        return path

    def emulators(self) -> list[Service]:
        """Firestore, Cloud Tasks, S3 (B2) and Firebase Auth."""
        node_bin = ROOT / "localdev" / "node_modules" / ".bin"
        return [
            Service("firestore", self.port("firestore"),
                    ["node", str(ROOT / "localdev" / "firestore.mjs"), str(self.port("firestore"))],
                    ready_url=f"http://127.0.0.1:{self.port('firestore') + 1}/healthz"),
            # gcloud-tasks-emulator behind our launcher, which refuses reused task names like Cloud Tasks does
            Service("tasks", self.port("tasks"),
                    [str(ROOT / ".venv-tasks" / "bin" / "python"), "-m", "localdev.tasks",
                     "--port", str(self.port("tasks")), "--max-retries", "20"], env={"PYTHONPATH": str(ROOT)}),
            # B2: moto behind the strict B2 layer; it accepts the key B2_KEY_ID / B2_APPLICATION_KEY of the stack's
            # environment (LOCAL_SECRETS), kept out of the command line (and so out of honcho's Procfile).
            Service("s3", self.port("s3"), [PY, "-m", "localdev.b2", "--port", str(self.port("s3")),
                                            "--region", "us-west-004"], ready_url=f"{self.url('s3')}/_health"),
            Service("auth", self.port("auth"),
                    [str(node_bin / "firebase"), "emulators:start", "--only", "auth", "--project", PROJECT,
                     "--config", str(self.firebase_config())],
                    ready_url=f"{self.url('auth')}/", cwd=self.state_dir, start_seconds=120),
        ]

    def standins(self) -> list[Service]:
        """Our stand-ins for TransloadIt, Twelve Labs and iconik (those that exist in this checkout)."""
        out = []
        for name in ("transloadit", "twelvelabs", "iconik"):
            if (ROOT / "localdev" / name / "__main__.py").exists():
                out.append(Service(name, self.port(name),
                                   [PY, "-m", f"localdev.{name}", "--port", str(self.port(name))],
                                   ready_url=f"{self.url(name)}/_health"))
        return out

    def functions(self) -> list[Service]:
        """Every function of the manifest under functions-framework, each with only its deployed environment."""
        return [self.function(f["name"]) for f in manifest()["functions"]]

    def function(self, name: str, port: int | None = None, overrides: dict[str, str] | None = None) -> Service:
        """Function `name` under functions-framework (on `port`, default its manifest port), isolated as deployed."""
        spec = next(f for f in manifest()["functions"] if f["name"] == name)
        port = port or self.port(name)
        return Service(name, port,
                       [PY, "-m", "localdev.serve", "--source", str(ROOT / "functions" / spec["source"] / "main.py"),
                        "--target", spec["entry_point"], "--host", "127.0.0.1", "--port", str(port)],
                       ready_url=f"http://127.0.0.1:{port}/health", env=self.function_env(name, overrides, port),
                       isolated=True)

    def process_env(self, service: Service, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment to start `service` with: a function's own (plus allowed test overrides), else the stack's."""
        if service.isolated:
            return self.function_env(service.name, {**service.env, **(extra or {})}, service.port) \
                if extra else dict(service.env)
        return {**os.environ, **self.env(), **service.env, **(extra or {})}

    def frontend(self) -> Service:
        """The built static front end (frontend/dist) with its runtime config.json."""
        return Service("frontend", self.port("frontend"),
                       [PY, "-m", "http.server", str(self.port("frontend")), "-b", "127.0.0.1", "-d",
                        str(self.site_dir)], ready_url=self.url("frontend") + "/config.json")

    def frontend_config(self) -> dict:
        """config.json the front end reads at start."""
        return {
            "functions": {n: self.url(n) for n in ("upload_status", "index_videos", "library")},
            "firebase": {"apiKey": "local-api-key", "authDomain": "127.0.0.1", "projectId": PROJECT,
                         "authEmulatorUrl": self.url("auth")},
            "transloadit": {"serviceUrl": self.url("transloadit")},
            "publicRead": True,
            "uploadMaxBytes": 5 * 1024 ** 3,
        }


def _dotenv(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip().strip('"').strip("'")
    return out

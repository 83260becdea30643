"""The local stack as data: every emulator, stand-in and function, its command, port, environment and readiness.

Both the developer runner (`localstack/run.py`, through honcho) and the test fixtures (`tests/conftest.py`) build
their processes from here, and the function list comes from functions/manifest.yaml, so the three never drift.
"""
from __future__ import annotations

import json
import os
import socket
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "functions" / "manifest.yaml"
PY = str(ROOT / ".venv" / "bin" / "python")
PROJECT = "mam-local"
BUCKET = "mam-local"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"

# Local-only credentials of the local stand-ins. They protect nothing and are not used anywhere else.
LOCAL_SECRETS = {
    "B2_KEY_ID": "test",
    "B2_APPLICATION_KEY": "test",
    "B2_EVENT_SIGNING_SECRET": "local-b2-event-secret",
    "TRANSLOADIT_AUTH_KEY": "local-transloadit-key",
    "TRANSLOADIT_AUTH_SECRET": "local-transloadit-secret",
    "TWELVELABS_API_KEY": "local-twelvelabs-key",
    "TWELVELABS_WEBHOOK_SECRET": "local-twelvelabs-webhook-secret",
    "BZ_SHARED_SECRET": "local-bz-secret",
    "ICONIK_APP_ID": "local-iconik-app",
}


@dataclass
class Service:
    """One process of the local stack."""

    name: str
    port: int
    command: list[str]
    ready_url: str | None = None  # HTTP URL answering < 500 when ready; else a TCP connect is enough
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    start_seconds: float = 30.0


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

    def env(self) -> dict[str, str]:
        """The environment every process of the stack gets: the settings of .env.yaml.template, local values."""
        env = {
            "GCP_PROJECT": PROJECT,
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "GCP_REGION": "us-central1",
            "MAM_LOCAL": "true",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{self.port('firestore')}",
            "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{self.port('tasks')}",
            "FIREBASE_AUTH_EMULATOR_HOST": f"127.0.0.1:{self.port('auth')}",
            "FRONTEND_ORIGIN": f"{self.url('frontend')},http://localhost:{self.port('frontend')}",
            "PUBLIC_READ": "true",
            "ADMIN_EMAILS": DEMO_EMAIL,
            "B2_ENDPOINT": self.url("s3"),
            "B2_REGION": "us-west-004",
            "B2_BUCKET": BUCKET,
            "VIDEOS_PREFIX": "videos/",
            "TRANSLOADIT_SERVICE_URL": self.url("transloadit"),
            "TWELVELABS_BASE_URL": self.url("twelvelabs") + "/v1.3",
            "TWELVELABS_INDEX_NAME": "mam-library",
            "ICONIK_URL": self.url("iconik"),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-west-004",
            "PYTHONPATH": str(ROOT / "functions") + os.pathsep + str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "NO_UPDATE_NOTIFIER": "1",
            "MAM_STATE_DIR": str(self.state_dir),
            **LOCAL_SECRETS,
        }
        for f in manifest()["functions"]:
            env[f"FUNCTION_URL_{f['name'].upper()}"] = self.url(f["name"])
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
        node_bin = ROOT / "localstack" / "node_modules" / ".bin"
        return [
            Service("firestore", self.port("firestore"),
                    ["node", str(ROOT / "localstack" / "firestore.mjs"), str(self.port("firestore"))],
                    ready_url=f"http://127.0.0.1:{self.port('firestore') + 1}/healthz"),
            Service("tasks", self.port("tasks"),
                    [str(ROOT / ".venv-tasks" / "bin" / "gcloud-tasks-emulator"), "start", "-p", str(self.port("tasks")),
                     "-r", "20", "-q"]),
            Service("s3", self.port("s3"), [str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p",
                                            str(self.port("s3"))], ready_url=f"{self.url('s3')}/moto-api/"),
            Service("auth", self.port("auth"),
                    [str(node_bin / "firebase"), "emulators:start", "--only", "auth", "--project", PROJECT,
                     "--config", str(self.firebase_config())],
                    ready_url=f"{self.url('auth')}/", cwd=self.state_dir, start_seconds=120),
        ]

    def standins(self) -> list[Service]:
        """Our stand-ins for TransloadIt, Twelve Labs and iconik (those that exist in this checkout)."""
        out = []
        for name in ("transloadit", "twelvelabs", "iconik"):
            if (ROOT / "localstack" / name / "__main__.py").exists():
                out.append(Service(name, self.port(name),
                                   [PY, "-m", f"localstack.{name}", "--port", str(self.port(name))],
                                   ready_url=f"{self.url(name)}/_health"))
        return out

    def functions(self) -> list[Service]:
        """Every function of the manifest under functions-framework."""
        out = []
        for f in manifest()["functions"]:
            out.append(Service(f["name"], self.port(f["name"]),
                               [PY, "-m", "functions_framework", "--source", str(ROOT / "functions" / f["source"] / "main.py"),
                                "--target", f["entry_point"], "--host", "127.0.0.1", "--port", str(self.port(f["name"]))],
                               ready_url=f"{self.url(f['name'])}/health", env={"THREADS": "8"}))
        return out

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


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts connections on the port."""
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def is_ready(service: Service) -> bool:
    """One readiness probe of a service."""
    if service.ready_url is None:
        return port_open(service.port)
    try:
        with urllib.request.urlopen(service.ready_url, timeout=2) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def wait_ready(service: Service, alive=lambda: True) -> None:
    """Block until the service answers, or raise naming it."""
    deadline = time.monotonic() + service.start_seconds
    while time.monotonic() < deadline:
        if is_ready(service):
            return
        if not alive():
            raise RuntimeError(f"{service.name} exited during start-up")
        time.sleep(0.2)
    raise RuntimeError(f"{service.name} did not become ready on port {service.port} within {service.start_seconds:.0f}s")

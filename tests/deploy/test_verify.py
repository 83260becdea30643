"""`./deploy.sh --verify` against a loopback server standing in for a deployed project (functions behind IAM, the
front end's config.json, the bucket's S3 endpoint), with the fake gcloud on PATH for the identity token.

The stand-in behaves like the cloud: private functions answer 403 without the right bearer token; the webhooks
refuse forged signatures with 401; Twelve Labs webhooks are off as after a first deploy (404
webhooks_not_configured); only FRONTEND_ORIGIN passes CORS preflights. Faults switch single behaviours off."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_deploy import install_fake_gcloud  # noqa: E402

MANIFEST = yaml.safe_load((ROOT / "functions" / "manifest.yaml").read_text())
PRIVATE = {f["name"] for f in MANIFEST["functions"] if not f["public"]}
TOKEN = "fake-identity-token-4f1c9a77d2"
BUCKET = "my-mam-videos"


class Deployment(ThreadingHTTPServer):
    """The stand-in's knobs."""

    daemon_threads = True
    open_private: set[str]
    accept_forged: set[str]
    bucket_origins: set[str]
    down: set[str]
    origin: str


class Handler(BaseHTTPRequestHandler):
    server: Deployment

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def send(self, status: int, body: object = b"", headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.route("POST")

    def do_OPTIONS(self) -> None:
        self.route("OPTIONS")

    def route(self, method: str) -> None:
        srv, path = self.server, self.path
        if path == "/config.json" and method == "GET":
            base = f"http://127.0.0.1:{srv.server_port}/fn"
            return self.send(200, {"functions": {n: f"{base}/{n}" for n in ("upload_status", "index_videos", "library")}})
        if path.startswith(f"/s3/{BUCKET}/") and method == "OPTIONS":
            origin = self.headers.get("Origin", "")
            if origin in srv.bucket_origins:
                return self.send(200, headers={"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "GET, HEAD"})
            return self.send(403, b"<Error><Code>AccessForbidden</Code></Error>")
        if not path.startswith("/fn/"):
            return self.send(404, b"not found")
        name, _, rest = path[4:].partition("/")
        rest = "/" + rest
        if name in srv.down or name not in {f["name"] for f in MANIFEST["functions"]}:
            return self.send(404, b"<html>Error: Page not found</html>")
        # IAM in front of a private function (Cloud Run answers 403 without a valid token).
        if name in PRIVATE and name not in srv.open_private and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.send(403, b"<html>Error: Forbidden</html>")
        if method == "OPTIONS":
            if self.headers.get("Origin") == srv.origin:
                return self.send(204, headers={"Access-Control-Allow-Origin": srv.origin})
            return self.send(204)
        if rest == "/health" and method == "GET":
            return self.send(200, {"ok": True, "function": name})
        if method == "POST" and name in srv.accept_forged:
            return self.send(200, {"ok": True})
        if method == "POST" and name in PRIVATE:  # past IAM, the task route's own check (mam.task_auth)
            return self.send(401, {"error": {"code": "missing_token", "message": "no token"}})
        if name == "index_videos" and rest == "/webhook":
            return self.send(404, {"error": {"code": "webhooks_not_configured", "message": "not configured"}})
        if (name, rest) in {("transloadit_notify", "/"), ("library", "/b2-events"), ("iconik_handler", "/add")}:
            return self.send(401, {"error": {"code": "invalid_signature", "message": "no"}})
        return self.send(400, {"error": {"code": "invalid_task", "message": "bad task"}})


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[Deployment, dict, Path]]:
    server = Deployment(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_port}"
    server.origin = base
    server.open_private, server.accept_forged, server.down = set(), set(), set()
    server.bucket_origins = {base}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = yaml.safe_load((ROOT / ".env.yaml.template").read_text())
    settings.update(FUNCTIONS_BASE_URL=f"{base}/fn", FRONTEND_ORIGIN=base, B2_ENDPOINT=f"{base}/s3", B2_BUCKET=BUCKET)
    env_file = tmp_path / "env.yaml"
    env_file.write_text(yaml.safe_dump(settings))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    install_fake_gcloud(bin_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNCTION_URL_")}
    env.update(PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_GCLOUD_LOG=str(tmp_path / "gcloud.log"),
               FAKE_GCLOUD_IDENTITY_TOKEN=TOKEN)
    yield server, env, env_file
    server.shutdown()
    server.server_close()


def verify(env: dict, env_file: Path, *extra: str) -> tuple[int, dict[str, dict], str]:
    out = subprocess.run([str(ROOT / "deploy.sh"), "--env-file", str(env_file), "--verify", "--json", "--timeout", "5",
                          *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().startswith("["), out.stderr
    return out.returncode, {r["check"]: r for r in json.loads(out.stdout)}, out.stdout + out.stderr


def test_a_healthy_deployment_passes_and_says_which_feature_is_off(deployment):
    server, env, env_file = deployment
    code, rows, text = verify(env, env_file)
    assert code == 0, text
    for f in MANIFEST["functions"]:
        assert rows[f"health {f['name']}"]["result"] == "PASS", rows[f"health {f['name']}"]
    for name in PRIVATE:  # in the cloud a refusal is earned, never skipped
        assert rows[f"private {name} refuses anonymous"]["result"] == "PASS"
    off = rows["forged Twelve Labs TL-Signature -> index_videos /webhook"]
    assert off["result"] == "SKIP" and "TWELVELABS_WEBHOOK_SECRET is not set" in off["seen"] and off["fix"]
    for check in ("forged TransloadIt signature -> transloadit_notify /", "forged B2 event signature -> library /b2-events",
                  "forged iconik x-bz-secret -> iconik_handler /add", "front end config.json",
                  "cors library allows the front end", f"b2 cors allows {server.origin}"):
        assert rows[check]["result"] == "PASS", rows[check]
    assert [r for r in rows.values() if r["result"] == "SKIP"] == [off]
    calls = Path(env["FAKE_GCLOUD_LOG"]).read_text().splitlines()
    assert calls == ["auth print-identity-token --quiet"]  # asked once, for the private functions' health
    assert TOKEN not in text


def test_an_open_private_function_a_forgery_accepted_and_a_bucket_without_cors_fail_with_their_fixes(deployment):
    server, env, env_file = deployment
    server.open_private.add("index_tasks")
    server.accept_forged.add("library")
    server.bucket_origins.clear()
    code, rows, text = verify(env, env_file)
    assert code == 1, text
    row = rows["private index_tasks refuses anonymous"]
    assert row["result"] == "FAIL" and "remove-invoker-policy-binding index_tasks" in row["fix"]
    assert "passed IAM; only the code's token check refused it" in row["seen"]  # a 401 from our code is no IAM
    row = rows["forged B2 event signature -> library /b2-events"]
    assert row["result"] == "FAIL" and "ACCEPTED" in row["seen"] and "./deploy.sh" in row["fix"]
    row = rows[f"b2 cors allows {server.origin}"]
    assert row["result"] == "FAIL" and "CORS" in row["fix"] and server.origin in row["fix"]
    assert rows["private upload_tasks refuses anonymous"]["result"] == "PASS"


def test_a_function_that_is_not_deployed_fails_with_how_to_deploy_it(deployment):
    server, env, env_file = deployment
    server.down.add("iconik_handler")
    code, rows, text = verify(env, env_file)
    row = rows["health iconik_handler"]
    assert code == 1 and row["result"] == "FAIL" and "HTTP 404" in row["seen"]
    assert "deploy it: ./deploy.sh" in row["fix"] and "gcloud functions logs read iconik_handler" in row["fix"]
    table = subprocess.run([str(ROOT / "deploy.sh"), "--env-file", str(env_file), "--verify", "--timeout", "5"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert table.returncode == 1 and "health iconik_handler" in table.stdout and "-> " in table.stdout
    assert "1 failed" in table.stdout


def test_without_a_signed_in_gcloud_private_health_is_skipped_and_says_how(deployment):
    server, env, env_file = deployment
    code, rows, text = verify({**env, "FAKE_GCLOUD_NO_AUTH": "1"}, env_file)
    assert code == 0, text
    for name in PRIVATE:
        row = rows[f"health {name}"]
        assert row["result"] == "SKIP" and "gcloud auth login" in row["fix"]
        assert rows[f"private {name} refuses anonymous"]["result"] == "PASS"


def test_verify_without_an_env_file_says_what_to_do(tmp_path: Path):
    out = subprocess.run([str(ROOT / "deploy.sh"), "--env-file", str(tmp_path / "missing.yaml"), "--verify"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "copy .env.yaml.template" in out.stderr and "--local" in out.stderr

"""Helpers for tests and benchmarks that drive the iconik stand-in: start it (and the local B2) on free loopback
ports, drive its admin routes; and our iconik functions served against it (integration tests)."""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from localdev.processes import ROOT, Service, Started, free_port, poll, start, wait_http
from localdev.stack import LOCAL_SECRETS
from standins.b2 import LocalB2


def MotoS3(port: int | None = None) -> LocalB2:  # a factory under the name the iconik tests know
    """The local B2 (moto behind the strict B2 layer) on a free port with no bucket: the stand-in makes its own."""
    return LocalB2(port=port, buckets=())


class Standin:
    """The iconik stand-in on a free port: as a real process (`python -m localdev.iconik`) or a thread."""

    def __init__(self, *, s3_endpoint: str, lucidlink_dir: str | Path, bucket: str = "mam-local",
                 prefix: str = "iconik/", process: bool = True, port: int | None = None,
                 extra: dict[str, Any] | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = {"s3_endpoint": s3_endpoint, "lucidlink_dir": str(lucidlink_dir), "bucket": bucket,
                         "prefix": prefix, **(extra or {})}
        self.process = process
        self._started: Started | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self.app = None

    def start(self) -> Standin:
        """Start the stand-in (its own process, or a thread of this one) and wait until it answers."""
        if self.process:
            cfg = Path(self.settings["lucidlink_dir"]).parent / f"iconik-standin-{self.port}.json"
            cfg.write_text(json.dumps(self.settings))
            env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
            cmd = [sys.executable, "-m", "localdev.iconik", "--port", str(self.port), "--config", str(cfg)]
            self._started = start(Service("iconik", self.port, cmd, ready_url=self.url + "/_admin/health",
                                          start_seconds=20), env, cfg.with_suffix(".log"))
        else:
            from werkzeug.serving import make_server

            from localdev.iconik import create_app
            from localdev.iconik.__main__ import _QuietHandler

            self.app = create_app(self.settings)
            self._server = make_server("127.0.0.1", self.port, self.app, threaded=True,
                                       request_handler=_QuietHandler)
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
            self._thread.start()
            wait_http(self.url + "/_admin/health")
        return self

    def stop(self) -> None:
        """Stop the process or the thread."""
        if self._started is not None:
            self._started.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def output(self) -> str:
        """What the process printed."""
        return self._started.log_text() if self._started is not None else ""

    def __enter__(self) -> Standin:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def admin(self) -> Admin:
        return Admin(self.url)


class Admin:
    """Thin client of the stand-in's /_admin routes."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.http = requests.Session()

    def _call(self, method: str, route: str, body: Any = None, **params) -> Any:
        resp = self.http.request(method, f"{self.base}/_admin{route}", json=body, params=params or None, timeout=600)
        if resp.status_code >= 400:
            raise RuntimeError(f"admin {method} {route} -> {resp.status_code} {resp.text[:500]}")
        return resp.json()

    def info(self) -> dict:
        return self._call("GET", "/info")

    def config(self, **knobs) -> dict:
        return self._call("POST", "/config", knobs)

    def fault(self, **rule) -> list:
        return self._call("POST", "/faults", rule)

    def clear_faults(self) -> list:
        return self._call("DELETE", "/faults")

    def copy_faults(self, mapping: dict[str, str]) -> dict:
        return self._call("POST", "/copy_faults", mapping)

    def seed(self, spec: dict) -> dict:
        return self._call("POST", "/seed", spec)

    def stats(self) -> dict:
        return self._call("GET", "/stats")

    def reset_stats(self) -> dict:
        return self._call("POST", "/stats/reset")

    def requests(self, **filters) -> list:
        return self._call("GET", "/requests", **filters)

    def reset(self, wipe_storage: bool = True) -> dict:
        return self._call("POST", "/reset", {"wipe_storage": wipe_storage})

    def wait_idle(self, timeout: float = 60) -> bool:
        return self._call("POST", "/wait_idle", {"timeout": timeout})["idle"]

    def asset(self, asset_id: str) -> dict:
        return self._call("GET", f"/assets/{asset_id}")

    def jobs(self) -> list:
        return self._call("GET", "/jobs")

    def force_job(self, job_id: str, **fields) -> dict:
        return self._call("POST", f"/jobs/{job_id}", fields)

    def token(self, app_id: str | None = None) -> str:
        return self._call("POST", "/tokens", {"app_id": app_id})["auth_token"]

    def revoke(self, token: str) -> dict:
        return self._call("POST", "/tokens/revoke", {"auth_token": token})

    def fire(self, **body) -> dict:
        return self._call("POST", "/fire", body)


# ---- our functions against the stand-in (integration tests, benchmark) ------------------------------------------
MAIN = str(ROOT / "functions" / "iconik_handler" / "main.py")
SECRET = LOCAL_SECRETS["BZ_SHARED_SECRET"]  # what the stack's iconik functions are granted
APP_ID = LOCAL_SECRETS["ICONIK_APP_ID"]

FAST = {  # keep every wait short in tests; production defaults are in mam/settings.py (Tuning)
    "ICONIK_JOB_POLL_MIN_SECONDS": "0.3", "ICONIK_JOB_POLL_MAX_SECONDS": "1", "ICONIK_STEP_RETRY_BASE_SECONDS": "0.3",
    "ICONIK_STEP_SECONDS": "10", "ICONIK_HTTP_TIMEOUT": "5", "ICONIK_PAGE_SIZE": "7",
}


def retune(monkeypatch, **knobs: str) -> None:
    """Change the run tuning (ICONIK_* variables) for one test. A function reads its settings once, so the
    in-process functions are made to read them again."""
    from mam import settings

    for name, value in knobs.items():
        monkeypatch.setenv(name, value)
    settings.reset_cache()


class Served:
    """A functions-framework app served by werkzeug on a free loopback port, in a daemon thread."""

    def __init__(self, target: str):
        import functions_framework
        from werkzeug.serving import make_server

        self.app = functions_framework.create_app(target=target, source=MAIN)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


class IconikStack:
    """Everything a test needs to drive a run and look at the real folder and bucket afterwards."""

    def __init__(self, iconik_url: str, s3_url: str, handler: Served, tasks: Served):
        self.iconik_url, self.s3_url, self.handler, self.tasks = iconik_url, s3_url, handler, tasks
        self.admin = Admin(iconik_url)
        info = self.admin.info()
        self.b2, self.ll = info["b2_storage_id"], info["ll_storage_id"]
        self.ll_dir = Path(info["lucidlink_dir"])
        self.prefix = info["prefix"]

    # ---- driving --------------------------------------------------------------------------------------------
    def action_url(self, op: str, formats: str | None = None, **overrides) -> str:
        query = {"b2_storage_id": self.b2, "ll_storage_id": self.ll, **overrides}
        if formats is not None:
            query["formats"] = formats
        return f"{self.handler.url}/{op}?{urlencode(query)}"

    def fire(self, op: str, *, assets=(), collections=(), context="BULK", formats=None, secret=SECRET) -> dict:
        """The stand-in delivers the custom action to our handler exactly as iconik does."""
        delivery = self.admin.fire(url=self.action_url(op, formats), headers={"x-bz-secret": secret},
                                   context=context, asset_ids=list(assets), collection_ids=list(collections),
                                   app_id=APP_ID)
        delivery["run_id"] = (delivery.get("headers") or {}).get("X-Run-Id")
        return delivery

    def wait_run(self, run_id: str, timeout: float = 60) -> dict:
        from mam.store import iconik_runs as runs

        def done():
            run = runs.get_run(run_id)
            return run if run and run.get("phase") == "done" else None
        run = poll(done, timeout, 0.2)
        if run is None:
            raise TimeoutError(f"iconik run {run_id} did not finish in {timeout}s: {runs.get_run(run_id)}")
        return run

    def run_assets(self, run_id: str) -> dict[str, dict]:
        from mam.store import iconik_runs as runs

        return dict(runs.iter_assets(run_id))

    # ---- looking at the real storages -----------------------------------------------------------------------
    def s3(self):
        """boto3 S3 client on the stack's B2 with the stack's key."""
        from localdev.b2.client import s3_client

        return s3_client(self.s3_url)

    def ll_files(self, asset_id: str) -> list[Path]:
        return sorted(p for p in (self.ll_dir / asset_id).rglob("*") if p.is_file()) if (self.ll_dir / asset_id).exists() else []

    def b2_objects(self, asset_id: str) -> dict[str, int]:
        resp = self.s3().list_objects_v2(Bucket="mam-local", Prefix=f"{self.prefix}{asset_id}/")
        return {o["Key"]: o["Size"] for o in resp.get("Contents", [])}

    def calls(self, method: str, fragment: str) -> list[dict]:
        return [r for r in self.admin.requests() if r["method"] == method and fragment in r["path"]]


@contextlib.contextmanager
def serve_iconik_functions(iconik_url: str, s3_url: str, env: dict[str, str] | None = None):
    """Serve iconik_handler and iconik_tasks in this process (Cloud Tasks dispatches steps to the latter).

    The process environment must already hold the stack's settings (tests: the `stack_env` fixture).
    """
    saved = {k: os.environ.get(k) for k in ("ICONIK_RATE_LIMIT", "FUNCTION_URL_ICONIK_TASKS",
                                            "FUNCTION_URL_ICONIK_HANDLER", *(env or {}))}
    os.environ.update({"ICONIK_RATE_LIMIT": "500", **(env or {})})
    from mam import settings

    settings.reset_cache()
    handler = tasks = None
    try:
        handler, tasks = Served("iconik_handler"), Served("iconik_tasks")
        os.environ["FUNCTION_URL_ICONIK_TASKS"] = tasks.url
        os.environ["FUNCTION_URL_ICONIK_HANDLER"] = handler.url
        yield IconikStack(iconik_url, s3_url, handler, tasks)
    finally:
        for served in (handler, tasks):
            if served is not None:
                served.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

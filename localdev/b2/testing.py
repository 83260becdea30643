"""Helpers for tests and benchmarks: the local B2 (`python -m localdev.b2`) as a real process on a free port."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Self

from .client import REGION, s3_client, stack_key

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A currently free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalB2:
    """The strict local B2 in its own process (moto's state is per process, so each instance starts empty).

    `buckets` are created at start (idempotent); `key_id`/`secret` default to the local stack's application key."""

    def __init__(self, *, port: int | None = None, key_id: str | None = None, secret: str | None = None,
                 region: str = REGION, buckets: tuple[str, ...] = ("mam-local",), max_skew: float | None = None):
        default_id, default_secret = stack_key()
        self.key_id = key_id or default_id
        self.secret = secret or default_secret
        self.region = region
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.buckets = buckets
        self.max_skew = max_skew
        self._proc: subprocess.Popen | None = None
        fd, self._log_path = tempfile.mkstemp(prefix="local-b2-", suffix=".log")
        os.close(fd)

    @property
    def url(self) -> str:
        """Alias of `endpoint`."""
        return self.endpoint

    def client(self, **config: Any) -> Any:
        """boto3 S3 client on this B2 with its key (configured as mam.b2's clients are)."""
        return s3_client(self.endpoint, key_id=self.key_id, secret=self.secret, region=self.region, **config)

    def env(self) -> dict[str, str]:
        """Environment variables that point a stand-in (TransloadIt, iconik) at this B2 with its key."""
        return {"B2_ENDPOINT": self.endpoint, "B2_REGION": self.region, "B2_KEY_ID": self.key_id,
                "B2_APPLICATION_KEY": self.secret}

    def log_text(self) -> str:
        """What the process logged so far (refusals are JSON lines with severity WARNING)."""
        return Path(self._log_path).read_text(errors="replace")

    def start(self) -> LocalB2:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "functions")]),
               "B2_KEY_ID": self.key_id, "B2_APPLICATION_KEY": self.secret, "B2_REGION": self.region}
        cmd = [sys.executable, "-m", "localdev.b2", "--port", str(self.port)]
        if self.max_skew is not None:
            cmd += ["--max-skew", str(self.max_skew)]
        with open(self._log_path, "ab") as log:  # the child keeps its own descriptor
            self._proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.endpoint + "/_health", timeout=1):
                    break
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"local B2 did not start on port {self.port}:\n{self.log_text()}") from None
                time.sleep(0.1)
        s3 = self.client()
        for bucket in self.buckets:
            try:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region})
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
        return self

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        Path(self._log_path).unlink(missing_ok=True)

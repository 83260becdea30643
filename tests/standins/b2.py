"""The local B2 (`python -m localdev.b2`) as a real process on a free port, for tests and benchmarks."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Self

from localdev.b2.client import REGION, s3_client, stack_key
from localdev.processes import ROOT, Service, Started, free_port, start


class LocalB2:
    """The strict local B2 in its own process (moto's state is per process, so each instance starts empty).

    `buckets` are created at start (idempotent); `key_id`/`secret` default to the local stack's application key."""

    def __init__(self, *, port: int | None = None, key_id: str | None = None, secret: str | None = None,
                 region: str = REGION, buckets: tuple[str, ...] = ("mam-local",), max_skew: float | None = None,
                 args: tuple[str, ...] = ()):
        default_id, default_secret = stack_key()
        self.key_id = key_id or default_id
        self.secret = secret or default_secret
        self.region = region
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.buckets = buckets
        self.max_skew = max_skew
        self.args = args  # more command-line options (e.g. --moto-versions)
        self._started: Started | None = None
        fd, self._log_path = tempfile.mkstemp(prefix="local-b2-", suffix=".log")
        os.close(fd)

    @property
    def url(self) -> str:
        """Alias of `endpoint`."""
        return self.endpoint

    def client(self, **config: Any) -> Any:
        """boto3 S3 client on this B2 with its key (configured as mam.clients.b2's clients are)."""
        return s3_client(self.endpoint, key_id=self.key_id, secret=self.secret, region=self.region, **config)

    def env(self) -> dict[str, str]:
        """Environment variables that point a stand-in (TransloadIt, iconik) at this B2 with its key."""
        return {"B2_ENDPOINT": self.endpoint, "B2_REGION": self.region, "B2_KEY_ID": self.key_id,
                "B2_APPLICATION_KEY": self.secret}

    def log_text(self) -> str:
        """What the process logged so far (refusals are JSON lines with severity WARNING)."""
        return Path(self._log_path).read_text(errors="replace")

    def start(self) -> LocalB2:
        """Start the process, wait until it answers, create `buckets`."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "functions")]),
               "B2_KEY_ID": self.key_id, "B2_APPLICATION_KEY": self.secret, "B2_REGION": self.region}
        cmd = [sys.executable, "-m", "localdev.b2", "--port", str(self.port)]
        if self.max_skew is not None:
            cmd += ["--max-skew", str(self.max_skew)]
        cmd += list(self.args)
        self._started = start(Service("local-b2", self.port, cmd, ready_url=self.endpoint + "/_health"), env,
                              self._log_path)
        s3 = self.client()
        for bucket in self.buckets:
            try:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region})
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
        return self

    @property
    def pid(self) -> int:
        """The process id (for reading its memory in /proc)."""
        assert self._started is not None, "not started"
        return self._started.pid

    def stop(self) -> None:
        """Stop the process (its state goes with it)."""
        if self._started is not None:
            self._started.stop()
        self._started = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        Path(self._log_path).unlink(missing_ok=True)

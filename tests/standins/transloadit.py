"""Helpers for tests that drive the TransloadIt stand-in: a sample video, signed params, a notify receiver, the
local B2 it stores into."""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from localdev.processes import poll
from localdev.transloadit import signing
from standins.b2 import LocalB2

# The local B2 (moto behind the strict B2 layer) on a free port with the bucket, in its own process, signed with
# the stack's B2 key, which the stand-in's default settings also use.
LocalS3 = LocalB2


def make_test_video(path: str, seconds: float = 2.0, width: int = 320, height: int = 240, audio: bool = True) -> str:
    """A small H.264/AAC MP4 made by ffmpeg (test pattern + tone)."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
           f"testsrc=size={width}x{height}:rate=25:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", "-b:a", "64k"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", path]
    subprocess.run(cmd, check=True, timeout=60)
    return path


def expires_in(seconds: float = 3600) -> str:
    """auth.expires in TransloadIt's "YYYY/MM/DD HH:MM:SS+00:00" form."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y/%m/%d %H:%M:%S+00:00")


def signed_params(
    secret: str,
    key: str,
    steps: dict[str, Any] | None = None,
    *,
    algorithm: str = "sha384",
    expires: str | None = None,
    nonce: str | None = "auto",
    **extra: Any,
) -> tuple[str, str]:
    """(params JSON string, signature) the way our upload_status function and Uppy's examples make them."""
    auth: dict[str, Any] = {"key": key, "expires": expires or expires_in()}
    if nonce:
        auth["nonce"] = uuid.uuid4().hex if nonce == "auto" else nonce
    params = {"auth": auth, **({"steps": steps} if steps is not None else {}), **extra}
    raw = json.dumps(params, separators=(",", ":"))
    return raw, signing.sign(secret, raw, algorithm)


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)


class NotifyReceiver:
    """A tiny HTTP server recording POSTs; `responses` gives the status codes to answer in turn (then 200)."""

    def __init__(self, responses: list[int] | None = None) -> None:
        self.received: list[Received] = []
        self.responses = list(responses or [])
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._cond:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                    status = receiver.responses.pop(0) if receiver.responses else 200
                    receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok":true}' if status < 300 else b'{"error":"try again"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/notify"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait(self, count: int = 1, timeout: float = 30.0) -> list[Received]:
        """Block until `count` requests arrived (or raise TimeoutError)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"only {len(self.received)} of {count} notifications arrived")
                self._cond.wait(left)
            return list(self.received)


def parse_form(received: Received) -> dict[str, str]:
    """Decode an urlencoded or multipart form body into {field: value}."""
    ctype = received.headers.get("Content-Type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        from urllib.parse import parse_qs

        return {k: v[0] for k, v in parse_qs(received.body.decode(), keep_blank_values=True).items()}
    if ctype.startswith("multipart/form-data"):
        from email.parser import BytesParser
        from email.policy import HTTP

        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + received.body)
        return {part.get_param("name", header="content-disposition"): part.get_content() for part in msg.iter_parts()}
    raise ValueError(f"unexpected content type {ctype!r}")


def create_assembly(started: dict[str, Any]) -> dict[str, Any]:
    """What @uppy/transloadit sends after `POST /uploads` answered `started`: a multipart POST /assemblies with the
    signed params string and the fields; returns the assembly status."""
    import requests

    form = {"params": started["params"], "signature": started["signature"], **started["fields"],
            "num_expected_upload_files": "1"}
    resp = requests.post(started["service_url"] + "/assemblies", files={k: (None, v) for k, v in form.items()},
                         timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy and return it; TimeoutError otherwise."""
    value = poll(predicate, timeout, interval)
    if not value:
        raise TimeoutError(f"timed out waiting for {what}")
    return value


def quiet_werkzeug() -> None:
    """Request lines are noise in test output; errors still show."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

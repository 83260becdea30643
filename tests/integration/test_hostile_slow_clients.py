"""Clients that announce a body and never send it must not take a local function's threads for good (issue 12).

Cloud Run buffers a request before the instance sees it; the local launcher (functions-framework under gunicorn,
THREADS=8) does not, so it gives each connection a read timeout instead.
"""
from __future__ import annotations

import socket
import time

import pytest
import requests

pytestmark = pytest.mark.timeout(120)

STALLED = 12  # more than the 8 threads of a function


def _stall(port: int, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 f"Content-Length: 900000\r\n\r\n{{\"ids\": [".encode())
    return sock


def test_stalled_bodies_do_not_block_a_function_for_good(emulators, start_function, stack):
    base = start_function("upload_status")
    port = int(base.rsplit(":", 1)[1])
    stalled = [_stall(port, "/status") for _ in range(STALLED)]
    try:
        time.sleep(1)  # every thread is now waiting for a body that never comes
        started = time.monotonic()
        resp = requests.get(base + "/health", timeout=60)
        waited = time.monotonic() - started
        assert resp.status_code == 200
        assert waited < 45, f"/health waited {waited:.0f} s behind stalled clients"
        for sock in stalled:  # each stalled request was ended (the timeout answers 408 or closes the connection)
            sock.settimeout(30)
            try:
                answer = sock.recv(200)
            except OSError:
                answer = b""
            assert not answer or answer.startswith(b"HTTP/1.1 4"), answer
    finally:
        for sock in stalled:
            sock.close()

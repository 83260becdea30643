"""scripts/fire_custom_action.py finds the local stack where scripts/dev.sh put it (MAM_PORT_OFFSET) and fails in
one line, never with a traceback (issue 13, problem 9)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from conftest import OFFSET, ROOT

from localdev.processes import free_port
from localdev.stack import Stack

pytestmark = pytest.mark.timeout(120)
UNUSED_OFFSET = 41000  # nothing of any stack listens there (checked below)


def script(*args: str, offset: int | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ICONIK_URL", "FUNCTION_URL_ICONIK_HANDLER", "MAM_PORT_OFFSET")}
    if offset is not None:
        env["MAM_PORT_OFFSET"] = str(offset)
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "fire_custom_action.py"), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_nothing_running_is_one_line_naming_the_offset_port():
    stack = Stack(offset=UNUSED_OFFSET)
    if listening(stack.port("iconik")) or listening(stack.port("iconik_handler")):
        pytest.skip("something listens on the unused offset's ports")
    line = one_line_error(script("remove", "--asset", "a1", offset=UNUSED_OFFSET))
    assert line == (f"fire_custom_action.py: could not reach the iconik stand-in at {stack.url('iconik')} — "
                    "is ./scripts/dev.sh running?")
    # posting straight to the handler names the handler, at its offset port too
    line = one_line_error(script("add", "--asset", "a1", "--direct", "--token", "t", "--b2-storage-id", "b",
                                 "--ll-storage-id", "l", offset=UNUSED_OFFSET))
    assert line == (f"fire_custom_action.py: could not reach the iconik handler at {stack.url('iconik_handler')} — "
                    "is ./scripts/dev.sh running?")


def test_the_stand_in_is_found_at_the_offset_and_a_missing_handler_is_one_line(start_standin, stack):
    start_standin("iconik")  # on the test stack's ports: manifest + OFFSET
    # the suite's own iconik handler may run on this offset, so the action goes to a port where nothing listens
    gone = f"http://127.0.0.1:{free_port()}"
    line = one_line_error(script("remove", "--asset", "a1", "--handler", gone, offset=OFFSET))
    # it reached the stand-in (no "could not reach the iconik stand-in"), which could not reach the handler
    assert line.startswith(f"fire_custom_action.py: could not reach the iconik handler at {gone} — "
                           "is ./scripts/dev.sh running?"), line


def test_a_bad_offset_is_one_line():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "fire_custom_action.py"), "remove"], cwd=ROOT,
                          env={**os.environ, "MAM_PORT_OFFSET": "ten"}, capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    want = "fire_custom_action.py: MAM_PORT_OFFSET must be a whole number, not 'ten'"
    assert proc.stderr.strip().splitlines() == [want]


def test_iconik_actions_names_where_it_looked_when_nothing_answers():
    stack = Stack(offset=UNUSED_OFFSET)
    if listening(stack.port("iconik")):
        pytest.skip("something listens on the unused offset's iconik port")
    env = {**os.environ, "ICONIK_URL": stack.url("iconik"), "ICONIK_APP_ID": "app", "ICONIK_TOKEN": "token"}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "iconik_actions.py"), "list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert one_line_error(proc) == (f"iconik_actions.py: could not reach iconik at {stack.url('iconik')} — is "
                                    "ICONIK_URL right (locally: is ./scripts/dev.sh running)?")

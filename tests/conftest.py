"""Test fixtures: the local stack's emulators (and, on demand, stand-ins and functions) as real processes.

Ports are the manifest's plus an offset (MAM_TEST_PORT_OFFSET, default 1000), so tests never collide with a
developer's running stack. Emulators already answering on those ports are reused, which makes re-runs fast.
"""
from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from localdev.processes import Group, Service, Started, is_ready, poll  # noqa: E402
from localdev.stack import Stack  # noqa: E402

OFFSET = int(os.environ.get("MAM_TEST_PORT_OFFSET", "1000"))
LOGS = ROOT / ".local" / "test-logs"


class Processes:
    """Starts services once per test session and stops what it started."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.group = Group(LOGS)

    @property
    def procs(self) -> dict[str, Started]:
        """What this session started, by service name."""
        return self.group.procs

    def start(self, service: Service, extra_env: dict[str, str] | None = None, reuse: bool = False) -> Service:
        """Start `service` once per session. Only emulators (`reuse`) may be taken over from an earlier run:
        a stand-in or function left running could be stale code, so a busy port is an error for those."""
        running = self.procs.get(service.name)
        if running is not None and running.alive():
            return service
        if is_ready(service):
            if reuse:
                return service
            raise RuntimeError(f"port {service.port} for {service.name} is already in use (a stack left running?); "
                               f"stop it, or set MAM_TEST_PORT_OFFSET to another value")
        # a function gets only what it gets deployed
        self.group.start(service, self.stack.process_env(service, extra_env))
        return service

    def stop(self, name: str) -> None:
        """Stop the service started under `name`."""
        self.group.stop(name)

    def stop_all(self) -> None:
        """Stop everything this session started."""
        self.group.stop_all()


@pytest.fixture(autouse=True)
def _settings_read_afresh() -> Iterator[None]:
    """A function process reads its settings once (`mam.settings.settings`); a test that changes the environment
    must not leave settings read from it to the next test."""
    yield
    from mam import settings

    settings.reset_cache()


@pytest.fixture(scope="session")
def stack() -> Stack:
    """Port/URL/environment description of the test stack."""
    state = ROOT / ".local" / f"test-stack-{OFFSET}"
    state.mkdir(parents=True, exist_ok=True)
    return Stack(offset=OFFSET, state_dir=state)


@pytest.fixture(scope="session")
def processes(stack: Stack) -> Iterator[Processes]:
    procs = Processes(stack)
    yield procs
    if os.environ.get("MAM_KEEP_STACK") != "1":
        procs.stop_all()


@pytest.fixture(scope="session")
def stack_env(stack: Stack) -> Iterator[dict[str, str]]:
    """Put the stack's settings into this test process's environment (and restore afterwards)."""
    saved = dict(os.environ)
    os.environ.update(stack.env())
    from mam import settings, store, tasks

    settings.reset_cache()
    store.reset_client()
    tasks.reset_client()
    yield stack.env()
    os.environ.clear()
    os.environ.update(saved)


def _by_name(services: list[Service], name: str) -> Service:
    return next(s for s in services if s.name == name)


@pytest.fixture(scope="session")
def firestore(stack: Stack, processes: Processes, stack_env) -> str:
    """The Firestore emulator; returns host:port."""
    processes.start(_by_name(stack.emulators(), "firestore"), reuse=True)
    return stack_env["FIRESTORE_EMULATOR_HOST"]


@pytest.fixture(scope="session")
def s3(stack: Stack, processes: Processes, stack_env) -> str:
    """The S3 server holding the bucket (with CORS); returns its endpoint URL."""
    processes.start(_by_name(stack.emulators(), "s3"), reuse=True)
    from localdev.bootstrap import ensure_bucket

    ensure_bucket(stack)
    return stack.url("s3")


@pytest.fixture(scope="session")
def cloud_tasks(stack: Stack, processes: Processes, stack_env) -> str:
    """The Cloud Tasks emulator with the manifest's queues; returns host:port."""
    processes.start(_by_name(stack.emulators(), "tasks"), reuse=True)
    from localdev.bootstrap import ensure_queues

    ensure_queues(stack)
    return stack_env["CLOUD_TASKS_EMULATOR_HOST"]


@pytest.fixture(scope="session")
def auth_emulator(stack: Stack, processes: Processes, stack_env) -> str:
    """The Firebase Auth emulator with the demo user; returns its base URL."""
    processes.start(_by_name(stack.emulators(), "auth"), reuse=True)
    from localdev.bootstrap import ensure_user

    ensure_user(stack)
    return stack.url("auth")


@pytest.fixture(scope="session")
def emulators(firestore, s3, cloud_tasks, auth_emulator) -> None:
    """All four emulators."""


@pytest.fixture(scope="session")
def start_standin(stack: Stack, processes: Processes, stack_env):
    """Start one of our stand-ins (transloadit, twelvelabs, iconik) by name; returns its base URL."""

    def start(name: str, extra_env: dict[str, str] | None = None) -> str:
        processes.start(_by_name(stack.standins(), name), extra_env)
        return stack.url(name)

    return start


@pytest.fixture(scope="session")
def start_function(stack: Stack, processes: Processes, stack_env):
    """Start a manifest function under functions-framework by name; returns its base URL."""

    def start(name: str, extra_env: dict[str, str] | None = None) -> str:
        processes.start(_by_name(stack.functions(), name), extra_env)
        return stack.url(name)

    return start


@pytest.fixture
def clean_firestore(firestore: str, stack: Stack) -> None:
    """Empty the Firestore emulator before the test."""
    req = urllib.request.Request(f"http://127.0.0.1:{stack.port('firestore') + 1}/reset", method="POST")
    urllib.request.urlopen(req, timeout=5).read()


def id_token(stack: Stack, email: str, password: str) -> str:
    """Sign in against the Auth emulator (creating the user if needed) and return a real emulator ID token."""
    import json

    base = f"{stack.url('auth')}/identitytoolkit.googleapis.com/v1"
    body = json.dumps({"email": email, "password": password, "returnSecureToken": True}).encode()
    for endpoint in ("accounts:signInWithPassword", "accounts:signUp"):
        req = urllib.request.Request(f"{base}/{endpoint}?key=local", data=body, headers={"Content-Type": "application/json"})
        try:
            return json.loads(urllib.request.urlopen(req, timeout=10).read())["idToken"]
        except urllib.error.HTTPError:
            continue
    raise RuntimeError(f"could not sign in {email}: wrong password for an existing emulator user? use a unique email per test module")


@pytest.fixture(scope="session")
def demo_token(stack: Stack, auth_emulator) -> str:
    """A real ID token of the demo user (an admin locally)."""
    from localdev.stack import DEMO_EMAIL, DEMO_PASSWORD

    return id_token(stack, DEMO_EMAIL, DEMO_PASSWORD)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value (returned) or fail the test after `timeout` seconds."""
    value = poll(predicate, timeout, interval)
    if not value:
        pytest.fail(f"timed out after {timeout}s waiting for {what}")
    return value

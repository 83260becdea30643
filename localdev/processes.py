"""Processes of the local harness: free loopback ports, readiness probes, and starting/stopping one process.

The developer runner, the test fixtures, the stand-in helpers and the benchmarks all start their processes here,
so every one is started, awaited and stopped the same way: in a process group of its own, stopped as a group
(SIGTERM, then SIGKILL), so nothing it started outlives it. `localdev/stack.py` says which processes exist.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self, TypeVar

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
# Where a process's output goes: a file (appended), or what Popen takes for it (DEVNULL, PIPE, STDOUT for
# stderr, None to inherit ours).
Output = str | os.PathLike | int | None


@dataclass
class Service:
    """One process of the local stack (or of a test or benchmark): its command, port and readiness."""

    name: str
    port: int  # 0: not a server (nothing to wait for)
    command: list[str]
    ready_url: str | None = None  # HTTP URL answering < 500 when ready; else a TCP connect is enough
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    start_seconds: float = 30.0
    isolated: bool = False  # True: `env` is the whole environment (a function, as deployed); else added to the stack's


class NotReady(RuntimeError):
    """A process did not answer in time, or exited while starting."""


def free_port() -> int:
    """A loopback TCP port nobody listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts connections on the port."""
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def answers(url: str, timeout: float = 2.0) -> bool:
    """True if `url` answers with an HTTP status below 500 (a server that is up, whatever it thinks of the path)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def poll(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.1) -> T | None:
    """Call `predicate` until it returns something truthy (returned), or None once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def is_ready(service: Service) -> bool:
    """One readiness probe of a service: its ready URL answers, or (without one) its port accepts connections."""
    return port_open(service.port) if service.ready_url is None else answers(service.ready_url)


def _await(probe: Callable[[], bool], alive: Callable[[], bool], timeout: float, name: str, where: str) -> None:
    def check() -> bool:
        if probe():
            return True
        if not alive():
            raise NotReady(f"{name} exited during start-up")
        return False

    if not poll(check, timeout, 0.2):
        raise NotReady(f"{name} did not become ready {where} within {timeout:.0f}s")


def wait_ready(service: Service, alive: Callable[[], bool] = lambda: True) -> None:
    """Block until the service answers, or raise NotReady naming it (at once if `alive()` turns false)."""
    _await(lambda: is_ready(service), alive, service.start_seconds, service.name, f"on port {service.port}")


def wait_http(url: str, timeout: float = 20.0, alive: Callable[[], bool] = lambda: True) -> None:
    """Block until `url` answers below 500, or raise NotReady."""
    _await(lambda: answers(url), alive, timeout, url, "")


@dataclass
class Started:
    """A running process of the harness and where its output goes."""

    service: Service
    proc: subprocess.Popen
    log: Path | None = None
    own_group: bool = True

    @property
    def pid(self) -> int:
        """The process id (also its process group id when `own_group`)."""
        return self.proc.pid

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def log_text(self) -> str:
        """What it logged so far ("" without a log file)."""
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""

    def terminate(self) -> None:
        """Ask it (its whole group) to stop, without waiting."""
        self._signal(signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds; to the whole group, so its children go too."""
        if self.alive():
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()

    def _signal(self, sig: int) -> None:
        try:
            if self.own_group:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _open(output: Output):
    if isinstance(output, (str, os.PathLike)):
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        return open(output, "ab")  # closed by `start` once the child has its own descriptor
    return output


def start(service: Service, env: Mapping[str, str], log: Output = subprocess.DEVNULL, *,
          stderr: Output = subprocess.STDOUT, own_group: bool = True, wait: bool = True) -> Started:
    """Start `service` with exactly `env`, its output going to `log`; with `wait`, block until it answers (else stop
    it and raise NotReady). `own_group=False` keeps it in our process group (a foreground child that gets Ctrl-C)."""
    out, err = _open(log), _open(stderr)
    try:
        proc = subprocess.Popen(list(service.command), cwd=service.cwd, env=dict(env), stdout=out, stderr=err,
                                start_new_session=own_group)
    finally:
        for opened, given in ((out, log), (err, stderr)):
            if opened is not given:
                opened.close()
    started = Started(service, proc, Path(log) if isinstance(log, (str, os.PathLike)) else None, own_group)
    if wait and service.port:
        try:
            wait_ready(service, alive=started.alive)
        except NotReady as exc:
            started.stop()
            tail = "\n".join(started.log_text().splitlines()[-20:])
            raise NotReady(f"{exc}" + (f" (log {started.log}):\n{tail}" if started.log else "")) from None
    return started


@dataclass(frozen=True)
class GroupUsage:
    """What the live processes of one process group use, read from /proc (benchmarks watch every local process)."""

    processes: int = 0
    cpu_seconds: float = 0.0  # utime + stime
    rss_mb: float = 0.0


def group_usage(pgids: Mapping[str, int]) -> dict[str, GroupUsage]:
    """{name: usage} summed over each named process group, from one pass over /proc."""
    clock, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    wanted = set(pgids.values())
    sums: dict[int, list[int]] = {g: [0, 0, 0] for g in wanted}  # processes, ticks, rss pages
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        fields = raw[raw.rindex(")") + 2:].split()  # after the command name, which may hold spaces
        pgrp = int(fields[2])
        if pgrp in wanted:
            row = sums[pgrp]
            row[0] += 1
            row[1] += int(fields[11]) + int(fields[12])
            row[2] += int(fields[21])
    return {name: GroupUsage(sums[g][0], sums[g][1] / clock, sums[g][2] * page / 2**20) for name, g in pgids.items()}


class Group:
    """Processes started together and stopped together (a test session's, a benchmark's), by name; each logs to
    `<logs>/<name>.log` (nowhere without `logs`)."""

    def __init__(self, logs: Path | None = None) -> None:
        self.logs = logs
        self.procs: dict[str, Started] = {}

    def start(self, service: Service, env: Mapping[str, str], **options) -> Started:
        """Start `service` (see `start`) and keep it under its name until `stop`."""
        running = self.procs.get(service.name)
        if running is not None and running.alive():
            raise RuntimeError(f"{service.name} is already running (pid {running.pid})")
        log = self.logs / f"{service.name}.log" if self.logs is not None else subprocess.DEVNULL
        started = start(service, env, options.pop("log", log), **options)
        self.procs[service.name] = started
        return started

    def stop(self, name: str) -> None:
        """Stop the process started under `name` (nothing if there is none)."""
        started = self.procs.pop(name, None)
        if started is not None:
            started.stop()

    def stop_all(self) -> None:
        """Stop every process of the group: all are asked at once, then each is waited for."""
        for started in self.procs.values():
            started.terminate()
        for name in list(self.procs):
            self.stop(name)

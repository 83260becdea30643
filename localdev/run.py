"""Run the whole system locally: emulators, stand-ins, every function of the manifest and the front end.

Usage: scripts/dev.sh (installs what is missing first). Ctrl-C stops everything. Processes are managed by honcho
from a Procfile generated from localdev/stack.py, so the list always matches functions/manifest.yaml.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys

from localdev.processes import Service, port_open, start
from localdev.stack import DEMO_EMAIL, DEMO_PASSWORD, ROOT, Stack

LOCK = ROOT / ".local" / "stack.pid"


def _already_running() -> int | None:
    try:
        pid = int(LOCK.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _build_frontend() -> None:
    dist = ROOT / "frontend" / "dist" / "index.html"
    src = [p for p in (ROOT / "frontend").rglob("*") if "node_modules" not in p.parts and "dist" not in p.parts and p.is_file()]
    if not (ROOT / "frontend" / "package.json").exists():
        return
    if dist.exists() and all(p.stat().st_mtime <= dist.stat().st_mtime for p in src):
        return
    print("[run] building the front end (npm run build)", flush=True)
    subprocess.run(["npm", "run", "build", "--silent"], cwd=ROOT / "frontend", check=True)


def _table(stack: Stack, services) -> str:
    rows = [("front end", stack.url("frontend") + "/")]
    rows += [(s.name, f"http://127.0.0.1:{s.port}") for s in services if s.name != "frontend"]
    width = max(len(r[0]) for r in rows)
    lines = [f"  {name.ljust(width)}  {url}" for name, url in rows]
    return "\n".join(["", "MAM local stack is up:", *lines, "",
                      f"  demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}", "  Ctrl-C stops everything.", ""])


def main() -> int:
    stack = Stack(offset=int(os.environ.get("MAM_PORT_OFFSET", "0")))
    pid = _already_running()
    if pid:
        print(f"[run] the local stack is already running (pid {pid}); open {stack.url('frontend')}/ "
              f"or stop it with Ctrl-C in its terminal (kill {pid}).", file=sys.stderr)
        return 1
    services = stack.emulators() + stack.standins() + stack.functions() + [stack.frontend()]
    taken = [f"{s.name} ({s.port})" for s in services if port_open(s.port)]
    taken += [f"auth emulator {what} ({port})" for what, port in
              (("hub", 4400 + stack.offset), ("logging", 4500 + stack.offset)) if port_open(port)]
    if taken:
        print("[run] these ports are already in use: " + ", ".join(taken) +
              ".\n      Stop whatever holds them, or run with MAM_PORT_OFFSET=100 to move every port.", file=sys.stderr)
        return 1
    _build_frontend()
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    procfile = stack.state_dir / "Procfile"
    lines = []
    for s in services:
        cmd = " ".join(shlex.quote(c) for c in s.command)
        if s.isolated:  # a function: started with only its own settings and secrets (none written to the Procfile)
            lines.append(f"{s.name}: exec {shlex.quote(sys.executable)} -m localdev.launch {shlex.quote(s.name)}")
            continue
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in s.env.items())
        lines.append(f"{s.name}: cd {shlex.quote(str(s.cwd))} && {prefix + ' ' if prefix else ''}exec {cmd}")
    (stack.state_dir / "table.txt").write_text(_table(stack, services))
    lines.append(f"setup: {shlex.quote(sys.executable)} -m localdev.bootstrap && "
                 f"{shlex.quote(sys.executable)} -m localdev.announce")
    procfile.write_text("\n".join(lines) + "\n")
    env = {**os.environ, **stack.env()}
    LOCK.write_text(str(os.getpid()))
    # honcho stays in our process group and writes to our terminal: Ctrl-C reaches it (and what it runs) directly.
    honcho = start(Service("honcho", 0, [str(ROOT / ".venv" / "bin" / "honcho"), "-f", str(procfile), "-d", str(ROOT),
                                         "start"]), env, log=None, stderr=None, own_group=False).proc
    # Ctrl-C reaches honcho through the terminal; a SIGTERM sent to us (timeout, kill) is passed on, so that
    # honcho stops every process it started instead of leaving them behind.
    signal.signal(signal.SIGTERM, lambda *_: honcho.send_signal(signal.SIGTERM))
    try:
        while True:
            try:
                return honcho.wait()
            except KeyboardInterrupt:
                continue  # honcho got the same SIGINT and is stopping its processes; wait for it
    finally:
        LOCK.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())

"""`.venv-tasks/bin/python -m localdev.tasks --port 8823`: the strict local Cloud Tasks on a loopback port."""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import warnings
from pathlib import Path

# google-api-core warns on every start that Python 3.11 support ends in 2027; it says nothing about this process.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")

from .oidc import CertsServer, LocalKey, certs_port, key_path
from .server import DEFAULT_WINDOW, StrictServer

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m localdev.tasks", description=__doc__)
    p.add_argument("--port", type=int, default=8823)
    p.add_argument("--host", default="127.0.0.1", help="loopback only (default 127.0.0.1)")
    p.add_argument("--dedup-window", type=float, default=DEFAULT_WINDOW,
                   help="seconds a used task name stays refused after its task left the queue (default 3600)")
    p.add_argument("--max-retries", type=int, default=-1, help="give a failing task up after this many retries")
    p.add_argument("--verbose", action="store_true", help="log every task the emulator creates and dispatches")
    p.add_argument("--certs-port", type=int, default=None,
                   help="loopback port of the OIDC certs (default: --port + 1)")
    p.add_argument("--key-file", type=Path, default=None,
                   help="where the OIDC signing key is written at start (default: "
                        "$MAM_STATE_DIR/run/tasks-<port>/oidc-key.pem, mode 0600)")
    return p.parse_args(argv)


def _stop(*_args) -> None:
    raise KeyboardInterrupt  # SIGTERM ends the server loop like Ctrl-C


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the Cloud Tasks emulator listens on loopback only")
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    # The emulator logs two INFO lines per task; its warnings and errors (failed dispatches) stay visible.
    logging.getLogger("gcloud-tasks-emulator").setLevel(logging.INFO if args.verbose else logging.WARNING)
    # A new signing key at each start (as Google rotates its keys): functions holding the old certs refetch them
    # on the unknown key id. The certs are served before the gRPC port opens, so "ready" covers both.
    key = LocalKey.generate()
    key_file = args.key_file or key_path(Path(os.environ.get("MAM_STATE_DIR") or ROOT / ".local"), args.port)
    key.save(key_file)
    certs = CertsServer(key, args.host, args.certs_port or certs_port(args.port)).start()
    server = StrictServer(args.port, host=args.host, window=args.dedup_window, max_retries=args.max_retries,
                          oidc_key=key)
    signal.signal(signal.SIGTERM, _stop)
    server.start()
    print(json.dumps({"severity": "INFO", "message": "cloud tasks emulator ready", "address": f"{args.host}:{args.port}",
                      "certs": f"http://{args.host}:{certs.server_address[1]}/oauth2/v1/certs", "kid": key.kid,
                      "dedup_window_seconds": args.dedup_window, "max_retries": args.max_retries}), flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        key_file.unlink(missing_ok=True)  # the next start makes a new key anyway
        with contextlib.suppress(OSError):
            key_file.parent.rmdir()
        # A queue thread may be inside a dispatch for up to its deadline; nothing it does matters any more.
        os._exit(0)


if __name__ == "__main__":
    main()

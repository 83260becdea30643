"""`python -m localdev.b2 --port 8900`: the local B2 (moto behind the strict B2 layer) on a loopback port.

The application key comes from the environment, never from the command line (where `ps` would show it):
B2_KEY_ID and B2_APPLICATION_KEY (the local stack sets both from localdev/stack.py's LOCAL_SECRETS), B2_REGION
(default us-west-004). --key-id and --region override the environment.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m localdev.b2", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1", help="loopback only (default 127.0.0.1)")
    p.add_argument("--key-id", default=os.environ.get("B2_KEY_ID"), help="application key id (default $B2_KEY_ID)")
    p.add_argument("--region", default=os.environ.get("B2_REGION") or "us-west-004")
    p.add_argument("--max-skew", type=float, default=900.0,
                   help="seconds a header-signed request's date may differ from this clock (default 900)")
    p.add_argument("--moto-versions", action="store_true",
                   help="let moto answer ListObjectVersions (it copies every body in the bucket per call; only for "
                        "comparing with the layer's answer: tests/contract/test_b2_versions.py, bench/b2_versions_memory.py)")
    return p.parse_args(argv)


def _stop(*_args: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends serve_forever like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the local B2 listens on loopback only")
    secret = os.environ.get("B2_APPLICATION_KEY")
    if not args.key_id or not secret:
        sys.exit("set B2_KEY_ID and B2_APPLICATION_KEY (the application key the local B2 accepts)")
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"  # before anything imports moto (see app.moto_app)
    from werkzeug.serving import make_server

    from .app import create_app, log
    from .server import QuietHandler
    from .sigv4 import Credentials

    app = create_app(Credentials(args.key_id, secret, args.region), max_skew=args.max_skew,
                     moto_versions=args.moto_versions)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=QuietHandler)
    log("INFO", "local B2 ready", url=f"http://{args.host}:{server.port}", region=args.region, key_id=args.key_id)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

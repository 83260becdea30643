"""CLI: `python -m localdev.transloadit --port 8840` (settings from TRANSLOADIT_STANDIN_* variables)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from .config import Settings
from .server import StandinServer


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.transloadit", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8840)
    parser.add_argument("--public-url", help="base URL to advertise in assembly/tus URLs (default: request Host)")
    parser.add_argument("--s3-endpoint", help="local S3 endpoint (default http://127.0.0.1:8900)")
    parser.add_argument("--bucket", help="bucket for /backblaze/store (default mam-local)")
    parser.add_argument("--no-require-signature", action="store_true", help="accept unsigned assemblies")
    parser.add_argument("--sse", dest="sse", action="store_true", default=None, help="serve Server-Sent Events")
    parser.add_argument("--no-sse", dest="sse", action="store_false", help="answer 204 on the event stream")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.public_url:
        settings.public_url = args.public_url
    if args.s3_endpoint:
        settings.s3_endpoint = args.s3_endpoint
    if args.bucket:
        settings.bucket = args.bucket
    if args.no_require_signature:
        settings.require_signature = False
    if args.sse is not None:
        settings.sse = args.sse
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # plain-text access lines; app.py logs JSON ones
    server = StandinServer(settings, host=args.host, port=args.port)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f'{{"severity": "INFO", "message": "transloadit stand-in listening", "url": "{server.url}"}}', flush=True)
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.service.stopping.set()
        server.server.server_close()
        server.service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

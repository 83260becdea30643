"""`python -m localdev.iconik --port 8860`: run the iconik stand-in on a loopback port."""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_app
from .config import StandinConfig


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without one access-log line per request (the benchmark makes 100k of them)."""

    def log_request(self, code="-", size="-") -> None:
        if isinstance(code, int) and code >= 500:
            super().log_request(code, size)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m localdev.iconik", description=__doc__)
    p.add_argument("--port", type=int, default=8860)
    p.add_argument("--host", default="127.0.0.1", help="loopback only (default 127.0.0.1)")
    p.add_argument("--config", help="JSON file with settings/knobs (see README)")
    p.add_argument("--s3-endpoint")
    p.add_argument("--bucket")
    p.add_argument("--prefix")
    p.add_argument("--lucidlink-dir")
    p.add_argument("--b2-storage-id")
    p.add_argument("--ll-storage-id")
    p.add_argument("--app-id", help="require this App-ID (default: any)")
    p.add_argument("--latency-ms", type=float)
    p.add_argument("--rate-limit", type=float, help="requests/s answered before 429s (default: unlimited)")
    p.add_argument("--rate-burst", type=float)
    p.add_argument("--copy-workers", type=int)
    p.add_argument("--access-log", action="store_true", help="log every request")
    return p.parse_args(argv)


def _stop(*_args) -> None:
    raise KeyboardInterrupt  # SIGTERM ends serve_forever like Ctrl-C


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the stand-in listens on loopback only")
    values: dict = StandinConfig.from_env()
    if args.config:
        with open(args.config) as fh:
            values.update(json.load(fh))
    for key in ("s3_endpoint", "bucket", "prefix", "lucidlink_dir", "b2_storage_id", "ll_storage_id", "app_id",
                "latency_ms", "rate_limit", "rate_burst", "copy_workers"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = create_app(values)
    server = make_server(args.host, args.port, app, threaded=True,
                         request_handler=None if args.access_log else _QuietHandler)
    st = app.extensions["iconik"]
    print(json.dumps({"severity": "INFO", "message": "iconik stand-in ready", "url": f"http://{args.host}:{server.port}",
                      "b2_storage_id": st.config.b2_storage_id, "ll_storage_id": st.config.ll_storage_id,
                      "bucket": st.config.bucket, "lucidlink_dir": str(st.blobs[st.config.ll_storage_id].root)}),
          flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

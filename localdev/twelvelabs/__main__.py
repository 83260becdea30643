"""`python -m localdev.twelvelabs --port 8850 [--api-key K] [--index-seconds N] [--webhook-url U --webhook-secret S]`"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"severity": record.levelname, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                           "logger": record.name, "message": record.getMessage()})


def _default_webhook_url() -> str | None:
    if os.environ.get("TWELVELABS_WEBHOOK_URL"):
        return os.environ["TWELVELABS_WEBHOOK_URL"]
    base = os.environ.get("FUNCTION_URL_INDEX_VIDEOS")
    return f"{base.rstrip('/')}/webhook" if base else None


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m localdev.twelvelabs", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8850)
    p.add_argument("--api-key", default=os.environ.get("TWELVELABS_API_KEY"),
                   help="only this x-api-key is accepted (default: any non-empty key)")
    p.add_argument("--index-seconds", type=float, default=float(os.environ.get("TWELVELABS_INDEX_SECONDS", "10")),
                   help="time from task creation to ready (longer if understanding takes longer)")
    p.add_argument("--analyze-seconds", type=float,
                   default=float(os.environ.get("TWELVELABS_ANALYZE_SECONDS", "5")),
                   help="time from analysis task creation to ready (longer if the analysis takes longer)")
    p.add_argument("--webhook-url", default=_default_webhook_url(),
                   help="POST index.task.ready/failed events here (default: $TWELVELABS_WEBHOOK_URL, else "
                        "$FUNCTION_URL_INDEX_VIDEOS/webhook, as the local stack sets it)")
    p.add_argument("--webhook-secret", default=os.environ.get("TWELVELABS_WEBHOOK_SECRET"),
                   help="signing key of the TL-Signature header")
    p.add_argument("--data-dir", default=None, help="where fetched videos/thumbnails go (default: a temp dir)")
    p.add_argument("--workers", type=int, default=1, help="processes doing speech/OCR understanding")
    p.add_argument("--no-understanding", action="store_true", help="indexing skips speech/OCR (search finds nothing); analyze still reads captions and cuts")
    p.add_argument("--search-ttl", type=float, default=3600.0, help="seconds a search page token lives")
    p.add_argument("--allow-remote-fetch", action="store_true", help="also fetch non-loopback video URLs")
    p.add_argument("--public-url", default=None, help="base of thumbnail/HLS URLs (default: the request host)")
    args = p.parse_args(argv)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLines())
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), handlers=[handler])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from werkzeug.serving import make_server

    from .app import create_app

    app = create_app(api_key=args.api_key, index_seconds=args.index_seconds, webhook_url=args.webhook_url,
                     webhook_secret=args.webhook_secret, data_dir=args.data_dir, workers=args.workers,
                     understanding=not args.no_understanding, search_ttl=args.search_ttl,
                     allow_remote_fetch=args.allow_remote_fetch, public_url=args.public_url,
                     analyze_seconds=args.analyze_seconds)
    server = make_server(args.host, args.port, app, threaded=True)

    def stop(signum, frame):  # stop the understanding workers too, then leave
        app.extensions["twelvelabs.analyze"].shutdown()
        app.extensions["twelvelabs"].pipeline.shutdown()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger("twelvelabs").info("local Twelve Labs on http://%s:%d/v1.3 (index %.1fs, webhooks %s)",
                                         args.host, args.port, args.index_seconds,
                                         "on" if args.webhook_url else "off")
    server.serve_forever()


if __name__ == "__main__":
    main()

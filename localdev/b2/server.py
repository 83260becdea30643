"""The request handler the local B2 is served with: moto's (it keeps S3 metadata header names with underscores),
without werkzeug's access line per request (presigned URLs would put signatures in the log)."""
from __future__ import annotations

from moto.moto_server.werkzeug_app import MotoRequestHandler


class QuietHandler(MotoRequestHandler):
    """moto's handler; logs server errors only, and never the request line (it may hold a signature)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if isinstance(code, int) and code >= 500:
            self.log("error", "%s %s -> %s", self.command, self.path.partition("?")[0], code)

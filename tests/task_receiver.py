"""A loopback HTTP server standing in for a task target: it records every delivery it is sent (contract and
integration tests of Cloud Tasks share it)."""
from __future__ import annotations

import http.server
import json
import threading


class TaskReceiver(http.server.ThreadingHTTPServer):
    """Records each POST as {"path", "headers" (lower-case names), "body" (parsed JSON, or {})} and answers 200."""

    def __init__(self) -> None:
        self.deliveries: list[dict] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(h):
                raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                self.deliveries.append({"path": h.path, "headers": {k.lower(): v for k, v in h.headers.items()},
                                        "body": body})
                h.send_response(200)
                h.send_header("Content-Length", "0")
                h.end_headers()

            def log_message(h, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """Base URL of the receiver."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def named(self, task: str) -> list[dict]:
        """Deliveries of the task with this X-CloudTasks-TaskName."""
        return [d for d in self.deliveries if d["headers"].get("x-cloudtasks-taskname") == task]

    def of(self, marker: str) -> list[dict]:
        """Deliveries whose JSON body carries this `marker`."""
        return [d for d in self.deliveries if isinstance(d["body"], dict) and d["body"].get("marker") == marker]

"""Serve the stand-in with a threaded WSGI server (concurrent tus PATCHes, polling and SSE at the same time)."""

from __future__ import annotations

import threading
from typing import Self

from werkzeug.serving import BaseWSGIServer, make_server

from .app import create_app
from .config import Settings


class StandinServer:
    """The stand-in on host:port in a background thread; `port=0` picks a free port (tests)."""

    def __init__(self, settings: Settings | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_app(settings)
        self.server: BaseWSGIServer = make_server(host, port, self.app, threaded=True)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_port
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def service(self):
        return self.app.extensions["transloadit"]

    def start(self) -> StandinServer:
        self._thread = threading.Thread(target=self.server.serve_forever, name="transloadit-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.service.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.service.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

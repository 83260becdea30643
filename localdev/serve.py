"""functions-framework as the local stack runs a function: the same CLI and gunicorn, plus a read timeout.

Cloud Run buffers a whole request before the instance sees it, so a client that announces a body and never sends it
costs the function nothing there. Locally gunicorn gives the connection to one of the function's THREADS at once, and
a stalled body (or stalled headers) would hold that thread for good: twelve such clients stop a function. Here every
connection's socket gets a timeout, so a stalled read ends (our code answers 408, gunicorn closes the connection),
and functions-framework's read of the whole body after each answer (its `read_request`, which would wait for a body of
any announced size) is bounded: it skips bodies over Cloud Run's 32 MiB limit and gives up when the read times out.

`python -m localdev.serve [--read-timeout SECONDS] <functions-framework arguments>`; never deployed.
"""
from __future__ import annotations

import sys

READ_TIMEOUT_SECONDS = 10.0  # local bodies are small (videos go to the TransloadIt stand-in, not to functions)
DRAIN_LIMIT_BYTES = 32 * 1024 * 1024  # Cloud Run refuses larger requests before a function sees them


def with_read_timeout(seconds: float) -> None:
    """Give every connection of gunicorn's threaded worker a socket timeout of `seconds`."""
    from gunicorn.workers import gthread

    init = gthread.TConn.init

    def init_with_timeout(self) -> None:
        init(self)
        self.sock.settimeout(seconds)  # init made it blocking with no timeout; every later read or write is bounded

    gthread.TConn.init = init_with_timeout


def bounded_drain(response):
    """functions-framework's after-request hook, bounded: read what is left of the body (so the connection can be
    reused) unless it is over DRAIN_LIMIT_BYTES, and never fail the answer when the rest does not come."""
    import flask

    if response.is_streamed or (flask.request.content_length or 0) > DRAIN_LIMIT_BYTES:
        return response
    try:
        flask.request.get_data()
    except OSError:  # the read timed out: the answer still goes out; gunicorn drops the idle connection
        pass
    return response


def main(argv: list[str]) -> None:
    """Apply the read timeout, then run functions-framework's CLI with the remaining arguments."""
    seconds = READ_TIMEOUT_SECONDS
    if argv[:1] == ["--read-timeout"]:
        seconds, argv = float(argv[1]), argv[2:]
    with_read_timeout(seconds)
    import functions_framework
    from functions_framework._cli import _cli

    functions_framework.read_request = bounded_drain  # create_app registers the module's read_request when it runs

    _cli(args=argv, prog_name="python -m localdev.serve")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Structured JSON logging: one line per event with a `severity` field, as Cloud Logging reads it."""
from __future__ import annotations

import json
import sys
import time
from typing import Any

_LEVELS = {"DEBUG": 10, "INFO": 20, "NOTICE": 25, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
# Field names whose values must never reach a log line, whatever a caller passes.
_SECRET_HINTS = ("secret", "token", "password", "signature", "authorization", "api_key", "apikey", "key_secret")


_threshold = 20  # INFO until the process's settings are read (`mam.settings.settings` applies LOG_LEVEL)


def set_level(name: str) -> None:
    """Write only events of severity `name` (DEBUG|INFO|NOTICE|WARNING|ERROR|CRITICAL) and above; unknown: INFO."""
    global _threshold
    _threshold = _LEVELS.get(name.upper(), 20)


def redact(fields: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of `fields` with secret-looking keys masked (recursively for dicts)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if any(h in key.lower() for h in _SECRET_HINTS):
            out[key] = "[redacted]"
        elif isinstance(value, dict):
            out[key] = redact(value)
        else:
            out[key] = value
    return out


def log(severity: str, message: str, **fields: Any) -> None:
    """Write one structured log line to stdout (stderr for ERROR and above)."""
    if _LEVELS.get(severity, 20) < _threshold:
        return
    entry = {"severity": severity, "message": message, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    entry.update(redact(fields))
    stream = sys.stderr if _LEVELS.get(severity, 20) >= 40 else sys.stdout
    stream.write(json.dumps(entry, default=str) + "\n")
    stream.flush()


def debug(message: str, **fields: Any) -> None:
    log("DEBUG", message, **fields)


def info(message: str, **fields: Any) -> None:
    log("INFO", message, **fields)


def warning(message: str, **fields: Any) -> None:
    log("WARNING", message, **fields)


def error(message: str, **fields: Any) -> None:
    log("ERROR", message, **fields)

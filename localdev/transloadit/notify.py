"""notify_url delivery, signed like TransloadIt (form fields `transloadit` + `signature`), retried with backoff."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any

import requests

from . import signing
from .config import Settings
from .model import Assembly, tl_date

log = logging.getLogger("transloadit.standin.notify")


def build_form(status: dict[str, Any], settings: Settings) -> dict[str, str]:
    """The two form fields of a notification. The signature covers the exact `transloadit` string sent."""
    payload = json.dumps(status, separators=(",", ":"))
    return {"transloadit": payload, "signature": signing.sign(settings.auth_secret, payload, settings.notify_signature)}


def post_form(url: str, form: dict[str, str], settings: Settings) -> requests.Response:
    """POST the form urlencoded (TransloadIt's relay) or multipart (the docs), as configured."""
    if settings.notify_encoding == "multipart":
        files = {name: (None, value) for name, value in form.items()}
        return requests.post(url, files=files, timeout=settings.notify_timeout)
    return requests.post(url, data=form, timeout=settings.notify_timeout)


def deliver(assembly: Assembly, settings: Settings, url: str | None = None, stop: threading.Event | None = None) -> bool:
    """Send the notification until a 2xx or the attempts run out; record notify_* on the assembly."""
    target = url or assembly.notify_url
    if not target:
        return False
    with assembly.lock:
        status = assembly.status_json()
        assembly.notify["notify_start"] = tl_date()
    form = build_form(status, settings)
    delay = settings.notify_backoff
    for attempt in range(1, max(settings.notify_attempts, 1) + 1):
        started = time.time()
        code: int | None = None
        body = ""
        try:
            resp = post_form(target, form, settings)
            code, body = resp.status_code, resp.text[:2000]
        except requests.RequestException as exc:
            body = f"{type(exc).__name__}"
        duration = round(time.time() - started, 3)
        ok = code is not None and 200 <= code < 300
        with assembly.lock:
            assembly.notify.update(
                {
                    "notify_status": "successful" if ok else "failed",
                    "notify_response_code": code,
                    "notify_response_data": body,
                    "notify_duration": duration,
                }
            )
        log.info(
            json.dumps(
                {
                    "severity": "INFO" if ok else "WARNING",
                    "message": "notify attempt",
                    "assembly_id": assembly.id,
                    "attempt": attempt,
                    "response_code": code,
                    "url": target.split("?", 1)[0],
                }
            )
        )
        if ok:
            return True
        if attempt >= settings.notify_attempts:
            break
        # Exponential backoff with jitter, capped; a shutdown interrupts the wait.
        wait = min(delay, settings.notify_backoff_max) * (0.8 + 0.4 * random.random())
        if stop is not None and stop.wait(wait):
            break
        if stop is None:
            time.sleep(wait)
        delay *= 2
    return False

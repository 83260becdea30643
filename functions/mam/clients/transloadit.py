"""TransloadIt HTTP API client: assembly status, signed assembly search, cancel, and creating a server-side assembly
(a discovered video's processing).

Bounded: each call has connect/read timeouts, at most `attempts` tries with jittered exponential backoff on
connection errors, 429 and 5xx, and an overall deadline. Transient failure raises TransloaditUnavailable so the
Cloud Task is retried by the queue; a missing assembly raises AssemblyNotFound.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import re
import secrets
import threading
import time
from typing import Any
from urllib.parse import quote

from mam import log
from mam.settings import TransloaditSettings
from mam.uploads import signing
from mam.uploads.template import expires_at

_ASSEMBLY_ID = re.compile(r"^[A-Za-z0-9]{16,64}\Z")
_lock = threading.Lock()
_session = None


class TransloaditUnavailable(Exception):
    """TransloadIt did not answer usefully in time (retry later)."""


class AssemblyNotFound(Exception):
    """No assembly with that id."""


def _http():
    global _session
    with _lock:
        if _session is None:
            import requests  # lazy: only the task worker pays for it

            _session = requests.Session()
    return _session


def _request(method: str, url: str, *, params: dict[str, str] | None = None, data: dict[str, str] | None = None,
             attempts: int = 3,
             deadline: float = 25.0, timeout: tuple[float, float] = (5.0, 15.0)) -> Any:
    import requests

    started = time.monotonic()
    delay = 0.5
    last = "no attempt"
    for attempt in range(1, attempts + 1):
        try:
            resp = _http().request(method, url, params=params, data=data, timeout=timeout)
        except requests.RequestException as exc:
            last = type(exc).__name__
        else:
            if resp.status_code == 404:
                raise AssemblyNotFound(url.rsplit("/", 1)[-1])
            if resp.status_code < 500 and resp.status_code != 429:
                try:
                    body = resp.json()
                except ValueError:
                    raise TransloaditUnavailable(f"non-JSON answer ({resp.status_code})") from None
                if resp.status_code >= 400:
                    # 4xx other than 404/429: our request is wrong (e.g. signature); retrying will not help.
                    raise TransloaditUnavailable(f"{resp.status_code} {body.get('error', '')}".strip())
                return body
            last = f"HTTP {resp.status_code}"
        wait = delay * (0.5 + random.random())
        if attempt == attempts or time.monotonic() - started + wait > deadline:
            break
        log.warning("transloadit api retry", attempt=attempt, error=last)
        time.sleep(wait)
        delay *= 2
    raise TransloaditUnavailable(last)


def get_assembly(transloadit: TransloaditSettings, assembly_id: str) -> dict[str, Any]:
    """The current Assembly Status (the same JSON a notification carries)."""
    if not _ASSEMBLY_ID.match(assembly_id or ""):
        raise AssemblyNotFound(assembly_id)
    return _request("GET", f"{transloadit.service_url}/assemblies/{quote(assembly_id)}")


def find_assembly_ids(transloadit: TransloaditSettings, video_id: str, since: dt.datetime,
                      now: dt.datetime | None = None) -> list[str]:
    """Ids of assemblies whose fields mention `video_id` (newest first), via the signed GET /assemblies search."""
    now = now or dt.datetime.now(dt.UTC)
    params = {
        "auth": {"key": transloadit.auth_key, "expires": expires_at(now, 600), "nonce": secrets.token_hex(16)},
        "keywords": [video_id],
        "type": "all",
        "fromdate": (since - dt.timedelta(hours=1)).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "pagesize": 20,
        "page": 1,
    }
    raw = json.dumps(params, separators=(",", ":"))
    body = _request("GET", f"{transloadit.service_url}/assemblies",
                    params={"params": raw, "signature": signing.sign(transloadit.auth_secret, raw)})
    items = body.get("items") if isinstance(body, dict) else None
    return [str(i["id"]) for i in items or [] if isinstance(i, dict) and i.get("id")]


def cancel_assembly(transloadit: TransloaditSettings, assembly_id: str) -> dict[str, Any]:
    """Cancel an assembly (`DELETE /assemblies/<id>`, as Uppy does); a finished one stays as it is."""
    if not _ASSEMBLY_ID.match(assembly_id or ""):
        raise AssemblyNotFound(assembly_id)
    return _request("DELETE", f"{transloadit.service_url}/assemblies/{quote(assembly_id)}")


def create_assembly(transloadit: TransloaditSettings, params: str, signature: str) -> dict[str, Any]:
    """Create an assembly that needs no upload (its files come from an import step); returns its status.

    Two tries at most: the params carry a single-use nonce, so a retry after a lost answer is refused rather than
    run twice.
    """
    return _request("POST", f"{transloadit.service_url}/assemblies", attempts=2,
                    data={"params": params, "signature": signature, "num_expected_upload_files": "0"})

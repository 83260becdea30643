"""The status poll's fast path: a few fields of many documents in ONE Firestore REST `documents:batchGet`.

Reads only; writes stay on the client library (`mam.store.videos`, `mam.store.claims`).
"""
from __future__ import annotations

import http.client
import threading
from typing import Any

from mam.store.db import client

# Every open library page polls the status of its tiles, so this read is the busiest in the system. The client's
# get_all() spends ~9 ms of CPU per 20 documents (a proto-plus wrapper per value, a deepcopy per snapshot, a
# helper thread per stream), and even a bare gRPC stream costs ~1.6 ms (one message, and its events, per document).
# The same batchGet over Firestore's REST API is one HTTP/1.1 exchange and one json.loads: ~0.38 ms in all on a
# kept-alive http.client connection, of which urllib3's pool alone would add 0.2 ms (measured in-process against
# the local emulator; bench/upload_status.py measures the route). A status poll mostly finds documents unchanged,
# so rows are kept decoded per version (updateTime): that took decoding, a third of the read, off most polls.
# Writes stay on the client library.
_reader_lock = threading.Lock()
_reader = None
_DATASTORE_SCOPE = "https://www.googleapis.com/auth/datastore"
# A kept-alive connection the server closed, or a server restarted: worth one retry on a fresh connection (a
# batchGet only reads, so sending it twice is harmless).
_STALE_CONNECTION = (OSError, http.client.HTTPException)
_DECODED_ROWS = 50_000  # rows kept decoded per instance (a few MB); past that the cache starts again


class _FieldReader:
    """documents:batchGet over REST, one kept-alive connection per thread, authorised as the client library is."""

    def __init__(self, project: str) -> None:
        from mam.runtime import firestore_emulator

        self.database = f"projects/{project}/databases/(default)"
        self.path = f"/v1/{self.database}/documents:batchGet"
        self.headers = {"Content-Type": "application/json",
                        "x-goog-request-params": f"database={self.database.replace('/', '%2F')}"}
        emulator = firestore_emulator()
        self.host, self.tls, self.credentials = emulator or "firestore.googleapis.com", not emulator, None
        if emulator:
            self.headers["Authorization"] = "Bearer owner"  # what the client library sends the emulator
        else:
            import google.auth

            self.credentials, _ = google.auth.default(scopes=[_DATASTORE_SCOPE])  # the function's service account
        self.local = threading.local()  # http.client connections are not thread-safe
        self.rows: dict[tuple[str, tuple[str, ...]], tuple[str, dict]] = {}  # (name, mask) -> (updateTime, row)
        self.refresh_lock = threading.Lock()

    def read(self, collection: str, ids: list[str], fields: tuple[str, ...], timeout: float) -> dict[str, dict]:
        import json

        prefix = f"{self.database}/documents/{collection}/"
        body = json.dumps({"documents": [prefix + i for i in ids], "mask": {"fieldPaths": list(fields)}})
        answers = json.loads(self._post(body.encode(), timeout))
        out: dict[str, dict] = {}
        for answer in answers:
            doc = answer.get("found")
            if doc is None:
                continue
            # updateTime names one version of a document (Firestore's update-time preconditions rely on it), so a
            # row decoded from that version is still right; polls mostly see documents that have not changed.
            key = (doc["name"], fields)
            known = self.rows.get(key)
            if known is not None and known[0] == doc["updateTime"]:
                row = known[1]
            else:
                values = doc.get("fields", {})
                row = {f: _decode(values[f]) for f in fields if f in values}
                if len(self.rows) >= _DECODED_ROWS:
                    self.rows.clear()
                self.rows[key] = (doc["updateTime"], row)
            out[key[0].rsplit("/", 1)[1]] = row
        return out

    def _post(self, body: bytes, timeout: float) -> bytes:
        from google.api_core import exceptions

        headers = self._auth_headers()
        for attempt in (1, 2):
            conn = self._connection(timeout)
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except TimeoutError:
                conn.close()  # a half-read answer must not be taken for the next one
                raise exceptions.DeadlineExceeded(f"Firestore batchGet: no answer within {timeout:g} s") from None
            except _STALE_CONNECTION as exc:
                conn.close()
                if attempt == 1:
                    continue
                raise exceptions.ServiceUnavailable(f"Firestore unreachable: {type(exc).__name__}") from None
            if response.status == 200:
                return data
            raise exceptions.from_http_status(response.status, f"Firestore batchGet: {_error_message(data)}")
        raise AssertionError("unreachable")

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            if self.tls:
                import ssl

                conn = http.client.HTTPSConnection(self.host, timeout=timeout, context=ssl.create_default_context())
            else:
                conn = http.client.HTTPConnection(self.host, timeout=timeout)
            self.local.conn = conn
        conn.timeout = timeout  # used when (re)connecting
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _auth_headers(self) -> dict[str, str]:
        if self.credentials is None:
            return self.headers
        if not self.credentials.valid:  # expired or never fetched: refresh under the lock, once for all threads
            with self.refresh_lock:
                if not self.credentials.valid:
                    import google.auth.transport.requests

                    self.credentials.refresh(google.auth.transport.requests.Request())
        return {**self.headers, "Authorization": f"Bearer {self.credentials.token}"}


def reset() -> None:
    """Drop the cached reader and its decoded rows (tests point at a different emulator)."""
    global _reader
    with _reader_lock:
        _reader = None


def _error_message(data: bytes) -> str:
    """The message of a Google JSON error body, or its first bytes when it is not one."""
    import json

    try:
        return str(json.loads(data)["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return data[:200].decode("utf-8", "replace") or "empty answer"


_SCALARS = {"stringValue": str, "booleanValue": bool, "integerValue": int, "doubleValue": float}


def _decode(value: dict) -> Any:
    """A Firestore Value in proto3 JSON as the client library would give it (DatetimeWithNanoseconds for times)."""
    ((kind, raw),) = value.items()
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        return scalar(raw)  # int64 arrive as strings; doubles may be "NaN" or "Infinity", which float() reads
    if kind == "nullValue":
        return None
    if kind == "timestampValue":
        return _timestamp(raw)
    from google.cloud.firestore_v1 import _helpers
    from google.cloud.firestore_v1.types import document
    from google.protobuf import json_format

    pb = json_format.ParseDict(value, document.Value.pb()())  # maps, arrays, bytes, references: rare here
    return _helpers.decode_value(document.Value.wrap(pb), client())


def _timestamp(text: str) -> Any:
    """An RFC 3339 time as DatetimeWithNanoseconds. Firestore writes UTC ("...Z") with 0-9 fraction digits; the
    library's from_rfc3339 goes through strptime, ~25 us a value, which was a third of the status poll's CPU."""
    import datetime

    from google.api_core.datetime_helpers import DatetimeWithNanoseconds

    if len(text) < 20 or text[-1] != "Z" or text[10] != "T":
        return DatetimeWithNanoseconds.from_rfc3339(text)
    fraction = text[20:-1] if text[19] == "." else ""
    whole = datetime.datetime.fromisoformat(text[:19])
    return DatetimeWithNanoseconds(whole.year, whole.month, whole.day, whole.hour, whole.minute, whole.second,
                                   nanosecond=int(fraction.ljust(9, "0")[:9] or 0), tzinfo=datetime.timezone.utc)


def read_fields(collection: str, ids: list[str], fields: tuple[str, ...], timeout: float = 10.0) -> dict[str, dict]:
    """`fields` of the documents `ids` in ONE batchGet: {id: {field: value}}, unknown ids absent.

    A row is shared by every read that finds the same version of its document: callers must not modify it."""
    global _reader
    if not ids:
        return {}
    with _reader_lock:
        if _reader is None:
            _reader = _FieldReader(client().project)
        reader = _reader
    return reader.read(collection, list(dict.fromkeys(ids)), fields, timeout)

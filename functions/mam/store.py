"""Firestore data layer: the one place that reads and writes documents (videos, runs, de-dup records)."""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

from mam.videos import Video, utcnow

VIDEOS = "videos"
_lock = threading.Lock()
_client = None


def client():
    """The process-wide Firestore client (honours FIRESTORE_EMULATOR_HOST locally)."""
    global _client
    with _lock:
        if _client is None:
            import os

            from google.cloud import firestore  # lazy: heavy import

            _client = firestore.Client(project=os.environ.get("GCP_PROJECT") or None)
    return _client


def reset_client() -> None:
    """Drop the cached clients (tests point at a different emulator)."""
    global _client, _reader
    with _lock:
        _client = None
    with _reader_lock:
        _reader = None


def get_video(video_id: str) -> Video | None:
    """One video, or None."""
    snap = client().collection(VIDEOS).document(video_id).get()
    return Video.from_doc(snap.id, snap.to_dict()) if snap.exists else None


def get_videos(video_ids: Iterable[str]) -> dict[str, Video]:
    """Many videos in ONE batched read (BatchGetDocuments); unknown ids are simply absent."""
    db = client()
    refs = [db.collection(VIDEOS).document(i) for i in dict.fromkeys(video_ids)]
    if not refs:
        return {}
    return {s.id: Video.from_doc(s.id, s.to_dict()) for s in db.get_all(refs) if s.exists}


def create_video(video: Video) -> bool:
    """Create the record; False if a record with that id already exists (idempotent retries)."""
    from google.api_core.exceptions import AlreadyExists, Conflict

    try:
        client().collection(VIDEOS).document(video.id).create(video.to_doc())
        return True
    except (AlreadyExists, Conflict):
        return False


def update_video(video_id: str, mutate: Callable[[Video], bool]) -> Video | None:
    """Read-modify-write one video in a transaction.

    `mutate` changes the Video in place and returns True to write, False to leave it as it is (the idempotent
    "already done" case). Returns the video as it now stands, or None if it does not exist.
    """
    from google.cloud import firestore

    db = client()
    ref = db.collection(VIDEOS).document(video_id)

    @firestore.transactional
    def run(tx) -> Video | None:
        snap = ref.get(transaction=tx)
        if not snap.exists:
            return None
        video = Video.from_doc(snap.id, snap.to_dict())
        if mutate(video):
            video.version += 1
            video.updated_at = utcnow()
            tx.set(ref, video.to_doc())
        return video

    return run(db.transaction())


def delete_video(video_id: str) -> None:
    """Delete the record (no error when already gone)."""
    client().collection(VIDEOS).document(video_id).delete()


def count_videos() -> int:
    """How many videos there are (one aggregation query)."""
    return int(client().collection(VIDEOS).count().get()[0][0].value)


def find_video(field: str, value: Any) -> Video | None:
    """The first video whose `field` equals `value` (one equality query, limit 1), or None.

    A single-field equality needs no composite index, and it avoids cursors, which the local emulator ignores.
    """
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = client().collection(VIDEOS).where(filter=FieldFilter(field, "==", value)).limit(1)
    for snap in query.stream():
        return Video.from_doc(snap.id, snap.to_dict())
    return None


def claim_once(collection: str, key: str, data: dict[str, Any] | None = None) -> bool:
    """Record that `key` was handled; True the first time, False on every replay (webhook/event de-dup)."""
    from google.api_core.exceptions import AlreadyExists, Conflict

    try:
        client().collection(collection).document(key).create({"at": utcnow(), **(data or {})})
        return True
    except (AlreadyExists, Conflict):
        return False


# ---- the hot read: a few fields of many documents ---------------------------------------------------------------
# Every open library page polls the status of its tiles, so this read is the busiest in the system. The client's
# get_all() spends ~9 ms of CPU per 20 documents (a proto-plus wrapper per value, a deepcopy per snapshot, a
# helper thread per stream), and even a bare gRPC stream costs ~1.6 ms (one message, and its events, per document).
# The same batchGet over Firestore's REST API is one HTTP/1.1 exchange and one json.loads: ~0.3 ms
# (bench/upload_status.py). Both are the one documented BatchGetDocuments; writes stay on the client library.
_reader_lock = threading.Lock()
_reader = None
_DATASTORE_SCOPE = "https://www.googleapis.com/auth/datastore"


class _FieldReader:
    """documents:batchGet over REST on a keep-alive urllib3 pool, authorised as the client library would be."""

    def __init__(self, project: str) -> None:
        import os

        import urllib3

        self.database = f"projects/{project}/databases/(default)"
        pool = urllib3.PoolManager(maxsize=4, retries=False)
        emulator = os.environ.get("FIRESTORE_EMULATOR_HOST")
        if emulator:
            self.url = f"http://{emulator}/v1/{self.database}/documents:batchGet"
            self.headers = {"Authorization": "Bearer owner"}  # what the client library sends the emulator
            self.http = pool
        else:
            import google.auth
            from google.auth.transport.urllib3 import AuthorizedHttp

            credentials, _ = google.auth.default(scopes=[_DATASTORE_SCOPE])  # ADC: the function's service account
            self.url = f"https://firestore.googleapis.com/v1/{self.database}/documents:batchGet"
            self.headers = {}
            self.http = AuthorizedHttp(credentials, http=pool)
        self.headers.update({"Content-Type": "application/json",
                             "x-goog-request-params": f"database={self.database.replace('/', '%2F')}"})

    def read(self, collection: str, ids: list[str], fields: tuple[str, ...], timeout: float) -> dict[str, dict]:
        import json

        prefix = f"{self.database}/documents/{collection}/"
        body = json.dumps({"documents": [prefix + i for i in ids], "mask": {"fieldPaths": list(fields)}})
        answers = json.loads(self._post(body.encode(), timeout))
        out: dict[str, dict] = {}
        for answer in answers:
            doc = answer.get("found")
            if doc is not None:
                values = doc.get("fields", {})
                out[doc["name"].rsplit("/", 1)[1]] = {f: _decode(values[f]) for f in fields if f in values}
        return out

    def _post(self, body: bytes, timeout: float) -> bytes:
        import urllib3
        from google.api_core import exceptions

        for attempt in (1, 2):
            try:
                response = self.http.request("POST", self.url, body=body, headers=self.headers,
                                             timeout=urllib3.Timeout(total=timeout), retries=False)
            except urllib3.exceptions.TimeoutError:
                raise exceptions.DeadlineExceeded(f"Firestore batchGet took longer than {timeout:g} s") from None
            except urllib3.exceptions.HTTPError as exc:
                if attempt == 1:
                    continue  # a dropped keep-alive connection (idle pool, server restart): once more, fresh
                raise exceptions.ServiceUnavailable(f"Firestore unreachable: {type(exc).__name__}") from None
            if response.status == 200:
                return response.data
            raise exceptions.from_http_status(response.status, f"Firestore batchGet: {_error_message(response.data)}")
        raise AssertionError("unreachable")


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
    """`fields` of the documents `ids` in ONE batchGet: {id: {field: value}}, unknown ids absent."""
    global _reader
    if not ids:
        return {}
    with _reader_lock:
        if _reader is None:
            _reader = _FieldReader(client().project)
        reader = _reader
    return reader.read(collection, list(dict.fromkeys(ids)), fields, timeout)

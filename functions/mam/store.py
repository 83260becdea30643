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
# helper thread per stream); this path asks for the same BatchGetDocuments on a channel of its own that consumes
# the stream on the calling thread and decodes only the asked fields from the raw protobuf (bench/upload_status.py).
_BATCH_GET = "/google.firestore.v1.Firestore/BatchGetDocuments"
_reader_lock = threading.Lock()
_reader = None


class _FieldReader:
    """A BatchGetDocuments stub on its own gRPC channel, with the metadata the client library sends."""

    def __init__(self, project: str) -> None:
        import os

        import grpc
        import grpc.experimental
        from google.cloud.firestore_v1.types import firestore as fs_types

        self.database = f"projects/{project}/databases/(default)"
        options = [(grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1), ("grpc.keepalive_time_ms", 30000),
                   ("grpc.max_receive_message_length", -1)]
        emulator = os.environ.get("FIRESTORE_EMULATOR_HOST")
        if emulator:
            channel = grpc.insecure_channel(emulator, options=options)
            auth = [("authorization", "Bearer owner")]  # what the client library sends the emulator
        else:
            from google.cloud.firestore_v1.services.firestore.transports.grpc import FirestoreGrpcTransport

            channel = FirestoreGrpcTransport.create_channel("firestore.googleapis.com:443", options=options)  # ADC
            auth = []
        self.channel = channel  # held: a grpc.Channel closes itself when garbage-collected
        self.request_type = fs_types.BatchGetDocumentsRequest.pb()
        self.call = channel.unary_stream(_BATCH_GET, request_serializer=self.request_type.SerializeToString,
                                         response_deserializer=fs_types.BatchGetDocumentsResponse.pb().FromString)
        self.metadata = (*auth, ("google-cloud-resource-prefix", self.database),
                         ("x-goog-request-params", f"database={self.database.replace('/', '%2F')}"))

    def read(self, collection: str, ids: list[str], fields: tuple[str, ...], timeout: float) -> dict[str, dict]:
        import grpc
        from google.api_core import exceptions

        prefix = f"{self.database}/documents/{collection}/"
        request = self.request_type(database=self.database, documents=[prefix + i for i in ids])
        request.mask.field_paths.extend(fields)  # real Firestore returns only these; the emulator ignores it
        for attempt in (1, 2):
            try:
                out: dict[str, dict] = {}
                for response in self.call(request, metadata=self.metadata, timeout=timeout):
                    if response.WhichOneof("result") == "found":
                        doc = response.found
                        out[doc.name.rsplit("/", 1)[1]] = {f: _decode(doc.fields[f]) for f in fields if f in doc.fields}
                return out
            except grpc.RpcError as exc:
                if attempt == 1 and exc.code() == grpc.StatusCode.UNAVAILABLE:
                    continue  # a dropped connection (idle channel, server restart): once more on a fresh stream
                raise exceptions.from_grpc_error(exc) from None
        raise AssertionError("unreachable")


def _decode(value) -> Any:
    """A Firestore Value protobuf as the client library would give it (DatetimeWithNanoseconds for timestamps)."""
    kind = value.WhichOneof("value_type")
    if kind == "null_value" or kind is None:
        return None
    if kind == "timestamp_value":
        from google.api_core.datetime_helpers import DatetimeWithNanoseconds

        return DatetimeWithNanoseconds.from_timestamp_pb(value.timestamp_value)
    if kind in ("string_value", "integer_value", "boolean_value", "double_value"):
        return getattr(value, kind)
    from google.cloud.firestore_v1 import _helpers
    from google.cloud.firestore_v1.types import document

    return _helpers.decode_value(document.Value.wrap(value), client())  # maps, arrays, references: rare here


def read_fields(collection: str, ids: list[str], fields: tuple[str, ...], timeout: float = 10.0) -> dict[str, dict]:
    """`fields` of the documents `ids` in ONE BatchGetDocuments: {id: {field: value}}, unknown ids absent."""
    global _reader
    if not ids:
        return {}
    with _reader_lock:
        if _reader is None:
            _reader = _FieldReader(client().project)
        reader = _reader
    return reader.read(collection, list(dict.fromkeys(ids)), fields, timeout)

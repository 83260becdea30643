"""The video record: statuses, the fields stored in Firestore `videos/{id}`, and conversions."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass, field, fields
from typing import Any

UPLOADING = "uploading"
UPLOADED = "uploaded"
SENDING = "sending"
VALIDATING = "validating"
PENDING = "pending"
QUEUED = "queued"
INDEXING = "indexing"
READY = "ready"
FAILED = "failed"

STATUSES = (UPLOADING, UPLOADED, SENDING, VALIDATING, PENDING, QUEUED, INDEXING, READY, FAILED)
# Indexing work is under way: a new Index request must not start a second one.
INDEX_IN_FLIGHT = frozenset({SENDING, VALIDATING, PENDING, QUEUED, INDEXING})


def utcnow() -> dt.datetime:
    """Timezone-aware now (Firestore stores timestamps in UTC)."""
    return dt.datetime.now(dt.timezone.utc)


def new_video_id() -> str:
    """A random, URL-safe id; random rather than sequential so Firestore spreads the writes."""
    return secrets.token_hex(10)


@dataclass
class Video:
    """One video of the library, as stored in `videos/{id}`."""

    id: str
    title: str
    description: str = ""  # edited by the owner or an admin (PATCH /videos/{id})
    owner: str = ""  # the uploader's email (shown); empty for discovered videos
    owner_uid: str = ""  # the uploader's Firebase uid: who may delete it besides admins (mam.roles.owns)
    status: str = UPLOADING
    status_reason: str | None = None
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    source: str = "upload"  # upload | discovered
    assembly_id: str | None = None
    b2_original: str | None = None
    b2_web: str | None = None
    b2_thumbnail: str | None = None
    duration: float | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    tl_task_id: str | None = None
    tl_video_id: str | None = None
    index_started_at: dt.datetime | None = None  # when the current indexing run began (elapsed time counts from it)
    index_progress: float | None = None  # percent Twelve Labs last reported for the run; None: it reports none
    index_estimate_seconds: float | None = None  # expected length of the whole run (mam.indexing.progress)
    upload_bytes: int | None = None  # bytes the upload page last reported sent (POST /uploads/{id}/progress)
    upload_seen_at: dt.datetime | None = None  # when the upload page last reported progress
    attempts: dict[str, int] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)  # mam.insights.tags rules; from the generated topics until edited
    tags_edited: bool = False  # the owner (or an admin) set the tags: generated ones never replace them
    version: int = 0  # bumped on every write; makes an ETag and guards idempotent transitions

    def to_doc(self) -> dict[str, Any]:
        """Firestore document fields (the id is the document name, not a field)."""
        doc = asdict(self)
        doc.pop("id")
        return doc

    @classmethod
    def from_doc(cls, video_id: str, doc: dict[str, Any]) -> "Video":
        """Build from Firestore fields, ignoring fields this version does not know."""
        known = {f.name for f in fields(cls)} - {"id"}
        return cls(id=video_id, **{k: v for k, v in doc.items() if k in known})

    @property
    def stored_key(self) -> str | None:
        """The B2 key to play: the web copy if there is one, else the original."""
        return self.b2_web or self.b2_original

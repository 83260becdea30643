"""In-memory records of the local Twelve Labs (indexes, tasks, videos, search sessions) behind one lock."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

RETIRED_TOKENS_KEPT = 100_000  # page tokens of dropped searches still answered "expired" rather than "invalid"
# Task lifecycle order; a task only ever moves forward in it (or to failed).
STATUSES = ("uploading", "validating", "pending", "queued", "indexing", "ready", "failed")
TERMINAL = ("ready", "failed")


def new_id() -> str:
    """A 24-hex id shaped like Twelve Labs' (Mongo ObjectId: 4 bytes of time + 8 random bytes)."""
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


def rfc3339(ts: float | None) -> str | None:
    """Unix time -> RFC 3339 UTC with milliseconds ("2026-01-02T03:04:05.678Z")."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Index:
    id: str
    name: str
    models: list[dict]
    addons: list[str]
    created_at: float
    updated_at: float
    generation: int = 0  # bumped when videos are added/removed: invalidates search page tokens

    def options(self) -> set[str]:
        return {o for m in self.models for o in (m.get("model_options") or [])}


@dataclass
class Task:
    id: str
    index_id: str
    video_id: str
    created_at: float
    updated_at: float
    filename: str
    enable_video_stream: bool
    user_metadata: dict
    status: str = "validating"
    error_reason: dict | None = None
    system_metadata: dict = field(default_factory=dict)
    ready_due: bool = False       # the clock says ready but understanding is still running
    analyzed: bool = False        # understanding finished
    forced_failure: dict | None = None

    def is_terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass
class Video:
    id: str
    index_id: str
    task_id: str
    created_at: float
    updated_at: float
    indexed_at: float | None
    path: str                       # local copy of the media
    system_metadata: dict
    user_metadata: dict
    enable_video_stream: bool
    understanding: dict = field(default_factory=lambda: {"speech": [], "ocr": [], "transcript": []})
    thumbnail_at: float = 0.0       # second of the main thumbnail


@dataclass
class SearchSession:
    id: str
    index_id: str
    generation: int
    expires_at: float
    pages: list[list[dict]]  # clips keep their user_metadata here; each page request decides whether it is shown
    tokens: list[str]
    page_limit: int
    total_results: int
    total_inner_matches: int | None
    search_pool: dict


class Store:
    """All state of the stand-in; every access holds `lock` (handlers are threads)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.indexes: dict[str, Index] = {}
        self.tasks: dict[str, Task] = {}
        self.videos: dict[str, Video] = {}          # only indexed (ready) videos are searchable/listed
        self.pending_videos: dict[str, Video] = {}  # video records of tasks not yet ready
        self.sessions: dict[str, SearchSession] = {}
        self.page_tokens: dict[str, tuple[str, int]] = {}
        self.retired_tokens: dict[str, None] = {}  # insertion-ordered set of tokens of dropped sessions

    def index_videos(self, index_id: str) -> list[Video]:
        with self.lock:
            return [v for v in self.videos.values() if v.index_id == index_id]

    def bump(self, index_id: str) -> None:
        with self.lock:
            idx = self.indexes.get(index_id)
            if idx:
                idx.generation += 1
                idx.updated_at = time.time()

    def drop_expired_sessions(self, now: float) -> None:
        with self.lock:
            for sid in [s.id for s in self.sessions.values() if s.expires_at < now - 3600]:
                for tok in self.sessions.pop(sid).tokens:
                    self.page_tokens.pop(tok, None)
                    self.retired_tokens[tok] = None  # a token we issued stays "expired", as the API says
            while len(self.retired_tokens) > RETIRED_TOKENS_KEPT:
                self.retired_tokens.pop(next(iter(self.retired_tokens)))

    def delete_index(self, index_id: str) -> None:
        with self.lock:
            self.indexes.pop(index_id, None)
            for coll in (self.videos, self.pending_videos, self.tasks):
                for key in [k for k, v in coll.items() if v.index_id == index_id]:
                    coll.pop(key)

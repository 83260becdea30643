"""In-memory state of the stand-in: assemblies, their files, tus uploads, and the event log used for SSE."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

UPLOADING = "ASSEMBLY_UPLOADING"
EXECUTING = "ASSEMBLY_EXECUTING"
COMPLETED = "ASSEMBLY_COMPLETED"
CANCELED = "ASSEMBLY_CANCELED"
REQUEST_ABORTED = "REQUEST_ABORTED"
RUNNING = (UPLOADING, EXECUTING)

MESSAGES = {
    UPLOADING: "The Assembly is still in the process of being uploaded.",
    EXECUTING: "The Assembly is currently being executed.",
    COMPLETED: "The Assembly was successfully completed.",
    CANCELED: "The Assembly was canceled.",
    REQUEST_ABORTED: "The upload connection was closed or timed out before receiving all data.",
}


def new_id() -> str:
    """32 lowercase hex characters, the shape of TransloadIt ids."""
    return uuid.uuid4().hex


def tl_date(ts: float | None = None) -> str:
    """TransloadIt's date format in status JSON: "2023/12/20 16:36:27 GMT"."""
    dt = datetime.fromtimestamp(ts if ts is not None else time.time(), tz=UTC)
    return dt.strftime("%Y/%m/%d %H:%M:%S GMT")


@dataclass
class FileRecord:
    """One file of an assembly: an upload or a robot result. `path` is the local copy while the assembly runs."""

    id: str
    name: str
    basename: str
    ext: str
    size: int
    mime: str
    field: str | None
    original_id: str
    original_name: str
    original_basename: str
    original_md5hash: str
    md5hash: str
    path: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    user_meta: dict[str, Any] = field(default_factory=dict)
    is_tus_file: bool = False
    tus_upload_url: str | None = None
    url: str | None = None
    ssl_url: str | None = None
    exec_time: float | None = None
    queue_time: float = 0.0

    @property
    def type(self) -> str | None:
        major = (self.mime or "").split("/", 1)[0]
        return major if major in ("video", "audio", "image") else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "basename": self.basename,
            "ext": self.ext,
            "size": self.size,
            "mime": self.mime,
            "type": self.type,
            "field": self.field,
            "md5hash": self.md5hash,
            "original_id": self.original_id,
            "original_name": self.original_name,
            "original_basename": self.original_basename,
            "original_path": "/",
            "original_md5hash": self.original_md5hash,
            "from_batch_import": False,
            "is_tus_file": self.is_tus_file,
            "tus_upload_url": self.tus_upload_url,
            "url": self.url,
            "ssl_url": self.ssl_url,
            "is_temp_url": False,
            "meta": dict(self.meta),
            "user_meta": dict(self.user_meta),
        }
        if self.exec_time is not None:
            out.update({"queue": "live", "queue_time": self.queue_time, "exec_time": self.exec_time, "cost": 0})
        return out


@dataclass
class TusUpload:
    """A tus 1.0 upload resource. Data is appended to `path`; `lock` serialises PATCHes."""

    id: str
    assembly_id: str
    length: int
    path: str
    url: str
    metadata: dict[str, str]
    raw_metadata: str = ""
    offset: int = 0
    finished: bool = False
    created: float = field(default_factory=time.time)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Assembly:
    """One assembly. All mutation happens under `lock`; `changed` wakes SSE streams."""

    def __init__(
        self,
        *,
        base_url: str,
        params_raw: str,
        params: dict[str, Any],
        steps: dict[str, dict[str, Any]],
        fields: dict[str, Any],
        expected_tus_uploads: int,
        template_id: str | None,
        client: dict[str, Any],
    ) -> None:
        self.id = new_id()
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.created = time.time()
        self.last_activity = self.created
        self.base_url = base_url.rstrip("/")
        self.params_raw = params_raw
        self.params = params
        self.steps = steps
        self.fields = fields
        self.notify_url: str | None = params.get("notify_url") or None
        self.expected_tus_uploads = expected_tus_uploads
        self.template_id = template_id
        self.client = client
        self.ok: str | None = UPLOADING
        self.error: str | None = None
        self.message: str = MESSAGES[UPLOADING]
        self.reason: str | None = None
        self.error_step: str | None = None
        self.uploads: list[FileRecord] = []
        self.results: dict[str, list[FileRecord]] = {}
        self.warnings: list[dict[str, str]] = []
        self.tus_uploads: list[TusUpload] = []
        self.started = False  # execution started (guards double start)
        self.upload_meta_data_extracted = False
        self.execution_start: float | None = None
        self.execution_end: float | None = None
        self.upload_end: float | None = None
        self.progress: float = 0.0
        self.notify: dict[str, Any] = {
            "notify_start": None,
            "notify_status": None,
            "notify_response_code": None,
            "notify_response_data": None,
            "notify_duration": None,
        }
        self.workdir: str = ""
        self.finalized = False  # scratch cleaned + notification sent once (cancel can race the worker)
        self.events: list[tuple[int, str | None, str]] = []

    # ---- URLs ------------------------------------------------------------------------------------------
    @property
    def assembly_url(self) -> str:
        return f"{self.base_url}/assemblies/{self.id}"

    @property
    def tus_url(self) -> str:
        return f"{self.base_url}/resumable/files/"

    @property
    def websocket_url(self) -> str:
        return f"{self.base_url}/ws20000"

    # ---- state helpers (call with lock held) -------------------------------------------------------------
    @property
    def terminal(self) -> bool:
        return self.ok not in RUNNING or self.error is not None

    def set_ok(self, ok: str) -> None:
        self.ok = ok
        self.message = MESSAGES.get(ok, "")
        self.changed.notify_all()

    def fail(self, error: str, message: str, reason: str | None = None, step: str | None = None) -> None:
        """Terminal error, shaped like TransloadIt's: `ok` absent, `error` + `message` (+ `reason`, `step`)."""
        self.ok = None
        self.error = error
        self.message = message
        self.reason = reason
        self.error_step = step
        self.execution_end = self.execution_end or time.time()
        self.emit("assembly_error", json.dumps(self.status_json()))
        self.changed.notify_all()

    def emit(self, event: str | None, data: str) -> None:
        """Append a Server-Sent Event to the log (ids are positions, so a reconnect resumes with Last-Event-ID)."""
        self.events.append((len(self.events) + 1, event, data))
        self.changed.notify_all()

    def status_json(self) -> dict[str, Any]:
        """The Assembly Status JSON (same shape for create, GET, list of one, and notify)."""
        uploaded = sum(u.offset for u in self.tus_uploads) + sum(u.size for u in self.uploads if not u.is_tus_file)
        expected = sum(u.length for u in self.tus_uploads) + sum(u.size for u in self.uploads if not u.is_tus_file)
        status: dict[str, Any] = {
            "ok": self.ok,
            "http_code": 200,
            "message": self.message,
            "assembly_id": self.id,
            "parent_id": None,
            "account_id": "local-account",
            "template_id": self.template_id,
            "instance": "localhost",
            "region": "local",
            "assembly_url": self.assembly_url,
            "assembly_ssl_url": self.assembly_url,
            "uppyserver_url": f"{self.base_url}/companion/",
            "companion_url": f"{self.base_url}/companion/",
            "websocket_url": self.websocket_url,
            "update_stream_url": f"{self.websocket_url}?assembly={self.id}",
            "tus_url": self.tus_url,
            "bytes_received": uploaded,
            "bytes_expected": expected,
            "upload_duration": round((self.upload_end or time.time()) - self.created, 3),
            "client_agent": self.client.get("agent"),
            "client_ip": self.client.get("ip"),
            "client_referer": self.client.get("referer"),
            "transloadit_client": self.client.get("transloadit_client"),
            "start_date": tl_date(self.created),
            "upload_meta_data_extracted": self.upload_meta_data_extracted,
            "warnings": list(self.warnings),
            "is_infinite": False,
            "has_dupe_jobs": False,
            "execution_start": tl_date(self.execution_start) if self.execution_start else None,
            "execution_duration": round((self.execution_end or time.time()) - self.execution_start, 3)
            if self.execution_start
            else None,
            "queue_duration": 0.0,
            "jobs_queue_duration": 0.0,
            "notify_url": self.notify_url,
            **self.notify,
            "last_job_completed": tl_date(self.execution_end) if self.execution_end and not self.error else None,
            "fields": dict(self.fields),
            "running_jobs": [],
            "bytes_usage": uploaded,
            "executing_jobs": [],
            "started_jobs": [],
            "parent_assembly_status": None,
            "params": self.params_raw,
            "template": None,
            "merged_params": json.dumps({**self.params, "steps": self.steps}, separators=(",", ":")),
            "expected_tus_uploads": self.expected_tus_uploads,
            "started_tus_uploads": len(self.tus_uploads),
            "finished_tus_uploads": sum(1 for u in self.tus_uploads if u.finished),
            "tus_uploads": [
                {
                    "filename": u.metadata.get("filename"),
                    "fieldname": u.metadata.get("fieldname"),
                    "user_meta": dict(u.metadata),
                    "size": u.length,
                    "offset": u.offset,
                    "finished": u.finished,
                    "upload_url": u.url,
                }
                for u in self.tus_uploads
            ],
            "uploads": [u.to_json() for u in self.uploads],
            "results": {step: [r.to_json() for r in files] for step, files in self.results.items()},
            "build_id": "local-standin",
        }
        if self.ok is None:
            status.pop("ok")
        if self.error:
            status.update({"error": self.error, "reason": self.reason, "step": self.error_step})
            status["http_code"] = 200
        return status

    def summary_json(self) -> dict[str, Any]:
        """An item of GET /assemblies (ListedAssembly)."""
        return {
            "id": self.id,
            "parent_id": None,
            "account_id": "local-account",
            "template_id": self.template_id,
            "instance": "localhost",
            "notify_url": self.notify_url,
            "redirect_url": None,
            "files": json.dumps([u.name for u in self.uploads]),
            "warning_count": len(self.warnings),
            "execution_duration": round((self.execution_end or time.time()) - self.execution_start, 3)
            if self.execution_start
            else None,
            "execution_start": tl_date(self.execution_start) if self.execution_start else None,
            "ok": self.ok,
            "error": self.error,
            "created": tl_date(self.created),
        }


class Registry:
    """All assemblies and tus uploads of this process, plus used nonces (SIGNATURE_REUSE_DETECTED)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.assemblies: dict[str, Assembly] = {}
        self.uploads: dict[str, TusUpload] = {}
        self._nonces: set[str] = set()

    def add(self, assembly: Assembly) -> None:
        with self._lock:
            self.assemblies[assembly.id] = assembly

    def get(self, assembly_id: str) -> Assembly | None:
        with self._lock:
            return self.assemblies.get(assembly_id)

    def all(self) -> list[Assembly]:
        with self._lock:
            return list(self.assemblies.values())

    def use_nonce(self, nonce: str) -> bool:
        """Record a nonce; False when it was seen before."""
        with self._lock:
            if nonce in self._nonces:
                return False
            self._nonces.add(nonce)
            return True

    def add_upload(self, upload: TusUpload) -> None:
        with self._lock:
            self.uploads[upload.id] = upload

    def get_upload(self, upload_id: str) -> TusUpload | None:
        with self._lock:
            return self.uploads.get(upload_id)

    def drop_upload(self, upload_id: str) -> None:
        with self._lock:
            self.uploads.pop(upload_id, None)

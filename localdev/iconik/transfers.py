"""Bulk copies of the stand-in: a job per POST .../bulk/, run by background workers that really copy the bytes
between the storages' blob stores and then finish the job (or fail it, or warn, as the knobs say)."""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from .blobs import Blobs
from .config import Knobs
from .model import ApiError, Store, blob_key, new_id, now_iso

log = logging.getLogger("iconik-standin")

NEVER_ENDING = ("READY", "STARTED", "WAITING", "PAUSED")
DONE = ("FINISHED", "FINISHED_WITH_WARNING", "FAILED", "ABORTED", "SKIPPED")


def new_job(store: Store, **fields) -> dict:
    """A job record as iconik's JobSchema shows it."""
    ts = now_iso()
    rec = {"id": new_id(), "title": "", "type": "CUSTOM", "status": "READY", "object_type": None,
           "object_id": None, "parent_id": None, "has_children": False, "progress": 0, "progress_processed": 0,
           "progress_total": 0, "message": None, "error_message": None, "metadata": {}, "job_context": None,
           "action_context": None, "custom_type": None, "priority": 5, "related_objects": [], "steps": [],
           "date_created": ts, "date_modified": ts, "started_at": None, "completed_at": None, "created_by": None}
    rec.update(fields)
    with store.lock:
        store.jobs[rec["id"]] = rec
    return rec


def set_progress(job: dict, processed: int | None = None, total: int | None = None) -> None:
    if processed is not None:
        job["progress_processed"] = processed
    if total is not None:
        job["progress_total"] = total
    t = job.get("progress_total") or 0
    job["progress"] = int(100 * (job.get("progress_processed") or 0) / t) if t else 0
    job["date_modified"] = now_iso()


def _truncate(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    left = limit
    for chunk in chunks:
        if left <= 0:
            break
        yield chunk[:left]
        left -= len(chunk)


def _flip_first_byte(chunks: Iterable[bytes]) -> Iterator[bytes]:
    first = True
    for chunk in chunks:
        if first and chunk:
            chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
            first = False
        yield chunk


class TransferEngine:
    """Queue of bulk jobs worked by `workers` daemon threads."""

    def __init__(self, store: Store, blobs: dict[str, Blobs], knobs: Callable[[], Knobs], workers: int):
        self.store, self.blobs, self.knobs = store, blobs, knobs
        self.queue: queue.Queue[tuple[str, dict]] = queue.Queue()
        self.active = 0
        self.cond = threading.Condition()
        self.threads = [threading.Thread(target=self._work, name=f"iconik-copy-{i}", daemon=True)
                        for i in range(max(1, workers))]
        for t in self.threads:
            t.start()

    # ---- public ------------------------------------------------------------------------------------------
    def submit(self, target_storage_id: str, body: dict, user_id: str | None) -> dict:
        """Create the job for a validated bulk request and queue it; returns the job record."""
        storage = self.store.storage(target_storage_id)
        fmt = body.get("format_name") or "ORIGINAL"
        ids = body["object_ids"]
        job = new_job(self.store, title=f"Transfer {fmt} of {len(ids)} {body['object_type']} to {storage['name']}",
                      type="TRANSFER", object_type=body["object_type"], object_id=ids[0] if ids else None,
                      created_by=user_id,
                      metadata={"storage_id": target_storage_id, "storage": storage["name"], "format_name": fmt,
                                "object_ids": list(ids)})
        with self.cond:
            self.active += 1
        self.queue.put((job["id"], dict(body)))
        return job

    def wait_idle(self, timeout: float) -> bool:
        """Block until no job is queued or running (tests); False on timeout."""
        end = time.monotonic() + timeout
        with self.cond:
            while self.active:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    # ---- worker ------------------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job_id, body = self.queue.get()
            try:
                self._run(job_id, body)
            except Exception as exc:  # a stand-in bug must still end the job, never leave it STARTED
                log.exception("bulk job crashed")
                with self.store.lock:
                    job = self.store.jobs.get(job_id)
                    if job:
                        job.update(status="FAILED", error_message=f"stand-in error: {exc}", completed_at=now_iso())
            finally:
                with self.cond:
                    self.active -= 1
                    self.cond.notify_all()

    def _expand(self, object_type: str, ids: list[str]) -> tuple[list[str], list[str]]:
        """Assets named by the request, collections expanded recursively; (asset ids, problems)."""
        assets: list[str] = []
        problems: list[str] = []
        seen_assets: set[str] = set()
        with self.store.lock:
            if object_type == "assets":
                stack: list[tuple[str, str]] = [("assets", i) for i in ids]
            else:
                stack = [("collections", i) for i in ids]
            stack.reverse()
            seen_cols: set[str] = set()
            while stack:
                kind, oid = stack.pop()
                if kind == "assets":
                    if oid not in seen_assets:
                        seen_assets.add(oid)
                        assets.append(oid)
                    continue
                if oid in seen_cols:
                    continue
                seen_cols.add(oid)
                if oid not in self.store.collections:
                    problems.append(f"Collection {oid} doesn't exist")
                    continue
                stack.extend(reversed(self.store.children.get(oid, [])))
        return assets, problems

    def _run(self, job_id: str, body: dict) -> None:
        store, knobs = self.store, self.knobs()
        with store.lock:
            job = store.jobs[job_id]
            forced = knobs.bulk_job_status
            if forced in NEVER_ENDING:  # scripted "never finishes": the job sits there, nothing is copied
                job.update(status=forced, started_at=now_iso() if forced != "READY" else None)
                return
            job.update(status="STARTED", started_at=now_iso())
        target = job["metadata"]["storage_id"]
        fmt = job["metadata"]["format_name"]
        assets, problems = self._expand(body["object_type"], list(body["object_ids"]))
        with store.lock:
            set_progress(job, 0, len(assets))
        failed: list[str] = list(problems)
        warnings: list[str] = []
        for n, asset_id in enumerate(assets, 1):
            with store.lock:
                if job["status"] in ("ABORT_PENDING", "ABORTED"):
                    job.update(status="ABORTED", completed_at=now_iso(), message="Aborted")
                    return
            outcome, reason = self._copy_asset(asset_id, fmt, target, body)
            if outcome == "failed":
                failed.append(f"{asset_id}: {reason}")
            elif outcome == "warning":
                warnings.append(f"{asset_id}: {reason}")
            with store.lock:
                set_progress(job, n)
        with store.lock:
            if forced in DONE:
                status = forced
            elif failed:
                status = "FAILED"
            elif warnings:
                status = "FINISHED_WITH_WARNING"
            else:
                status = "FINISHED"
            job.update(status=status, completed_at=now_iso(),
                       error_message="; ".join(failed)[:4000] or None,
                       message=("; ".join(warnings)[:4000] or None) if warnings else
                       f"Copied {len(assets) - len(failed)} of {len(assets)} assets")
            job["metadata"]["failed"] = len(failed)
            job["metadata"]["warnings"] = len(warnings)

    def _copy_asset(self, asset_id: str, fmt_name: str, target: str, body: dict) -> tuple[str, str]:
        """Copy one asset's file set of `fmt_name` to `target`; ("copied"|"skipped"|"failed"|"warning", reason)."""
        store, knobs = self.store, self.knobs()
        fault = knobs.copy_faults.get(asset_id)
        with store.lock:
            try:
                store.asset(asset_id)
                fmt = store.format_of(asset_id, fmt_name)
            except ApiError as exc:
                return "failed", exc.errors[0] if isinstance(exc.errors, list) else str(exc.errors)
            sets = [store.file_sets[i] for i in store.file_sets_by_asset.get(asset_id, [])]
            mine = [s for s in sets if s["format_id"] == fmt["id"] and s["status"] == "ACTIVE"]
            if any(s["storage_id"] == target for s in mine) and not body.get("allow_duplicate_transfers"):
                return "skipped", "already on the target storage"
            sources = [s for s in mine if s["storage_id"] != target and s["storage_id"] in self.blobs]
            preferred = body.get("preferred_original_storage_id")
            sources.sort(key=lambda s: s["storage_id"] != preferred)
            if not sources:
                return "failed", f"No file set of format {fmt_name} to copy from"
            source = sources[0]
            src_files = [dict(store.files[i]) for i in store.files_by_set.get(source["id"], [])
                         if store.files[i]["status"] == "CLOSED"]
        if fault == "fail":
            return "failed", "Simulated copy failure"
        if fault == "warn":
            return "warning", "Simulated warning: file skipped"
        if not src_files:
            return "failed", "Source file set has no closed files"
        src_blobs, dst_blobs = self.blobs[source["storage_id"]], self.blobs[target]
        method = store.storages[target]["method"]
        with store.lock:
            new_set = store.add_file_set(asset_id, fmt["id"], target, source["name"], source["base_dir"],
                                         component_ids=list(source.get("component_ids") or []),
                                         original_storage_id=source["storage_id"])
        if fault == "no_file":
            return "copied", "no file records (fault)"
        for src in src_files:
            with store.lock:
                rec = store.add_file(new_set, src["name"], size=None, checksum=None, status="OPEN",
                                     storage_method=method)
            try:
                chunks: Iterable[bytes] = src_blobs.read(blob_key(src))
            except FileNotFoundError:
                with store.lock:
                    rec.update(status="FAILED", date_modified=now_iso())
                return "failed", f"Source file {src['name']} is missing on its storage"
            if fault == "truncate":
                chunks = _truncate(chunks, max(0, int(src.get("size") or 0) // 2))
            elif fault == "corrupt":
                chunks = _flip_first_byte(chunks)
            size, md5 = dst_blobs.write(blob_key(rec), chunks)
            with store.lock:
                rec.update(size=size, checksum=md5 if knobs.checksums else None,
                           status="OPEN" if fault == "open" else "CLOSED", date_modified=now_iso())
        delay = knobs.copy_delay_ms / 1000 + (2.0 if fault == "slow" else 0.0)
        if delay:
            time.sleep(delay)
        return "copied", ""

"""The stand-in's behaviour: create assemblies, accept uploads, run the steps in background threads, notify."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from . import media, notify, signing
from .config import Settings
from .model import (
    CANCELED,
    COMPLETED,
    EXECUTING,
    UPLOADING,
    Assembly,
    FileRecord,
    Registry,
    TusUpload,
    new_id,
)
from .robots import (
    IMPORT_ROBOTS,
    ROBOTS,
    RobotContext,
    RobotError,
    md5_of,
    validate_step,
)

log = logging.getLogger("transloadit.standin")

VALIDATION_CODES = {
    "/video/encode": "VIDEO_ENCODE_VALIDATION",
    "/video/thumbs": "VIDEO_THUMBS_VALIDATION",
    "/backblaze/store": "BACKBLAZE_STORE_VALIDATION",
    "/backblaze/import": "BACKBLAZE_IMPORT_VALIDATION",
}
RESERVED_FORM_FIELDS = {"params", "signature", "num_expected_upload_files", "tus_num_expected_upload_files"}


class ApiError(Exception):
    """An error answer of the API: TransloadIt-style `error` code + `message`, with an HTTP status."""

    def __init__(self, code: str, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "http_code": self.http_status}


def jlog(severity: str, message: str, **fields: Any) -> None:
    """One JSON log line (never with secrets or signatures)."""
    log.log(logging.getLevelName(severity), json.dumps({"severity": severity, "message": message, **fields}))


def parse_use(use: Any) -> list[str] | None:
    """Step names a `use` refers to (string, list of names/objects, or {"steps": [...]}); None if malformed."""
    if isinstance(use, str):
        return [use]
    if isinstance(use, dict) and isinstance(use.get("steps"), list):
        use = use["steps"]
    if isinstance(use, list) and use:
        names = []
        for item in use:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                names.append(item["name"])
            else:
                return None
        return names
    return None


def order_steps(steps: dict[str, dict[str, Any]]) -> list[str]:
    """Steps in dependency order (raises ApiError on unknown `use` or cycles)."""
    deps: dict[str, list[str]] = {}
    for name, step in steps.items():
        if name == ":original" or (step.get("robot") in IMPORT_ROBOTS and "use" not in step):
            deps[name] = []
            continue
        names = parse_use(step.get("use"))
        if names is None:
            raise ApiError("INVALID_STEP_USE", f"step {name!r}: `use` must name the step(s) it takes files from")
        for ref in names:
            if ref != ":original" and ref not in steps:
                raise ApiError("INVALID_STEP_USE", f"step {name!r} uses unknown step {ref!r}")
        deps[name] = names
    ordered: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            raise ApiError("INVALID_STEP_USE", f"steps form a cycle at {n!r}")
        state[n] = 1
        for d in deps.get(n, []):
            if d in steps:
                visit(d)
        state[n] = 2
        ordered.append(n)

    for n in steps:
        visit(n)
    return ordered


class Service:
    """One stand-in instance: settings, state, background executors and scratch space."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = Registry()
        self._own_data_dir = not settings.data_dir
        self.data_dir = settings.data_dir or tempfile.mkdtemp(prefix="transloadit-standin-")
        os.makedirs(os.path.join(self.data_dir, "tus"), exist_ok=True)
        os.makedirs(os.path.join(self.data_dir, "assemblies"), exist_ok=True)
        self.jobs = ThreadPoolExecutor(max_workers=max(settings.workers, 1), thread_name_prefix="tl-job")
        self.notifier = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tl-notify")
        self.stopping = threading.Event()

    def close(self) -> None:
        """Stop background work (pending notifications give up) and remove our scratch dir."""
        self.stopping.set()
        self.jobs.shutdown(wait=True, cancel_futures=True)
        self.notifier.shutdown(wait=True, cancel_futures=True)
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # ---- assembly creation ---------------------------------------------------------------------------------
    def check_auth(self, params_raw: str | None, signature: str | None) -> dict[str, Any]:
        """Parse `params` and apply signature auth like TransloadIt with "Require a correct Signature" on."""
        if params_raw is None or params_raw == "":
            raise ApiError("NO_PARAMS_FIELD", "No params field was provided.")
        try:
            params = json.loads(params_raw)
        except ValueError as exc:
            raise ApiError("INVALID_PARAMS_FIELD", "The params field is not valid JSON.") from exc
        if not isinstance(params, dict):
            raise ApiError("INVALID_PARAMS_FIELD", "The params field must be a JSON object.")
        auth = params.get("auth")
        if not isinstance(auth, dict) or not auth.get("key"):
            raise ApiError("INVALID_PARAMS_FIELD", "params.auth.key is required.")
        if auth["key"] != self.settings.auth_key:
            raise ApiError("GET_ACCOUNT_UNKNOWN_AUTH_KEY", "Unknown auth key.", 401)
        if signature in (None, ""):
            if self.settings.require_signature:
                raise ApiError("NO_SIGNATURE_FIELD", "This account requires a signature, but none was sent.", 401)
            return params
        # A supplied signature is always checked, even when signatures are not required.
        if not signing.verify(self.settings.auth_secret, params_raw, signature):
            raise ApiError("INVALID_SIGNATURE", "The signature does not match the params.", 401)
        if "expires" not in auth:
            raise ApiError("NO_AUTH_EXPIRES_PARAMETER", "params.auth.expires is required with a signature.", 401)
        expires = signing.parse_expires(auth["expires"])
        if expires is None:
            raise ApiError("INVALID_AUTH_EXPIRES_PARAMETER", "params.auth.expires is not a valid date.", 401)
        if expires <= datetime.now(UTC):
            raise ApiError("AUTH_EXPIRED", "The signature has expired (params.auth.expires is in the past).", 401)
        return params

    def load_steps(self, params: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], str | None, dict[str, Any]]:
        """Steps from the template (if any) merged with params.steps; also the template's own params."""
        steps: dict[str, dict[str, Any]] = {}
        template_params: dict[str, Any] = {}
        template_id = params.get("template_id")
        if template_id:
            path = ""
            if self.settings.templates_dir and re.fullmatch(r"[A-Za-z0-9_.-]+", str(template_id)):
                path = os.path.join(self.settings.templates_dir, f"{template_id}.json")
            if not path or not os.path.isfile(path):
                raise ApiError("TEMPLATE_NOT_FOUND", f"Template {template_id!r} was not found.", 404)
            with open(path, encoding="utf-8") as fh:
                template_params = json.load(fh)
            steps.update(template_params.get("steps") or {})
        own = params.get("steps")
        if own is not None and not isinstance(own, dict):
            raise ApiError("INVALID_PARAMS_FIELD", "params.steps must be an object.")
        steps.update(own or {})
        if not steps:
            raise ApiError("ASSEMBLY_NO_STEPS", "The assembly has no steps (give steps or a template_id).")
        for name, step in steps.items():
            if not isinstance(step, dict):
                raise ApiError("INVALID_PARAMS_FIELD", f"step {name!r} must be an object.")
            problem = validate_step(name, step, self.settings)
            if problem:
                code = VALIDATION_CODES.get(step.get("robot"), "INVALID_ROBOT")
                raise ApiError(code, problem)
        order_steps(steps)
        return steps, template_id, template_params

    def create(
        self,
        *,
        base_url: str,
        params_raw: str | None,
        signature: str | None,
        form: dict[str, str],
        files: list[tuple[str, str, str, str]],
        client: dict[str, Any],
    ) -> Assembly:
        """Validate and register a new assembly. `files` = (field, filename, mime, local path) sent inline."""
        params = self.check_auth(params_raw, signature)
        steps, template_id, template_params = self.load_steps(params)
        notify_url = params.get("notify_url") or template_params.get("notify_url")
        if notify_url:
            parsed = urlparse(str(notify_url))
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ApiError("ASSEMBLY_INVALID_NOTIFY_URL", "notify_url must be an http(s) URL.")
            params = {**params, "notify_url": str(notify_url)}
        expected_raw = form.get("num_expected_upload_files") or form.get("tus_num_expected_upload_files") or "0"
        try:
            expected = int(expected_raw)
            if expected < 0:
                raise ValueError
        except ValueError as exc:
            raise ApiError("INVALID_FORM_DATA", "num_expected_upload_files must be a non-negative integer.") from exc
        nonce = params["auth"].get("nonce")
        if nonce is not None and signature and not self.registry.use_nonce(str(nonce)):
            raise ApiError("SIGNATURE_REUSE_DETECTED", "This signature (nonce) was already used.", 401)
        # Signed params.fields win over browser-sent form fields of the same name.
        fields = {k: v for k, v in form.items() if k not in RESERVED_FORM_FIELDS}
        own_fields = params.get("fields") if isinstance(params.get("fields"), dict) else {}
        fields.update({k: v for k, v in own_fields.items()})
        assembly = Assembly(
            base_url=base_url,
            params_raw=params_raw or "",
            params=params,
            steps=steps,
            fields=fields,
            expected_tus_uploads=expected,
            template_id=template_id,
            client=client,
        )
        assembly.workdir = os.path.join(self.data_dir, "assemblies", assembly.id)
        os.makedirs(assembly.workdir, exist_ok=True)
        max_size = params["auth"].get("max_size")
        for field_name, filename, mime, path in files:
            size = os.path.getsize(path)
            if isinstance(max_size, int) and size > max_size:
                shutil.rmtree(assembly.workdir, ignore_errors=True)
                raise ApiError("MAX_SIZE_EXCEEDED", f"{filename} is larger than auth.max_size.", 413)
            dest = os.path.join(assembly.workdir, f"upload-{new_id()}")
            shutil.move(path, dest)
            assembly.uploads.append(self._upload_record(filename, mime, size, dest, field_name, {}, None))
        self.registry.add(assembly)
        jlog("INFO", "assembly created", assembly_id=assembly.id, expected_tus_uploads=expected, steps=list(steps))
        with assembly.lock:
            self._maybe_start(assembly)
        return assembly

    @staticmethod
    def _upload_record(
        filename: str, mime: str, size: int, path: str, field: str | None, user_meta: dict[str, str], tus_url: str | None
    ) -> FileRecord:
        base, ext = os.path.splitext(filename or "file")
        fid = new_id()
        return FileRecord(
            id=fid,
            name=filename or "file",
            basename=base,
            ext=ext.lstrip(".").lower(),
            size=size,
            mime=mime or "application/octet-stream",
            field=field,
            original_id=fid,
            original_name=filename or "file",
            original_basename=base,
            original_md5hash="",
            md5hash="",
            path=path,
            user_meta=user_meta,
            is_tus_file=tus_url is not None,
            tus_upload_url=tus_url,
        )

    # ---- tus hooks -----------------------------------------------------------------------------------------
    def assembly_for_upload(self, metadata: dict[str, str]) -> Assembly:
        """The running assembly a new tus upload belongs to (its `assembly_url` metadata)."""
        url = metadata.get("assembly_url") or ""
        assembly_id = urlparse(url).path.rstrip("/").rsplit("/", 1)[-1] if url else ""
        assembly = self.registry.get(assembly_id) if assembly_id else None
        if assembly is None:
            raise ApiError("TUS_ASSEMBLY_NOT_FOUND", "Upload-Metadata must carry the assembly_url of a known assembly.", 400)
        with assembly.lock:
            self._expire_if_stale(assembly)
            if assembly.terminal or assembly.started:
                raise ApiError("TUS_ASSEMBLY_NOT_UPLOADING", "The assembly no longer accepts uploads.", 400)
        return assembly

    def new_tus_upload(self, assembly: Assembly, length: int, metadata: dict[str, str], raw_meta: str) -> TusUpload:
        """Register an upload resource (size limits: auth.max_size -> the assembly fails like TransloadIt's)."""
        max_size = assembly.params["auth"].get("max_size")
        if isinstance(max_size, int) and length > max_size:
            with assembly.lock:
                assembly.fail("MAX_SIZE_EXCEEDED", f"{metadata.get('filename', 'file')} is larger than auth.max_size.")
            self._after_terminal(assembly)
            raise ApiError("MAX_SIZE_EXCEEDED", "The file is larger than the assembly's max_size.", 413)
        uid = new_id()
        path = os.path.join(self.data_dir, "tus", uid)
        open(path, "wb").close()
        upload = TusUpload(
            id=uid,
            assembly_id=assembly.id,
            length=length,
            path=path,
            url=assembly.tus_url + uid,
            metadata=metadata,
            raw_metadata=raw_meta,
        )
        self.registry.add_upload(upload)
        with assembly.lock:
            assembly.tus_uploads.append(upload)
            assembly.last_activity = time.time()
        return upload

    def tus_progress(self, upload: TusUpload) -> None:
        """Bytes arrived (offset already advanced): note activity; when complete, attach the file."""
        assembly = self.registry.get(upload.assembly_id)
        if assembly is None:
            return
        with assembly.lock:
            assembly.last_activity = time.time()
            assembly.changed.notify_all()
            if upload.offset < upload.length or upload.finished:
                return
            upload.finished = True
            meta = upload.metadata
            user_meta = {k: v for k, v in meta.items() if k != "assembly_url"}
            record = self._upload_record(
                meta.get("filename") or meta.get("name") or "file",
                meta.get("filetype") or meta.get("type") or "",
                upload.length,
                upload.path,
                meta.get("fieldname") or "file",
                user_meta,
                upload.url,
            )
            assembly.uploads.append(record)
            assembly.emit("assembly_upload_finished", json.dumps(record.to_json()))
            self._maybe_start(assembly)

    def tus_terminated(self, upload: TusUpload) -> None:
        """DELETE of an unfinished upload: it no longer counts towards the assembly."""
        assembly = self.registry.get(upload.assembly_id)
        self.registry.drop_upload(upload.id)
        if assembly is not None and not upload.finished:
            with assembly.lock:
                assembly.tus_uploads = [u for u in assembly.tus_uploads if u.id != upload.id]
            try:
                os.remove(upload.path)
            except OSError:
                pass

    # ---- lifecycle -----------------------------------------------------------------------------------------
    def _maybe_start(self, assembly: Assembly) -> None:
        """Start executing once every expected tus upload has arrived (lock held)."""
        if assembly.started or assembly.terminal:
            return
        finished = sum(1 for u in assembly.tus_uploads if u.finished)
        if finished < assembly.expected_tus_uploads:
            return
        assembly.started = True
        assembly.upload_end = time.time()
        assembly.set_ok(EXECUTING)
        assembly.execution_start = time.time()
        assembly.emit(None, "assembly_uploading_finished")
        self.jobs.submit(self._run, assembly)

    def cancel(self, assembly: Assembly) -> None:
        """DELETE /assemblies/<id>: a running assembly becomes ASSEMBLY_CANCELED (steps stop between jobs)."""
        with assembly.lock:
            if assembly.terminal:
                return
            assembly.set_ok(CANCELED)
            assembly.execution_end = time.time()
            assembly.emit("assembly_error", json.dumps({**assembly.status_json(), "error": "ASSEMBLY_CANCELED"}))
        jlog("INFO", "assembly canceled", assembly_id=assembly.id)
        self._after_terminal(assembly)

    def _expire_if_stale(self, assembly: Assembly) -> bool:
        """An assembly left uploading with no activity for `upload_expiry` fails with ASSEMBLY_EXPIRED (lock held)."""
        stale = time.time() - assembly.last_activity > self.settings.upload_expiry
        if assembly.ok == UPLOADING and not assembly.started and not assembly.error and stale:
            assembly.fail("ASSEMBLY_EXPIRED", "The assembly expired before all files were uploaded.")
            self.notifier.submit(self._finish_background, assembly)
            return True
        return False

    def refresh(self, assembly: Assembly) -> None:
        """Apply time-based transitions before answering about an assembly."""
        with assembly.lock:
            self._expire_if_stale(assembly)

    def _finish_background(self, assembly: Assembly) -> None:
        self._after_terminal(assembly)

    def _after_terminal(self, assembly: Assembly) -> None:
        """Clean scratch files, then send the notification (also for errors/cancel when configured)."""
        with assembly.lock:
            if assembly.finalized:
                return
            assembly.finalized = True
            for u in assembly.tus_uploads:
                self.registry.drop_upload(u.id)
            paths = [u.path for u in assembly.tus_uploads]
            failed = assembly.error is not None or assembly.ok != COMPLETED
            should_notify = bool(assembly.notify_url) and (not failed or self.settings.notify_on_error)
        shutil.rmtree(assembly.workdir, ignore_errors=True)
        for p in paths:
            try:
                os.remove(p)
            except OSError:
                pass
        if should_notify and not self.stopping.is_set():
            self.notifier.submit(notify.deliver, assembly, self.settings, None, self.stopping)

    def replay_notification(self, assembly: Assembly, url: str | None) -> None:
        """POST /assembly_notifications/<id>/replay: send the same notification again."""
        self.notifier.submit(notify.deliver, assembly, self.settings, url, self.stopping)

    def _run(self, assembly: Assembly) -> None:
        """Execute the steps in order; any robot error fails the assembly with TransloadIt's error shape."""
        ctx = RobotContext(settings=self.settings, assembly=assembly, workdir=assembly.workdir)
        try:
            self._extract_upload_meta(assembly)
            with assembly.lock:
                steps = dict(assembly.steps)
                uploads = list(assembly.uploads)
            order = [s for s in order_steps(steps) if s != ":original" or steps[s].get("robot") == "/upload/handle"]
            used = {ref for n, st in steps.items() if n != ":original" for ref in (parse_use(st.get("use")) or [])}
            outputs: dict[str, list[FileRecord]] = {":original": uploads}
            for index, name in enumerate(order):
                with assembly.lock:
                    if assembly.terminal:
                        return  # canceled meanwhile
                step = steps[name]
                if name == ":original":
                    inputs = [(":original", f) for f in uploads]
                else:
                    inputs = [(ref, f) for ref in parse_use(step.get("use")) or [] for f in outputs.get(ref, [])]
                try:
                    produced = ROBOTS[step["robot"]](ctx, name, step, inputs)
                except RobotError as exc:
                    exc.step = name  # type: ignore[attr-defined]
                    raise
                outputs[name] = produced
                include = step.get("result", name not in used and name != ":original")
                with assembly.lock:
                    if include and produced:
                        assembly.results.setdefault(name, []).extend(produced)
                        for r in produced:
                            assembly.emit("assembly_result_finished", json.dumps([name, r.to_json()]))
                    assembly.progress = round(100.0 * (index + 1) / max(len(order), 1), 1)
                    assembly.emit("assembly_execution_progress", json.dumps({"progress_combined": assembly.progress}))
            with assembly.lock:
                if assembly.terminal:
                    return
                assembly.execution_end = time.time()
                assembly.set_ok(COMPLETED)
                assembly.emit(None, "assembly_finished")
            jlog("INFO", "assembly completed", assembly_id=assembly.id, seconds=round(time.time() - assembly.created, 2))
        except RobotError as exc:
            with assembly.lock:
                if not assembly.terminal:
                    assembly.fail(exc.code, exc.message, exc.reason, getattr(exc, "step", None))
            jlog("WARNING", "assembly failed", assembly_id=assembly.id, error=exc.code)
        except Exception as exc:
            log.exception("stand-in bug while running assembly %s", assembly.id)
            with assembly.lock:
                if not assembly.terminal:
                    assembly.fail("WORKER_JOB_ERROR", f"Internal stand-in error: {type(exc).__name__}")
        finally:
            self._after_terminal(assembly)

    def _extract_upload_meta(self, assembly: Assembly) -> None:
        """md5 + ffprobe facts of every upload (TransloadIt's `upload_meta_data_extracted`)."""
        with assembly.lock:
            uploads = list(assembly.uploads)
        for up in uploads:
            digest = md5_of(up.path)
            facts = media.probe(up.path, self.settings.ffprobe_bin)
            with assembly.lock:
                up.md5hash = up.original_md5hash = digest
                up.meta = facts
        with assembly.lock:
            assembly.upload_meta_data_extracted = True
            assembly.emit(None, "assembly_upload_meta_data_extracted")

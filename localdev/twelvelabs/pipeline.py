"""Task lifecycle of the local Twelve Labs: fetch the video, validate it with ffprobe, understand it in a
worker process, and move the task validating -> pending -> queued -> indexing -> ready|failed on a clock."""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import multiprocessing
import os
import re
import shutil
import socket
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import requests

from . import media, understand
from .clock import Clock
from .state import STATUSES, Store, Task, Video
from .webhooks import Webhooks

log = logging.getLogger("twelvelabs.pipeline")
MAX_BYTES = 2 * 1024**3  # /tasks takes files up to 2 GB
# share of the indexing time spent in each status before "ready"
STAGES = (("pending", 0.1), ("queued", 0.2), ("indexing", 0.3))


@dataclass
class Limits:
    """Video requirements (Marengo envelope from the contract: 4 s-2 h, 360-5184 px wide, 360-2160 px high)."""

    min_duration: float = 4.0
    max_duration: float = 7200.0
    min_side: int = 360
    max_long_side: int = 5184
    max_short_side: int = 2160
    max_aspect: float = 2.4


@dataclass
class FailureRule:
    """Fail tasks whose filename or URL contains `match` (empty: every task) with this reason."""

    match: str
    code: str
    message: str
    times: int | None = None  # None: unlimited


@dataclass
class Config:
    index_seconds: float = 10.0
    data_dir: str = "/tmp/twelvelabs-local"
    workers: int = 1
    understanding: bool = True
    allow_remote_fetch: bool = False
    limits: Limits = field(default_factory=Limits)


class Pipeline:
    """Runs every task from creation to a terminal status; thread-safe."""

    def __init__(self, store: Store, config: Config, webhooks: Webhooks) -> None:
        self.store, self.config, self.webhooks = store, config, webhooks
        self.failure_rules: list[FailureRule] = []
        for sub in ("videos", "thumbs", "hls"):
            os.makedirs(os.path.join(config.data_dir, sub), exist_ok=True)
        self._fetchers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tl-fetch")
        self._pool: ProcessPoolExecutor | None = None
        self._cache: dict[str, dict] = {}      # sha256 of the media -> understanding
        self._inflight: dict[str, Future] = {}  # sha256 -> running understanding
        self._clock = Clock(self._advance, "tl-clock")
        if config.understanding:  # start the worker and load the speech model before the first task
            self._executor().submit(understand.warm)

    # ---- public -----------------------------------------------------------------------------------------
    def start(self, task: Task, video_url: str | None, upload_path: str | None) -> None:
        """Begin `task`: schedule its status changes and fetch/validate/understand its video in the background."""
        t0, total = task.created_at, max(self.config.index_seconds, 0.0)
        for status, share in STAGES:
            self._clock.schedule(t0 + share * total, task.id, status)
        self._clock.schedule(t0 + total, task.id, "ready")
        self._fetchers.submit(self._prepare, task.id, video_url, upload_path)

    def fail(self, task_id: str, code: str, message: str) -> bool:
        """Move a task to failed with `error_reason` {code, message}; False if it had already finished."""
        with self.store.lock:
            task = self.store.tasks.get(task_id)
            if task is None or task.is_terminal():
                return False
            task.status, task.error_reason, task.updated_at = "failed", {"code": code, "message": message}, time.time()
            self.store.pending_videos.pop(task.video_id, None)
            models = self._models(task)
        log.info("task %s failed: %s", task_id, code)
        self.webhooks.task_event(task, task.system_metadata.get("duration"), models)
        return True

    def shutdown(self) -> None:
        self._fetchers.shutdown(wait=False, cancel_futures=True)
        if self._pool:
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                proc.terminate()  # the workers may be mid-way through a long decode
            self._pool.shutdown(wait=False, cancel_futures=True)

    # ---- clock ------------------------------------------------------------------------------------------
    def _advance(self, task_id: str, status: str) -> None:
        with self.store.lock:
            task = self.store.tasks.get(task_id)
            if task is None or task.is_terminal():
                return
            if status != "ready":
                if STATUSES.index(status) > STATUSES.index(task.status):
                    task.status, task.updated_at = status, time.time()
                return
            if not task.analyzed:
                task.ready_due = True  # finishes when understanding does
                if STATUSES.index(task.status) < STATUSES.index("indexing"):
                    task.status, task.updated_at = "indexing", time.time()
                return
        self._finish(task_id)

    def _finish(self, task_id: str) -> None:
        with self.store.lock:
            task = self.store.tasks.get(task_id)
            if task is None or task.is_terminal():
                return
            rule = self._matching_rule(task)
            if rule is None:
                video = self.store.pending_videos.pop(task.video_id, None)
                if video is None or task.index_id not in self.store.indexes:
                    rule = FailureRule("", "index_not_found", "the index was deleted while indexing")
                else:
                    now = time.time()
                    video.indexed_at = video.updated_at = now
                    self.store.videos[video.id] = video
                    self.store.bump(task.index_id)
                    task.status, task.updated_at = "ready", now
                    models = self._models(task)
        if rule is not None:
            self.fail(task_id, rule.code, rule.message)
            return
        log.info("task %s ready (video %s)", task_id, task.video_id)
        self.webhooks.task_event(task, task.system_metadata.get("duration"), models)

    def _matching_rule(self, task: Task) -> FailureRule | None:
        if task.forced_failure:
            return FailureRule("", task.forced_failure["code"], task.forced_failure["message"])
        for rule in self.failure_rules:
            if rule.match in task.filename or rule.match in (task.system_metadata.get("source_url") or ""):
                if rule.times is not None:
                    if rule.times <= 0:
                        continue
                    rule.times -= 1
                return rule
        return None

    def _models(self, task: Task) -> list[dict]:
        idx = self.store.indexes.get(task.index_id)
        return idx.models if idx else []

    # ---- fetch, validate, understand ---------------------------------------------------------------------
    def _prepare(self, task_id: str, video_url: str | None, upload_path: str | None) -> None:
        with self.store.lock:
            task = self.store.tasks.get(task_id)
            if task is None:
                return
            video_id = task.video_id
        path = os.path.join(self.config.data_dir, "videos", video_id + _ext(task.filename))
        try:
            if upload_path:
                shutil.move(upload_path, path)
            else:
                self._download(video_url or "", path)
            facts = media.probe(path)
        except _Reject as exc:
            self.fail(task_id, exc.code, exc.message)
            return
        except media.MediaError as exc:
            self.fail(task_id, "video_file_broken", f"The video file could not be decoded: {exc}.")
            return
        except Exception as exc:  # never leave a task hanging in validating
            log.exception("preparing task %s failed", task_id)
            self.fail(task_id, "internal_error", f"The video could not be processed ({type(exc).__name__}).")
            return
        problem = self._check(facts)
        if problem:
            self.fail(task_id, *problem)
            return
        system_metadata = {"filename": task.filename, "duration": facts.duration, "fps": facts.fps,
                           "width": facts.width, "height": facts.height, "size": facts.size}
        thumb_at = round(min(max(facts.duration * 0.25, 0.0), max(facts.duration - 0.5, 0.0)), 2)
        try:
            media.thumbnail(path, thumb_at, os.path.join(self.config.data_dir, "thumbs", f"{video_id}.jpg"))
        except media.MediaError:
            log.warning("no thumbnail for video %s", video_id)
        with self.store.lock:
            if task.is_terminal():
                return
            task.system_metadata = {**system_metadata, "source_url": task.system_metadata.get("source_url")}
            self.store.pending_videos[video_id] = Video(
                id=video_id, index_id=task.index_id, task_id=task.id, created_at=task.created_at,
                updated_at=time.time(), indexed_at=None, path=path, system_metadata=system_metadata,
                user_metadata=dict(task.user_metadata), enable_video_stream=task.enable_video_stream,
                thumbnail_at=thumb_at)
            idx = self.store.indexes.get(task.index_id)
            opts = idx.options() if idx else set()
        if not self.config.understanding:
            self._understood(task_id, {"speech": [], "ocr": [], "transcript": [], "scenes": [], "keyframes": []})
            return
        self._understand(task_id, path, speech="audio" in opts and facts.has_audio, ocr="visual" in opts)

    def download(self, url: str, path: str, limit: int = MAX_BYTES) -> None:
        """Fetch `url` to `path` under the same rules as tasks (loopback only unless allowed); Rejected if not."""
        self._download(url, path, limit)

    def _download(self, url: str, path: str, limit: int = MAX_BYTES) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Reject("parameter_invalid", "video_url must be an http(s) URL of the raw media file.")
        if not self.config.allow_remote_fetch and not _is_loopback(parts.hostname):
            raise _Reject("parameter_invalid", "The local Twelve Labs only fetches loopback URLs "
                                               "(start it with --allow-remote-fetch to change that).")
        try:
            with requests.get(url, stream=True, timeout=(5, 60)) as resp:
                if resp.status_code != 200:
                    raise _Reject("video_url_unreachable", f"Fetching video_url returned HTTP {resp.status_code}.")
                size = 0
                with open(path, "wb") as fh:
                    for chunk in resp.iter_content(1 << 20):
                        size += len(chunk)
                        if size > limit:
                            raise _Reject("video_filesize_too_large",
                                          f"The file is larger than {limit / 1024**2:g} MB.")
                        fh.write(chunk)
        except requests.RequestException as exc:
            raise _Reject("video_url_unreachable", f"video_url could not be fetched ({type(exc).__name__}).") from exc

    def check(self, p: media.Probe, lim: Limits | None = None) -> tuple[str, str] | None:
        """(code, message) when a probed video breaks `lim` (default: the indexing limits), else None."""
        return self._check(p, lim)

    def _check(self, p: media.Probe, lim: Limits | None = None) -> tuple[str, str] | None:
        lim = lim or self.config.limits
        if p.duration < lim.min_duration:
            return "video_duration_too_short", f"The video is {p.duration:.1f} s long; at least {lim.min_duration:g} s is required."
        if p.duration > lim.max_duration:
            return "video_duration_too_long", f"The video is longer than {lim.max_duration:g} s."
        short, long_ = sorted((p.width, p.height))
        if short < lim.min_side:
            return "video_resolution_too_low", f"The video is {p.width}x{p.height}; both sides must be at least {lim.min_side} px."
        if long_ > lim.max_long_side or short > lim.max_short_side:
            return "video_resolution_too_high", f"The video is {p.width}x{p.height}, above {lim.max_long_side}x{lim.max_short_side}."
        if long_ / short > lim.max_aspect:
            return "video_resolution_invalid_aspect_ratio", f"The aspect ratio of {p.width}x{p.height} is outside 1:{lim.max_aspect}."
        return None

    def _understand(self, task_id: str, path: str, speech: bool, ocr: bool) -> None:
        # the picture (scene cuts, keyframes for image search) is looked at whenever the visual option is on
        key, cached, fut = self._lookup(path, speech, ocr, pictures=ocr)
        if cached is not None:
            self._understood(task_id, cached)
            return
        fut.add_done_callback(lambda f: self._understood_future(task_id, key, f))

    def _lookup(self, path: str, speech: bool, ocr: bool, pictures: bool) -> tuple[str, dict | None, Future]:
        """(cache key, cached understanding or None, running future) of `path`, starting the work if needed."""
        key = f"{_sha256(path)}:{int(speech)}{int(ocr)}{int(pictures)}"
        with self.store.lock:
            if key in self._cache:
                return key, self._cache[key], None  # type: ignore[return-value]
            fut = self._inflight.get(key)
            if fut is None:
                fut = self._executor().submit(understand.analyze, path, speech, ocr, pictures)
                self._inflight[key] = fut
                fut.add_done_callback(lambda f: self._cached(key, f))
        return key, None, fut

    def _cached(self, key: str, fut: Future) -> None:
        with self.store.lock:
            self._inflight.pop(key, None)
            if not fut.cancelled() and fut.exception() is None:
                self._cache[key] = fut.result()

    def understanding_of(self, path: str, speech: bool, timeout: float = 1800.0) -> dict:
        """Everything the stand-in extracts from `path` (speech when asked and `understanding` is on; on-screen
        text, scene cuts, keyframes always), from the SHA-256 cache when the same file was seen before; blocks."""
        if not self.config.understanding:  # --no-understanding: no speech, but captions and cuts (a few seconds)
            speech = False
        _, cached, fut = self._lookup(path, speech, True, pictures=True)
        return cached if cached is not None else fut.result(timeout=timeout)

    def _understood_future(self, task_id: str, key: str, fut: Future) -> None:
        try:
            result = fut.result()
        except Exception as exc:  # noqa: BLE001 - a crashed worker must not leave the task in "indexing"
            log.error("understanding for task %s failed: %s", task_id, exc)
            result = None
        if result is None:
            self.fail(task_id, "internal_error", "The video could not be analysed.")
        else:
            self._understood(task_id, result)

    def _understood(self, task_id: str, result: dict) -> None:
        with self.store.lock:
            task = self.store.tasks.get(task_id)
            if task is None or task.is_terminal():
                return
            video = self.store.pending_videos.get(task.video_id)
            if video is not None:
                video.understanding = result
            task.analyzed = True
            due = task.ready_due
        if due:
            self._finish(task_id)

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: forking a threaded server can copy held locks into the child
            self._pool = ProcessPoolExecutor(max_workers=max(1, self.config.workers),
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=understand.worker_init)
        return self._pool

    # ---- media served back -------------------------------------------------------------------------------
    def thumbnail_file(self, video: Video, at: float | None) -> str | None:
        """JPEG of `video` at second `at` (None: the main thumbnail), rendered on first use and cached."""
        if at is None:
            path = os.path.join(self.config.data_dir, "thumbs", f"{video.id}.jpg")
            at = video.thumbnail_at
        else:
            at = max(0.0, min(float(at), max(float(video.system_metadata.get("duration") or 0) - 0.1, 0.0)))
            path = os.path.join(self.config.data_dir, "thumbs", f"{video.id}-{int(at * 10)}.jpg")
        if not os.path.exists(path):
            try:
                media.thumbnail(video.path, at, path)
            except media.MediaError:
                return None
        return path

    def hls_dir(self, video: Video) -> str | None:
        """Folder with index.m3u8 + segments of `video` (remuxed on first use), None if ffmpeg cannot."""
        out = os.path.join(self.config.data_dir, "hls", video.id)
        if os.path.exists(os.path.join(out, "index.m3u8")):
            return out
        os.makedirs(out, exist_ok=True)
        ok = media.hls(video.path, out)
        return out if ok else None


class Rejected(Exception):
    """A fetched or probed file the API refuses: `code`, `message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


_Reject = Rejected


def _ext(filename: str) -> str:
    ext = os.path.splitext(filename)[1].lower()
    return ext if re.fullmatch(r"\.[a-z0-9]{1,5}", ext) else ".mp4"


def filename_of(url: str) -> str:
    """The file name Twelve Labs records for a video URL: the last path segment, unquoted."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "video"


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host == "localhost":
        return True
    try:
        return all(ipaddress.ip_address(ai[4][0]).is_loopback for ai in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False

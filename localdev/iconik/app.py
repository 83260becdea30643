"""Flask app factory of the local iconik stand-in: wires state, blob stores, the copy engine and the knobs."""
from __future__ import annotations

import hmac
import json
import logging
import time
from dataclasses import fields
from typing import Any

from flask import Flask, Response, g, jsonify, request

from .blobs import Blobs, FolderBlobs, S3Blobs
from .config import COPY_FAULTS, JOB_STATUSES, Knobs, StandinConfig
from .faults import Faults, Stats, TokenBucket, retry_after_value
from .model import ApiError, Store, blob_key, now_iso
from .transfers import TransferEngine

log = logging.getLogger("iconik-standin")


class Standin:
    """One running stand-in: its config, knobs, records, blob stores, copy engine and counters."""

    def __init__(self, config: StandinConfig):
        self.config = config
        self.store = Store()
        self.blobs: dict[str, Blobs] = {
            config.b2_storage_id: S3Blobs(config.s3_endpoint, config.s3_region, config.s3_access_key,
                                          config.s3_secret_key, config.bucket, config.prefix),
            config.ll_storage_id: FolderBlobs(config.lucidlink_dir),
        }
        self.aliases = {"B2": config.b2_storage_id, "LL": config.ll_storage_id, "LUCIDLINK": config.ll_storage_id}
        self.stats = Stats(config.request_log_size)
        self.faults = Faults()
        self.knobs = Knobs()
        self.bucket: TokenBucket | None = None
        self.revoked: set[str] = set()  # tokens made invalid by /_admin/tokens/revoke (an expired token)
        self.apply_knobs(config.knobs.to_dict())
        self._add_storages()
        self.engine = TransferEngine(self.store, self.blobs, lambda: self.knobs, config.copy_workers)

    def _add_storages(self) -> None:
        c = self.config
        self.store.add_storage(c.b2_storage_id, "Backblaze B2 (local S3)", "B2", self.blobs[c.b2_storage_id].describe())
        self.store.add_storage(c.ll_storage_id, "LucidLink (local folder)", "FILE",
                               self.blobs[c.ll_storage_id].describe())

    # ---- knobs -------------------------------------------------------------------------------------------
    def apply_knobs(self, values: dict[str, Any]) -> None:
        """Merge knob values (validated); `faults` replaces the rule list."""
        known = {f.name for f in fields(Knobs)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown knobs: {sorted(unknown)}")
        if "copy_faults" in values:
            bad = {k: v for k, v in (values["copy_faults"] or {}).items() if v not in COPY_FAULTS}
            if bad:
                raise ValueError(f"copy faults must be one of {COPY_FAULTS}: {bad}")
        if values.get("bulk_job_status") not in (None, *JOB_STATUSES):
            raise ValueError(f"bulk_job_status must be one of {JOB_STATUSES}")
        if "faults" in values:
            self.faults.set(values["faults"] or [])
        for key, value in values.items():
            if key == "faults":
                continue
            if key in ("latency_ms", "rate_limit", "rate_burst", "copy_delay_ms"):
                value = float(value or 0)
                if value < 0:
                    raise ValueError(f"{key} must not be negative")
            setattr(self.knobs, key, value)
        self.knobs.faults = self.faults.to_list()
        if "rate_limit" in values or "rate_burst" in values:
            self.bucket = TokenBucket(self.knobs.rate_limit, self.knobs.rate_burst) if self.knobs.rate_limit else None

    def knob_view(self) -> dict[str, Any]:
        view = self.knobs.to_dict()
        view["faults"] = self.faults.to_list()
        return view

    # ---- helpers used by routes --------------------------------------------------------------------------
    def user_id_for(self, req) -> str:
        return self.config.user_id

    def token_ok(self, app_id: str, token: str) -> bool:
        if not app_id or not token or token in self.revoked:
            return False
        if self.knobs.app_id and not hmac.compare_digest(app_id, self.knobs.app_id):
            return False
        with self.store.lock:
            if token in self.store.tokens:  # a token we issued is valid only with the App-ID it was issued for
                owner = self.store.tokens[token]
                return owner is None or hmac.compare_digest(owner, app_id)
        if self.knobs.auth_tokens is None:
            return True
        return any(hmac.compare_digest(token, t) for t in self.knobs.auth_tokens)

    def purge_file_set(self, file_set_id: str) -> None:
        """Forget a file set and delete its files' bytes from the storage."""
        with self.store.lock:
            fs = self.store.file_sets.get(file_set_id)
            if fs is None:
                raise ApiError(404, ["File set doesn't exist"])
            gone = self.store.remove_file_set(file_set_id)
        blobs = self.blobs.get(fs["storage_id"])
        for f in gone:
            if blobs is not None:
                blobs.delete(blob_key(f))

    def fire_action(self, act: dict, body: dict, *, user_id: str) -> dict:
        """Call a custom action's URL exactly as iconik does, with a fresh auth token for the action's app."""
        from .api import custom_action_payload, post_action

        token = self.store.issue_token(act.get("app_id"))
        payload = custom_action_payload(act, body, user_id=user_id, system_domain_id=self.config.system_domain_id,
                                        token=token)
        headers = {"Content-Type": "application/json", **(act.get("headers") or {})}
        result = post_action(act["url"], headers, payload, self.config.callback_timeout)
        with self.store.lock:
            live = self.store.custom_actions.get(act["id"])
            if live is not None:
                ok = result.get("status") is not None and 200 <= result["status"] < 300
                live["status"] = "HEALTHY" if ok else "FAILING"
                if not ok:
                    live["last_error"] = f"status {result.get('status')} {result.get('error', '')}".strip()
                    live["last_error_date"] = now_iso()
        result["payload"] = {k: v for k, v in payload.items() if k != "auth_token"}
        return result

    def reset(self, wipe_storage: bool = False) -> None:
        """Back to the start-up state: no content, start-up knobs, zero counters."""
        self.engine.wait_idle(30)
        self.store.clear()
        self._add_storages()
        self.knobs = Knobs()
        self.faults.set([])
        self.bucket = None
        self.revoked.clear()
        self.apply_knobs(self.config.knobs.to_dict())
        self.stats.reset()
        if wipe_storage:
            for blobs in self.blobs.values():
                blobs.wipe()


def _error(status: int, errors, headers: dict[str, str] | None = None) -> Response:
    resp = jsonify({"errors": errors})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def create_app(config: dict[str, Any] | StandinConfig | None = None) -> Flask:
    """Build the stand-in app. `config` is a StandinConfig or a dict of its fields (knobs allowed at top level)."""
    cfg = config if isinstance(config, StandinConfig) else StandinConfig.from_mapping(config)
    app = Flask("localdev.iconik")
    app.json.sort_keys = False
    standin = Standin(cfg)
    app.extensions["iconik"] = standin

    from .admin import bp as admin_bp
    from .api import bp as api_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(admin_bp)

    @app.get("/_health")
    def _health():  # readiness probe of the local stack runner (localdev/stack.py)
        return jsonify({"ok": True})

    @app.before_request
    def _gate():
        if not request.path.startswith("/API/"):
            return None
        st: Standin = app.extensions["iconik"]
        g.started = time.monotonic()
        g.counted = True
        st.stats.begin()
        if st.knobs.latency_ms:
            time.sleep(st.knobs.latency_ms / 1000)
        rule = st.faults.pick(request.method, request.path, request.headers.get("Auth-Token", ""))
        if rule is not None:
            with st.stats.lock:
                st.stats.injected += 1
            if rule.delay:
                time.sleep(rule.delay)
            headers = {"Retry-After": str(int(rule.retry_after))} if rule.retry_after is not None else {}
            if rule.body == "html":
                return Response(f"<html><body><h1>{rule.status} Bad Gateway</h1></body></html>", status=rule.status,
                                headers=headers, mimetype="text/html")
            if rule.body == "empty":
                return Response(b"", status=rule.status, headers=headers)
            return _error(rule.status, ["Injected failure" if rule.status != 429 else "Too many requests"], headers)
        if st.bucket is not None:
            ok, wait, remaining = st.bucket.take()
            g.remaining = remaining
            if not ok:
                with st.stats.lock:
                    st.stats.rate_limited += 1
                headers = {"RateLimit-Remaining": "0"}
                ra = retry_after_value(st.knobs.retry_after, wait)
                if ra is not None:
                    headers["Retry-After"] = ra
                return _error(429, ["Too many requests"], headers)
        if not st.token_ok(request.headers.get("App-ID", ""), request.headers.get("Auth-Token", "")):
            return _error(401, ["Token is invalid"])
        return None

    @app.after_request
    def _count(resp: Response) -> Response:
        if getattr(g, "counted", False):
            st: Standin = app.extensions["iconik"]
            if getattr(g, "remaining", None) is not None:
                resp.headers.setdefault("RateLimit-Remaining", str(g.remaining))
            body = request.get_data(cache=True) if request.method in ("POST", "PUT", "PATCH") else b""
            entry = {"t": time.time(), "method": request.method, "path": request.path,
                     "query": request.query_string.decode(), "status": resp.status_code,
                     "app_id": request.headers.get("App-ID"),
                     "has_auth_token": bool(request.headers.get("Auth-Token")),
                     "ms": int(1000 * (time.monotonic() - g.started))}
            if body:
                try:
                    entry["json"] = json.loads(body[:20000])
                except ValueError:
                    entry["body"] = body[:200].decode("utf-8", "replace")
            route = f"{request.method} {request.url_rule.rule if request.url_rule else request.path}"
            st.stats.end(route, resp.status_code, entry)
        return resp

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return _error(exc.status, exc.errors, exc.headers)

    @app.errorhandler(404)
    def _not_found(_exc):
        return _error(404, ["Not found"])

    @app.errorhandler(405)
    def _not_allowed(_exc):
        return _error(405, ["Method not allowed"])

    @app.errorhandler(ValueError)
    def _bad_value(exc: ValueError):
        return _error(400, [str(exc)])

    @app.errorhandler(Exception)
    def _crash(exc: Exception):  # the stand-in answers like a server: a JSON 500, never a debug page
        from werkzeug.exceptions import HTTPException

        if isinstance(exc, HTTPException):
            return _error(exc.code or 500, [exc.description or exc.name])
        log.exception("stand-in error")
        return _error(500, [f"stand-in error: {type(exc).__name__}"])

    return app

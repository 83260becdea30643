"""Settings of the local TransloadIt stand-in (environment variables, overridable by the CLI and tests)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from localdev.stack import LOCAL_SECRETS

DEFAULT_AUTH_KEY = "local-transloadit-key"
DEFAULT_AUTH_SECRET = "local-transloadit-secret"


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass
class Settings:
    """Everything the stand-in can be told. Defaults match the local stack (docs/CONVENTIONS.md)."""

    auth_key: str = DEFAULT_AUTH_KEY
    auth_secret: str = DEFAULT_AUTH_SECRET
    # Like the account setting "Require a correct Signature": unsigned assemblies are refused.
    require_signature: bool = True
    # Local S3 (moto) that plays Backblaze B2 for /backblaze/store.
    s3_endpoint: str = "http://127.0.0.1:8900"
    s3_region: str = "us-west-004"
    s3_access_key: str = LOCAL_SECRETS["B2_KEY_ID"]  # the local B2 checks signatures with the stack's key
    s3_secret_key: str = LOCAL_SECRETS["B2_APPLICATION_KEY"]
    bucket: str = "mam-local"
    # Template Credentials names accepted by /backblaze/store (all map to the local bucket above).
    credentials: tuple[str, ...] = ("b2",)
    # Base URL put in assembly_url / tus_url; empty = derived from each request's Host.
    public_url: str = ""
    # Where tus uploads and robot outputs live while an assembly runs; empty = a fresh temp dir.
    data_dir: str = ""
    # Templates by id (template_id in params): directory of <id>.json files; empty = none.
    templates_dir: str = ""
    max_upload_bytes: int = 10 * 1024**3
    # Background work.
    workers: int = 2
    ffmpeg_timeout: float = 600.0
    ffmpeg_bin: str = "ffmpeg"
    ffprobe_bin: str = "ffprobe"
    # Notifications: TransloadIt retries a failed notification 5 times over about a minute.
    notify_attempts: int = 6
    notify_backoff: float = 2.0
    notify_backoff_max: float = 20.0
    notify_timeout: float = 15.0
    # "sha384" -> "sha384:<hex>" (current relay), "sha1" -> bare 40-hex (legacy), "sha256" -> "sha256:<hex>".
    notify_signature: str = "sha384"
    # "urlencoded" (what TransloadIt's relay sends) or "multipart" (what the docs describe).
    notify_encoding: str = "urlencoded"
    # Also notify when an assembly ends in an error or is canceled (the contract says: handle both).
    notify_on_error: bool = True
    # Server-Sent Events at websocket_url: off = answer 204 so Uppy keeps polling (see README).
    sse: bool = True
    # Seconds an unfinished assembly may sit without upload activity before it fails with ASSEMBLY_EXPIRED.
    upload_expiry: float = 6 * 3600.0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        """Read TRANSLOADIT_STANDIN_* (and the shared local S3 variables) from the environment."""
        p = "TRANSLOADIT_STANDIN_"
        d = cls()
        creds = os.environ.get(p + "CREDENTIALS", "")
        return cls(
            auth_key=os.environ.get(p + "AUTH_KEY") or os.environ.get("TRANSLOADIT_AUTH_KEY") or d.auth_key,
            auth_secret=os.environ.get(p + "AUTH_SECRET") or os.environ.get("TRANSLOADIT_AUTH_SECRET") or d.auth_secret,
            require_signature=_env_bool(p + "REQUIRE_SIGNATURE", d.require_signature),
            s3_endpoint=os.environ.get(p + "S3_ENDPOINT") or os.environ.get("B2_ENDPOINT") or d.s3_endpoint,
            s3_region=os.environ.get(p + "S3_REGION") or os.environ.get("B2_REGION") or d.s3_region,
            s3_access_key=os.environ.get(p + "S3_ACCESS_KEY") or os.environ.get("B2_KEY_ID") or d.s3_access_key,
            s3_secret_key=os.environ.get(p + "S3_SECRET_KEY") or os.environ.get("B2_APPLICATION_KEY") or d.s3_secret_key,
            bucket=os.environ.get(p + "BUCKET") or os.environ.get("B2_BUCKET") or d.bucket,
            credentials=tuple(c.strip() for c in creds.split(",") if c.strip())
            or tuple({*d.credentials, os.environ.get("TRANSLOADIT_B2_CREDENTIALS") or "b2"}),
            public_url=os.environ.get(p + "PUBLIC_URL", d.public_url),
            data_dir=os.environ.get(p + "DATA_DIR", d.data_dir),
            templates_dir=os.environ.get(p + "TEMPLATES_DIR", d.templates_dir),
            max_upload_bytes=_env_int(p + "MAX_UPLOAD_BYTES", d.max_upload_bytes),
            workers=_env_int(p + "WORKERS", d.workers),
            ffmpeg_timeout=_env_float(p + "FFMPEG_TIMEOUT", d.ffmpeg_timeout),
            notify_attempts=_env_int(p + "NOTIFY_ATTEMPTS", d.notify_attempts),
            notify_backoff=_env_float(p + "NOTIFY_BACKOFF", d.notify_backoff),
            notify_backoff_max=_env_float(p + "NOTIFY_BACKOFF_MAX", d.notify_backoff_max),
            notify_timeout=_env_float(p + "NOTIFY_TIMEOUT", d.notify_timeout),
            notify_signature=os.environ.get(p + "NOTIFY_SIGNATURE", d.notify_signature),
            notify_encoding=os.environ.get(p + "NOTIFY_ENCODING", d.notify_encoding),
            notify_on_error=_env_bool(p + "NOTIFY_ON_ERROR", d.notify_on_error),
            sse=_env_bool(p + "SSE", d.sse),
            upload_expiry=_env_float(p + "UPLOAD_EXPIRY", d.upload_expiry),
        )

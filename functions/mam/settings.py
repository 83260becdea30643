"""Settings from the environment, secrets from Secret Manager, validated once at start-up.

A function calls `load_settings("b2", "transloadit", ...)` at import time; every missing or malformed setting of
those groups is reported together in one `ConfigError`, so an operator fixes them in one pass.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Callable
from urllib.parse import urlparse


class ConfigError(RuntimeError):
    """Raised at start-up when settings are missing or malformed; the message names every problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class Spec:
    """How one environment variable is read: its group (required there), default, parser and secrecy."""

    env: str
    group: str
    default: str | None = None  # None = required in its group
    parse: str = "str"  # str | int | bool | url | list
    secret: bool = False


SPECS: tuple[Spec, ...] = (
    Spec("GCP_PROJECT", "core"),
    Spec("GCP_REGION", "core", "us-central1"),
    Spec("FUNCTIONS_BASE_URL", "core", "", "url"),
    Spec("TASKS_SERVICE_ACCOUNT", "core", ""),
    Spec("LOG_LEVEL", "core", "INFO"),
    Spec("MAM_LOCAL", "core", "false", "bool"),
    Spec("FRONTEND_ORIGIN", "http", None, "list"),
    Spec("PUBLIC_READ", "http", "true", "bool"),
    Spec("ADMIN_EMAILS", "http", "", "list"),
    Spec("B2_ENDPOINT", "b2", None, "url"),
    Spec("B2_REGION", "b2"),
    Spec("B2_BUCKET", "b2"),
    Spec("B2_KEY_ID", "b2"),
    Spec("B2_APPLICATION_KEY", "b2", secret=True),
    Spec("B2_EVENT_SIGNING_SECRET", "b2", "", secret=True),
    Spec("VIDEOS_PREFIX", "b2", "videos/"),
    Spec("B2_PUBLIC_BASE_URL", "b2", "", "url"),
    Spec("PRESIGN_TTL_SECONDS", "b2", "21600", "int"),
    Spec("TRANSLOADIT_AUTH_KEY", "transloadit"),
    Spec("TRANSLOADIT_AUTH_SECRET", "transloadit", secret=True),
    Spec("TRANSLOADIT_SERVICE_URL", "transloadit", "https://api2.transloadit.com", "url"),
    Spec("TRANSLOADIT_TEMPLATE_ID", "transloadit", ""),
    Spec("TRANSLOADIT_B2_CREDENTIALS", "transloadit", "b2"),
    Spec("UPLOAD_MAX_BYTES", "transloadit", "5368709120", "int"),
    # Upload safety-check timing (read by mam.uploads.config; validated here so a bad value stops start-up).
    Spec("UPLOAD_PARAMS_TTL_SECONDS", "transloadit", "3600", "int"),
    Spec("UPLOAD_CHECK_FIRST_DELAY_SECONDS", "transloadit", "900", "int"),
    Spec("UPLOAD_CHECK_MAX_DELAY_SECONDS", "transloadit", "14400", "int"),
    Spec("UPLOAD_START_GRACE_SECONDS", "transloadit", "3600", "int"),
    Spec("UPLOAD_DEADLINE_SECONDS", "transloadit", "86400", "int"),
    Spec("STATUS_COALESCE", "transloadit", "true", "bool"),
    Spec("TWELVELABS_API_KEY", "twelvelabs", secret=True),
    Spec("TWELVELABS_BASE_URL", "twelvelabs", "https://api.twelvelabs.io/v1.3", "url"),
    Spec("TWELVELABS_INDEX_NAME", "twelvelabs", "mam-library"),
    Spec("TWELVELABS_WEBHOOK_SECRET", "twelvelabs", "", secret=True),
    Spec("INDEX_DEADLINE_SECONDS", "twelvelabs", "7200", "int"),
    Spec("ICONIK_URL", "iconik", "https://app.iconik.io", "url"),
    Spec("ICONIK_APP_ID", "iconik"),
    Spec("BZ_SHARED_SECRET", "iconik", secret=True),
    Spec("FORMAT_NAMES", "iconik", "ORIGINAL,PPRO_PROXY", "list"),
    Spec("ICONIK_RATE_LIMIT", "iconik", "45", "int"),
)

GROUPS = frozenset(s.group for s in SPECS)


@dataclass(frozen=True)
class Settings:
    """Every setting, typed. Fields of groups that were not loaded hold their defaults (or empty)."""

    gcp_project: str = ""
    gcp_region: str = "us-central1"
    functions_base_url: str = ""
    tasks_service_account: str = ""
    log_level: str = "INFO"
    mam_local: bool = False
    frontend_origin: tuple[str, ...] = ()
    public_read: bool = True
    admin_emails: tuple[str, ...] = ()
    b2_endpoint: str = ""
    b2_region: str = ""
    b2_bucket: str = ""
    b2_key_id: str = ""
    b2_application_key: str = ""
    b2_event_signing_secret: str = ""
    videos_prefix: str = "videos/"
    b2_public_base_url: str = ""
    presign_ttl_seconds: int = 21600
    transloadit_auth_key: str = ""
    transloadit_auth_secret: str = ""
    transloadit_service_url: str = "https://api2.transloadit.com"
    transloadit_template_id: str = ""
    transloadit_b2_credentials: str = "b2"
    upload_max_bytes: int = 5368709120
    upload_params_ttl_seconds: int = 3600
    upload_check_first_delay_seconds: int = 900
    upload_check_max_delay_seconds: int = 14400
    upload_start_grace_seconds: int = 3600
    upload_deadline_seconds: int = 86400
    status_coalesce: bool = True
    twelvelabs_api_key: str = ""
    twelvelabs_base_url: str = "https://api.twelvelabs.io/v1.3"
    twelvelabs_index_name: str = "mam-library"
    twelvelabs_webhook_secret: str = ""
    index_deadline_seconds: int = 7200
    iconik_url: str = "https://app.iconik.io"
    iconik_app_id: str = ""
    bz_shared_secret: str = ""
    format_names: tuple[str, ...] = ("ORIGINAL", "PPRO_PROXY")
    iconik_rate_limit: int = 45

    def __repr__(self) -> str:  # never print secrets, e.g. in a traceback or a debugger
        shown = {f.name: ("[set]" if _is_secret_field(f.name) and getattr(self, f.name) else getattr(self, f.name))
                 for f in fields(self)}
        return f"Settings({shown})"


def _is_secret_field(name: str) -> bool:
    return any(s.secret and s.env.lower() == name for s in SPECS)


def _parse(spec: Spec, raw: str) -> tuple[object, str | None]:
    """Parse one raw value; return (value, problem-or-None). Problems never quote secret values."""
    if spec.parse == "int":
        try:
            value = int(raw)
        except ValueError:
            return None, f"{spec.env} must be an integer"
        if value < 0:
            return None, f"{spec.env} must not be negative"
        return value, None
    if spec.parse == "bool":
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True, None
        if low in ("0", "false", "no", "off", ""):
            return False, None
        return None, f"{spec.env} must be true or false, got {raw!r}"
    if spec.parse == "list":
        return tuple(p.strip() for p in raw.split(",") if p.strip()), None
    if spec.parse == "url" and raw:
        parsed = urlparse(raw)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return None, f"{spec.env} must be an http(s) URL, got {raw!r}"
        return raw.rstrip("/"), None
    return raw, None


def _secret_manager_fetch(resource: str) -> str:
    """Read one secret version (e.g. projects/p/secrets/s/versions/latest) from Secret Manager."""
    from google.cloud import secretmanager  # lazy: only a deployment without --set-secrets pays for it

    client = secretmanager.SecretManagerServiceClient()
    return client.access_secret_version(name=resource).payload.data.decode("utf-8")


def load_settings(*groups: str, environ: dict[str, str] | None = None,
                  fetch_secret: Callable[[str], str] = _secret_manager_fetch) -> Settings:
    """Read and validate the settings of `core` plus `groups`; raise ConfigError naming every problem.

    A secret comes from its environment variable (what `--set-secrets` provides) or, failing that, from the
    Secret Manager resource named in `<NAME>_SECRET_ID`.
    """
    env = os.environ if environ is None else environ
    wanted = {"core", *groups}
    unknown = wanted - GROUPS
    if unknown:
        raise ValueError(f"unknown settings groups: {sorted(unknown)}")
    problems: list[str] = []
    values: dict[str, object] = {}
    for spec in SPECS:
        if spec.group not in wanted:
            continue
        raw = env.get(spec.env, "").strip()
        if not raw and spec.secret and env.get(spec.env + "_SECRET_ID"):
            try:
                raw = fetch_secret(env[spec.env + "_SECRET_ID"]).strip()
            except Exception as exc:  # the operator needs the name of the secret, never its value
                problems.append(f"{spec.env}: cannot read secret {env[spec.env + '_SECRET_ID']} ({type(exc).__name__})")
                continue
        if not raw:
            if spec.default is None:
                problems.append(f"{spec.env} is required ({spec.group}) but not set")
                continue
            raw = spec.default
        value, problem = _parse(spec, raw)
        if problem:
            problems.append(problem)
        else:
            values[spec.env.lower()] = value
    if problems:
        raise ConfigError(problems)
    return Settings(**values)  # type: ignore[arg-type]


_cache: dict[tuple[str, ...], Settings] = {}


def settings(*groups: str) -> Settings:
    """Cached `load_settings` for use inside a running function."""
    key = tuple(sorted(groups))
    if key not in _cache:
        _cache[key] = load_settings(*groups)
    return _cache[key]


def reset_cache() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    _cache.clear()

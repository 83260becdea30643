"""Start-up settings of the local iconik stand-in (CLI flags / env vars) and its runtime knobs."""
from __future__ import annotations

import os
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from localdev.stack import LOCAL_SECRETS

# Fixed storage ids so a developer can put them in a custom action URL once and keep them across restarts.
DEFAULT_B2_STORAGE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "mam-local/iconik/storage/b2"))
DEFAULT_LL_STORAGE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "mam-local/iconik/storage/lucidlink"))
DEFAULT_SYSTEM_DOMAIN_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "mam-local/iconik/system-domain"))
DEFAULT_USER_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "mam-local/iconik/user"))

# Job statuses of iconik's current JobSchema enum.
JOB_STATUSES = ("READY", "STARTED", "FINISHED", "FINISHED_WITH_WARNING", "FAILED", "WAITING", "ABORT_PENDING",
                "ABORTED", "SKIPPED", "PAUSED")
# What a bulk copy may be told to do with one asset (see README "copy faults").
COPY_FAULTS = ("fail", "warn", "truncate", "corrupt", "open", "no_file", "slow")


@dataclass
class Knobs:
    """Behaviour that tests change at runtime through POST /_admin/config (all off by default)."""

    latency_ms: float = 0.0              # added to every API request
    rate_limit: float = 0.0              # requests/s allowed (token bucket); 0 = unlimited
    rate_burst: float = 0.0              # bucket size; 0 = one second's worth (= rate_limit)
    retry_after: str = "auto"            # on rate-limit 429s: "auto" (seconds until a token), "none", or a number
    faults: list[dict[str, Any]] = field(default_factory=list)   # injected answers, see faults.FaultRule
    copy_faults: dict[str, str] = field(default_factory=dict)    # asset_id -> one of COPY_FAULTS
    bulk_job_status: str | None = None   # force the end status of every bulk job (STARTED/PAUSED = never ends)
    copy_delay_ms: float = 0.0           # extra time per asset copied (slow jobs)
    checksums: bool = True               # record an md5 checksum on copied files
    app_id: str | None = None            # if set, App-ID must equal it
    auth_tokens: list[str] | None = None # if set, only these Auth-Tokens (plus tokens we issued) are valid

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StandinConfig:
    """Where the stand-in keeps bytes, its storage ids, and the knobs it starts with."""

    s3_endpoint: str = "http://127.0.0.1:8900"
    s3_region: str = "us-west-004"
    s3_access_key: str = LOCAL_SECRETS["B2_KEY_ID"]  # the local B2 checks signatures with the stack's key
    s3_secret_key: str = LOCAL_SECRETS["B2_APPLICATION_KEY"]
    bucket: str = "mam-local"
    prefix: str = "iconik/"
    lucidlink_dir: str = ".local/lucidlink"
    b2_storage_id: str = DEFAULT_B2_STORAGE_ID
    ll_storage_id: str = DEFAULT_LL_STORAGE_ID
    system_domain_id: str = DEFAULT_SYSTEM_DOMAIN_ID
    user_id: str = DEFAULT_USER_ID
    copy_workers: int = 2                # bulk jobs processed in parallel
    request_log_size: int = 2000         # recent API requests kept for /_admin/requests
    callback_timeout: float = 30.0       # seconds we wait for a custom action endpoint to answer
    knobs: Knobs = field(default_factory=Knobs)

    @classmethod
    def from_mapping(cls, values: dict[str, Any] | None) -> StandinConfig:
        """Build from a dict (create_app(config)); unknown keys are an error so typos do not pass silently."""
        values = dict(values or {})
        knob_values = dict(values.pop("knobs", {}) or {})
        known = {f for f in cls.__dataclass_fields__ if f != "knobs"}
        knob_fields = set(Knobs.__dataclass_fields__)
        for key in list(values):
            if key in knob_fields:  # allow knobs at the top level for convenience
                knob_values[key] = values.pop(key)
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown iconik stand-in settings: {sorted(unknown)}")
        bad_knobs = set(knob_values) - knob_fields
        if bad_knobs:
            raise ValueError(f"unknown iconik stand-in knobs: {sorted(bad_knobs)}")
        return cls(knobs=Knobs(**knob_values), **values)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> dict[str, Any]:
        """Settings from ICONIK_STANDIN_* environment variables (overridden by CLI flags)."""
        env = os.environ if environ is None else environ
        out: dict[str, Any] = {}
        mapping = {
            "ICONIK_STANDIN_S3_ENDPOINT": ("s3_endpoint", str),
            "ICONIK_STANDIN_BUCKET": ("bucket", str),
            "ICONIK_STANDIN_PREFIX": ("prefix", str),
            "ICONIK_STANDIN_LUCIDLINK_DIR": ("lucidlink_dir", str),
            "ICONIK_STANDIN_B2_STORAGE_ID": ("b2_storage_id", str),
            "ICONIK_STANDIN_LL_STORAGE_ID": ("ll_storage_id", str),
            "ICONIK_STANDIN_LATENCY_MS": ("latency_ms", float),
            "ICONIK_STANDIN_RATE_LIMIT": ("rate_limit", float),
            "ICONIK_STANDIN_APP_ID": ("app_id", str),
        }
        # Inside the local stack (localdev/stack.py) the stand-in gets the stack's environment: use its S3
        # endpoint, its App-ID (so a wrong App-ID in our calls shows up as a 401) and its state folder.
        if env.get("B2_ENDPOINT"):
            out["s3_endpoint"] = env["B2_ENDPOINT"]
        if env.get("B2_BUCKET"):
            out["bucket"] = env["B2_BUCKET"]
        for name, key in (("B2_REGION", "s3_region"), ("B2_KEY_ID", "s3_access_key"),
                          ("B2_APPLICATION_KEY", "s3_secret_key")):
            if env.get(name):
                out[key] = env[name]
        if env.get("ICONIK_APP_ID"):
            out["app_id"] = env["ICONIK_APP_ID"]
        if env.get("MAM_STATE_DIR"):
            out["lucidlink_dir"] = os.path.join(env["MAM_STATE_DIR"], "lucidlink")
        for env_name, (key, conv) in mapping.items():
            if env.get(env_name):
                out[key] = conv(env[env_name])
        return out

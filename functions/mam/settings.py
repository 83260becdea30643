"""Settings from the environment, secrets from Secret Manager, validated once at start-up, typed per group.

Every knob is declared once, as a field of its group's record below: `knob("ENV_NAME", default)` (no default:
required in that group); the field's type says how the value is parsed. `.env.yaml.template` documents the same
knobs and tests/unit/test_settings.py checks the two against each other.

A function calls `settings("b2", "transloadit", ...)` at import time: `core` and those groups are read, and every
missing or malformed knob among them is reported together in one `ConfigError`, so an operator fixes them in one
pass. Code then reads `settings.b2.bucket`; reading a group the function did not load raises `GroupNotLoaded`.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse


class ConfigError(RuntimeError):
    """Raised at start-up when settings are missing or malformed; the message names every problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))


class GroupNotLoaded(RuntimeError):
    """A group of settings read by code whose function did not load it (a programming error)."""

    def __init__(self, group: str, loaded: tuple[str, ...]):
        self.group = group
        super().__init__(f"settings group {group!r} was not loaded (loaded: {', '.join(loaded) or 'none'}); the "
                         f"function must name it in its settings(...) / load_settings(...) call at start-up")


_REQUIRED: Any = object()  # the default of a knob that has none: required in its group


class Knob:
    """The declaration of one setting, a class attribute of its group's record (instances hold the values)."""

    __slots__ = ("default", "env", "runtime", "secret", "url")

    def __init__(self, env: str, default: Any, secret: bool, url: bool, runtime: bool) -> None:
        self.env, self.default, self.secret, self.url, self.runtime = env, default, secret, url, runtime

    @property
    def required(self) -> bool:
        """True if the knob has no default: its group cannot load without it."""
        return self.default is _REQUIRED


def knob(env: str, default: Any = _REQUIRED, *, secret: bool = False, url: bool = False,
         runtime: bool = False) -> Any:
    """Declare a setting read from environment variable `env`; without `default` it is required in its group.

    `secret`: may come from Secret Manager (`<env>_SECRET_ID`) and is never shown; `url`: must be http(s), kept
    without a trailing slash; `runtime`: set by the (local) runtime, not by deploy.sh, so not in the template.
    """
    return Knob(env, default, secret, url, runtime)


class Part:
    """A record inside a record (IconikSettings.tuning): its knobs belong to the outer record's group."""

    __slots__ = ("record",)

    def __init__(self, record: type) -> None:
        self.record = record


def part(record: type) -> Any:
    """Declare a field holding a whole record of knobs (its defaults unless set)."""
    return Part(record)


_fields: dict[type, list[tuple[str, Knob | Part]]] = {}


def _declared(record: type) -> list[tuple[str, Knob | Part]]:
    """(field name, declaration) of a record class, in declaration order."""
    found = _fields.get(record)
    if found is None:
        found = _fields[record] = [(n, d) for n, d in vars(record).items() if isinstance(d, (Knob, Part))]
    return found


class _Record:
    """Base of the group records: built from keyword values (declared defaults for the rest), read-only, and a
    repr that never shows a secret. Plain classes, not dataclasses: defining eight frozen dataclasses took ~8 ms
    of every cold start (measured), these take ~0.1 ms."""

    def __init__(self, **values: Any) -> None:
        for name, decl in _declared(type(self)):
            if name in values:
                value = values.pop(name)
            elif isinstance(decl, Part):
                value = decl.record()
            elif decl.required:
                raise TypeError(f"{type(self).__name__}() needs {name} ({decl.env})")
            else:
                value = decl.default
            object.__setattr__(self, name, value)
        if values:
            raise TypeError(f"{type(self).__name__}() has no settings {sorted(values)}")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash(tuple(vars(self).values()))

    def __repr__(self) -> str:
        shown = []
        for name, decl in _declared(type(self)):
            value = getattr(self, name)
            shown.append(f"{name}={'[set]' if isinstance(decl, Knob) and decl.secret and value else value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


class CoreSettings(_Record):
    """What every function has: the project, where functions answer, the Cloud Tasks caller, logging."""

    project: str = knob("GCP_PROJECT")
    region: str = knob("GCP_REGION", "us-central1")
    functions_base_url: str = knob("FUNCTIONS_BASE_URL", "", url=True)
    tasks_service_account: str = knob("TASKS_SERVICE_ACCOUNT", "")
    log_level: str = knob("LOG_LEVEL", "INFO")
    # Set by the local stack's runtime (Stack.runtime_env) next to the emulator hosts; never deployed.
    local: bool = knob("MAM_LOCAL", False, runtime=True)


class HttpSettings(_Record):
    """The public HTTP side: the front end's origins (CORS), who may read, who is a member, who is an admin
    (the rules are in mam/roles.py; a verified email is needed for every role granted by email)."""

    frontend_origin: tuple[str, ...] = knob("FRONTEND_ORIGIN")
    public_read: bool = knob("PUBLIC_READ", True)
    admin_emails: tuple[str, ...] = knob("ADMIN_EMAILS", ())
    # Both empty: only admins are members, so a fresh deployment is not open to whoever self-registers.
    member_emails: tuple[str, ...] = knob("MEMBER_EMAILS", ())
    member_domains: tuple[str, ...] = knob("MEMBER_DOMAINS", ())  # "example.com": every verified @example.com


class B2Settings(_Record):
    """Backblaze B2 through its S3 API: the bucket of videos, thumbnails and the static site."""

    endpoint: str = knob("B2_ENDPOINT", url=True)
    region: str = knob("B2_REGION")
    bucket: str = knob("B2_BUCKET")
    key_id: str = knob("B2_KEY_ID")
    application_key: str = knob("B2_APPLICATION_KEY", secret=True)
    event_signing_secret: str = knob("B2_EVENT_SIGNING_SECRET", "", secret=True)
    videos_prefix: str = knob("VIDEOS_PREFIX", "videos/")
    public_base_url: str = knob("B2_PUBLIC_BASE_URL", "", url=True)
    presign_ttl_seconds: int = knob("PRESIGN_TTL_SECONDS", 21600)


class TransloaditSettings(_Record):
    """TransloadIt, the uploads' timing (signed params, the missed-notification check) and the status poll."""

    auth_key: str = knob("TRANSLOADIT_AUTH_KEY")
    auth_secret: str = knob("TRANSLOADIT_AUTH_SECRET", secret=True)
    service_url: str = knob("TRANSLOADIT_SERVICE_URL", "https://api2.transloadit.com", url=True)
    template_id: str = knob("TRANSLOADIT_TEMPLATE_ID", "")
    b2_credentials: str = knob("TRANSLOADIT_B2_CREDENTIALS", "b2")
    upload_max_bytes: int = knob("UPLOAD_MAX_BYTES", 5368709120)
    upload_params_ttl_seconds: int = knob("UPLOAD_PARAMS_TTL_SECONDS", 3600)  # Uppy creates the assembly at once
    upload_check_first_delay_seconds: int = knob("UPLOAD_CHECK_FIRST_DELAY_SECONDS", 900)
    upload_check_max_delay_seconds: int = knob("UPLOAD_CHECK_MAX_DELAY_SECONDS", 14400)  # checks back off to this
    upload_start_grace_seconds: int = knob("UPLOAD_START_GRACE_SECONDS", 3600)  # no assembly by then: never began
    upload_deadline_seconds: int = knob("UPLOAD_DEADLINE_SECONDS", 86400)  # still running by then: failed
    upload_idle_minutes: float = knob("UPLOAD_IDLE_MINUTES", 15.0)  # no upload progress for this long: failed
    status_coalesce: bool = knob("STATUS_COALESCE", True)  # concurrent status calls share one Firestore read


class TwelveLabsSettings(_Record):
    """Twelve Labs: the API, the index and its webhook, how long indexing may take, and the video intelligence
    budget (analyses per day, how long one may take)."""

    api_key: str = knob("TWELVELABS_API_KEY", secret=True)
    base_url: str = knob("TWELVELABS_BASE_URL", "https://api.twelvelabs.io/v1.3", url=True)
    index_name: str = knob("TWELVELABS_INDEX_NAME", "mam-library")
    webhook_secret: str = knob("TWELVELABS_WEBHOOK_SECRET", "", secret=True)
    index_deadline_seconds: int = knob("INDEX_DEADLINE_SECONDS", 7200)
    # video intelligence (mam.insights): summaries, chapters, tags and transcripts, generated once per video
    insights_daily_limit: int = knob("INSIGHTS_DAILY_LIMIT", 200)  # videos analysed per UTC day; then they wait
    insights_deadline_seconds: int = knob("INSIGHTS_DEADLINE_SECONDS", 7200)  # then Failed with a sentence


class Tuning(_Record):
    """How the iconik run state machine paces itself: optional knobs, documented in the template's comments."""

    step_seconds: float = knob("ICONIK_STEP_SECONDS", 25.0)  # work budget of one task invocation (timeout 120 s)
    lease_seconds: float = knob("ICONIK_LEASE_SECONDS", 110.0)  # a crashed invocation's claim on a run expires
    concurrency: int = knob("ICONIK_CONCURRENCY", 8)  # parallel iconik calls inside one invocation
    page_size: int = knob("ICONIK_PAGE_SIZE", 40)  # assets verified/deleted per batch
    http_timeout: float = knob("ICONIK_HTTP_TIMEOUT", 10.0)  # read timeout of one iconik request
    http_attempts: int = knob("ICONIK_HTTP_ATTEMPTS", 6)  # tries per iconik request (429/5xx/network)
    max_retry_after: float = knob("ICONIK_MAX_RETRY_AFTER", 60.0)  # longest Retry-After waited inside an invocation
    job_deadline_seconds: float = knob("ICONIK_JOB_DEADLINE_SECONDS", 21600.0)  # then verify the copies anyway
    job_poll_min_seconds: float = knob("ICONIK_JOB_POLL_MIN_SECONDS", 2.0)
    job_poll_max_seconds: float = knob("ICONIK_JOB_POLL_MAX_SECONDS", 60.0)
    step_retries: int = knob("ICONIK_STEP_RETRIES", 8)  # failed steps (iconik down) retried this often, with backoff
    step_retry_base_seconds: float = knob("ICONIK_STEP_RETRY_BASE_SECONDS", 5.0)  # ... doubling, capped at 300 s
    max_ids: int = knob("ICONIK_MAX_IDS", 10000)  # asset_ids + collection_ids accepted in one custom action call
    max_collections: int = knob("ICONIK_MAX_COLLECTIONS", 10000)  # collections walked in one run
    contents_per_page: int = knob("ICONIK_CONTENTS_PER_PAGE", 1000)  # collection contents page (iconik's maximum)
    bulk_chunk: int = knob("ICONIK_BULK_CHUNK", 1000)  # object_ids per bulk copy request
    overlap: bool = knob("ICONIK_OVERLAP", True)  # verify/remove assets whose copy landed while the jobs still run
    warning_is_success: bool = knob("ICONIK_WARNING_IS_SUCCESS", True)  # FINISHED_WITH_WARNING counts as copied
    sync_deadline_seconds: float = knob("ICONIK_SYNC_DEADLINE_SECONDS", 6.0)  # fits iconik's ~10 s reply limit


class IconikSettings(_Record):
    """The iconik plugin: the API, our app, the custom actions' shared secret, and the run tuning."""

    url: str = knob("ICONIK_URL", "https://app.iconik.io", url=True)
    app_id: str = knob("ICONIK_APP_ID")
    shared_secret: str = knob("BZ_SHARED_SECRET", secret=True)
    format_names: tuple[str, ...] = knob("FORMAT_NAMES", ("ORIGINAL", "PPRO_PROXY"))
    rate_limit: int = knob("ICONIK_RATE_LIMIT", 45)  # our client-side cap, requests per second (iconik allows 50)
    tuning: Tuning = part(Tuning)


class DeploySettings(_Record):
    """Knobs only the deploy tools read (scripts/publish_frontend.py, deploy.sh), never a function."""

    firebase_api_key: str = knob("FIREBASE_API_KEY", "")  # public by design: it goes into config.json
    firebase_auth_domain: str = knob("FIREBASE_AUTH_DOMAIN", "")  # empty: <project>.firebaseapp.com
    bunny_pull_zone_id: str = knob("BUNNY_PULL_ZONE_ID", "")
    bunny_api_key: str = knob("BUNNY_API_KEY", "", secret=True)


# Group name -> its record, in the order problems are reported.
RECORDS: dict[str, type] = {"core": CoreSettings, "http": HttpSettings, "b2": B2Settings,
                            "transloadit": TransloaditSettings, "twelvelabs": TwelveLabsSettings,
                            "iconik": IconikSettings, "deploy": DeploySettings}
GROUPS = frozenset(RECORDS)


class Settings:
    """The groups one process loaded, read as `settings.b2.bucket`; a group that was not loaded raises
    `GroupNotLoaded` naming it, instead of quietly reading a default."""

    __slots__ = ("_groups",)
    _groups: dict[str, Any]

    def __init__(self, *, core: CoreSettings | None = None, http: HttpSettings | None = None,
                 b2: B2Settings | None = None, transloadit: TransloaditSettings | None = None,
                 twelvelabs: TwelveLabsSettings | None = None, iconik: IconikSettings | None = None,
                 deploy: DeploySettings | None = None) -> None:
        given = {"core": core, "http": http, "b2": b2, "transloadit": transloadit, "twelvelabs": twelvelabs,
                 "iconik": iconik, "deploy": deploy}
        object.__setattr__(self, "_groups", {name: record for name, record in given.items() if record is not None})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Settings are read-only")

    @property
    def loaded(self) -> tuple[str, ...]:
        """Names of the groups this object holds."""
        return tuple(self._groups)

    def _group(self, name: str) -> Any:
        record = self._groups.get(name)
        if record is None:
            raise GroupNotLoaded(name, self.loaded)
        return record

    @property
    def core(self) -> CoreSettings:
        """Group `core` (always loaded by `load_settings` / `settings`)."""
        return self._group("core")

    @property
    def http(self) -> HttpSettings:
        """Group `http`."""
        return self._group("http")

    @property
    def b2(self) -> B2Settings:
        """Group `b2`."""
        return self._group("b2")

    @property
    def transloadit(self) -> TransloaditSettings:
        """Group `transloadit`."""
        return self._group("transloadit")

    @property
    def twelvelabs(self) -> TwelveLabsSettings:
        """Group `twelvelabs`."""
        return self._group("twelvelabs")

    @property
    def iconik(self) -> IconikSettings:
        """Group `iconik`."""
        return self._group("iconik")

    @property
    def deploy(self) -> DeploySettings:
        """Group `deploy` (deploy tools only)."""
        return self._group("deploy")

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{name}={record!r}" for name, record in self._groups.items()) + ")"


# ---- reading and validating ---------------------------------------------------------------------------------
def _parse(name: str, kind: str, raw: str, url: bool, secret: bool) -> tuple[Any, str | None]:
    """Parse one raw value by its field's type; return (value, problem-or-None). Problems never quote secrets."""
    got = "" if secret else f", got {raw!r}"
    if kind == "int":
        try:
            value: Any = int(raw)
        except ValueError:
            return None, f"{name} must be an integer"
    elif kind == "float":
        try:
            value = float(raw)
        except ValueError:
            return None, f"{name} must be a number{got}"
    elif kind == "bool":
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True, None
        if low in ("0", "false", "no", "off"):
            return False, None
        return None, f"{name} must be true or false{got}"
    elif kind == "tuple[str, ...]":
        return tuple(p.strip() for p in raw.split(",") if p.strip()), None
    elif kind == "str":
        if url:
            parsed = urlparse(raw)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                return None, f"{name} must be an http(s) URL{got}"
            return raw.rstrip("/"), None
        return raw, None
    else:  # a field type this module cannot read: a programming error in the declarations above
        raise TypeError(f"{name}: no parser for fields of type {kind}")
    if value < 0:
        return None, f"{name} must not be negative"
    return value, None


def _secret_manager_fetch(resource: str) -> str:
    """Read one secret version (e.g. projects/p/secrets/s/versions/latest) from Secret Manager."""
    from google.cloud import secretmanager  # lazy: only a deployment without --set-secrets pays for it

    client = secretmanager.SecretManagerServiceClient()
    return client.access_secret_version(name=resource).payload.data.decode("utf-8")


def _read(record: type, group: str, env: Mapping[str, str], fetch_secret: Callable[[str], str],
          problems: list[str]) -> Any:
    """One record from `env`, or None after adding its problems to `problems`."""
    before = len(problems)
    values: dict[str, Any] = {}
    for field, decl in _declared(record):
        if isinstance(decl, Part):  # IconikSettings.tuning: its knobs belong to the same group
            values[field] = _read(decl.record, group, env, fetch_secret, problems)
            continue
        name = decl.env
        raw = env.get(name, "").strip()
        if not raw and decl.secret and env.get(name + "_SECRET_ID"):
            try:
                raw = fetch_secret(env[name + "_SECRET_ID"]).strip()
            except Exception as exc:  # the operator needs the name of the secret, never its value
                problems.append(f"{name}: cannot read secret {env[name + '_SECRET_ID']} ({type(exc).__name__})")
                continue
        if not raw:
            if decl.required:
                problems.append(f"{name} is required ({group}) but not set")
            continue  # the declared default
        value, problem = _parse(name, record.__annotations__[field], raw, decl.url, decl.secret)
        if problem:
            problems.append(problem)
        else:
            values[field] = value
    return record(**values) if len(problems) == before else None


def _load_groups(groups: tuple[str, ...], env: Mapping[str, str],
                 fetch_secret: Callable[[str], str]) -> dict[str, Any]:
    """The records of `groups` (in declaration order); ConfigError naming every problem of all of them."""
    unknown = set(groups) - GROUPS
    if unknown:
        raise ValueError(f"unknown settings groups: {sorted(unknown)}")
    problems: list[str] = []
    if "core" in groups:  # every function loads core at import: the start-up guard runs there
        from mam import runtime

        problems += runtime.deployment_problems(env)
    records = {g: _read(RECORDS[g], g, env, fetch_secret, problems) for g in RECORDS if g in groups}
    if problems:
        raise ConfigError(problems)
    return records


def load_settings(*groups: str, environ: Mapping[str, str] | None = None,
                  fetch_secret: Callable[[str], str] = _secret_manager_fetch) -> Settings:
    """Read and validate `core` plus `groups` from `environ` (default: the process environment), uncached;
    raise ConfigError naming every problem.

    A secret comes from its environment variable (what `--set-secrets` provides) or, failing that, from the
    Secret Manager resource named in `<NAME>_SECRET_ID`.
    """
    env = os.environ if environ is None else environ
    return Settings(**_load_groups(("core", *groups), env, fetch_secret))


# ---- the process's settings (cached) ------------------------------------------------------------------------
_lock = threading.Lock()
_loaded: dict[str, Any] = {}  # group -> its record, read once per process
_views: dict[tuple[str, ...], Settings] = {}


def settings(*groups: str) -> Settings:
    """The process's settings of `core` plus `groups`, read from the environment on first use and then cached.

    Entry points call it at import (start-up fails there, naming every bad setting); library code may call
    `settings("core")` for what every function has. Loading `core` also sets the log threshold (LOG_LEVEL).
    """
    key = tuple(sorted(set(groups)))
    view = _views.get(key)
    if view is not None:
        return view
    with _lock:
        missing = tuple(g for g in ("core", *key) if g not in _loaded)
        if missing:
            _loaded.update(_load_groups(missing, os.environ, _secret_manager_fetch))
            if "core" in missing:
                from mam import log  # lazy: deploy tools import this module for its declarations alone

                log.set_level(_loaded["core"].log_level)
        view = _views[key] = Settings(**{g: _loaded[g] for g in ("core", *key)})
    return view


def reset_cache() -> None:
    """Forget the process's settings (tests change the environment between cases)."""
    from mam import log

    with _lock:
        _loaded.clear()
        _views.clear()
    log.set_level("INFO")


# ---- the declarations, for tools and tests ------------------------------------------------------------------
class Declared:
    """One knob as tools see it: its variable, group, where code reads it (`b2.bucket`) and its declaration."""

    __slots__ = ("env", "group", "kind", "knob", "path", "tuning")

    def __init__(self, group: str, path: str, kind: str, tuning: bool, decl: Knob) -> None:
        self.env, self.group, self.path, self.kind, self.tuning, self.knob = decl.env, group, path, kind, tuning, decl

    @property
    def required(self) -> bool:
        """No default: the group cannot load without it."""
        return self.knob.required

    @property
    def secret(self) -> bool:
        """A secret (Secret Manager, `--set-secrets`; never in .env.yaml)."""
        return self.knob.secret

    @property
    def runtime(self) -> bool:
        """Set by the (local) runtime, not by deploy.sh: not in the template (MAM_LOCAL)."""
        return self.knob.runtime

    @property
    def default(self) -> Any:
        """The typed default, None if required."""
        return None if self.knob.required else self.knob.default

    def __repr__(self) -> str:
        return f"Declared({self.env} -> {self.path})"


def _declared_in(record: type, group: str, prefix: str, tuning: bool) -> list[Declared]:
    out: list[Declared] = []
    for field, decl in _declared(record):
        if isinstance(decl, Part):
            out += _declared_in(decl.record, group, f"{prefix}{field}.", True)
        else:
            out.append(Declared(group, prefix + field, record.__annotations__[field], tuning, decl))
    return out


def knobs() -> tuple[Declared, ...]:
    """Every declared knob, group by group (deploy_state.py, the template check, publish_frontend.py); those of a
    sub-record (`iconik.tuning.*`) are the optional tuning the template documents in comments."""
    return tuple(k for group, record in RECORDS.items() for k in _declared_in(record, group, f"{group}.", False))


def read_knob(env_name: str, environ: Mapping[str, str]) -> Any:
    """One declared non-secret knob from `environ`, or its default; ConfigError if malformed or required and unset.

    For a tool that needs a knob of a group it cannot load whole (publish_frontend.py: the front end's upload
    limit, without TransloadIt's secret)."""
    knob_ = next((k for k in knobs() if k.env == env_name and not k.secret), None)
    if knob_ is None:
        raise ValueError(f"{env_name} is not a declared non-secret setting")
    raw = str(environ.get(env_name) or "").strip()
    if not raw:
        if knob_.required:
            raise ConfigError([f"{env_name} is required ({knob_.group}) but not set"])
        return knob_.default
    value, problem = _parse(env_name, knob_.kind, raw, knob_.knob.url, False)
    if problem:
        raise ConfigError([problem])
    return value

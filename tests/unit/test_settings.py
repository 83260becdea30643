"""Settings: one error naming every problem; secrets from env or Secret Manager; never shown; typed groups that
must be loaded to be read; the template documents exactly what is declared."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from localdev.stack import RUNTIME_KEYS, template_secrets, template_settings, template_tuning
from mam.settings import (
    GROUPS,
    ConfigError,
    GroupNotLoaded,
    _parse,
    knobs,
    load_settings,
    reset_cache,
    settings,
)

ROOT = Path(__file__).resolve().parents[2]

BASE = {"GCP_PROJECT": "p"}


def test_every_problem_is_named_in_one_error():
    env = {**BASE, "UPLOAD_MAX_BYTES": "lots", "TRANSLOADIT_SERVICE_URL": "ftp://x", "MAM_LOCAL": "maybe"}
    with pytest.raises(ConfigError) as err:
        load_settings("transloadit", environ=env)
    problems = err.value.problems
    assert "TRANSLOADIT_AUTH_KEY is required (transloadit) but not set" in problems
    assert "TRANSLOADIT_AUTH_SECRET is required (transloadit) but not set" in problems
    assert "UPLOAD_MAX_BYTES must be an integer" in problems
    assert any(p.startswith("TRANSLOADIT_SERVICE_URL must be an http(s) URL") for p in problems)
    assert any(p.startswith("MAM_LOCAL must be true or false") for p in problems)
    assert len(problems) == 5


def test_missing_project_is_reported_even_without_groups():
    with pytest.raises(ConfigError) as err:
        load_settings(environ={})
    assert err.value.problems == ["GCP_PROJECT is required (core) but not set"]


def test_defaults_types_and_lists():
    s = load_settings("iconik", "http", environ={**BASE, "ICONIK_APP_ID": "app", "BZ_SHARED_SECRET": "x",
                                                 "FRONTEND_ORIGIN": "https://a.example, https://b.example",
                                                 "FORMAT_NAMES": " ORIGINAL , PPRO_PROXY,", "ICONIK_URL": "https://i.example/"})
    assert s.http.frontend_origin == ("https://a.example", "https://b.example")
    assert s.iconik.format_names == ("ORIGINAL", "PPRO_PROXY")
    assert s.iconik.url == "https://i.example" and s.iconik.rate_limit == 45 and s.http.public_read is True


def test_secret_from_secret_manager_reference_and_repr_hides_it():
    fetched = []

    def fetch(resource: str) -> str:
        fetched.append(resource)
        return "very-secret-value\n"

    env = {**BASE, "ICONIK_APP_ID": "app", "BZ_SHARED_SECRET_SECRET_ID": "projects/p/secrets/bz/versions/3"}
    s = load_settings("iconik", environ=env, fetch_secret=fetch)
    assert s.iconik.shared_secret == "very-secret-value" and fetched == ["projects/p/secrets/bz/versions/3"]
    assert "very-secret-value" not in repr(s) and "[set]" in repr(s)


def test_unreadable_secret_names_the_secret_not_a_value():
    def fetch(resource: str) -> str:
        raise PermissionError("denied")

    env = {**BASE, "ICONIK_APP_ID": "app", "BZ_SHARED_SECRET_SECRET_ID": "projects/p/secrets/bz/versions/1"}
    with pytest.raises(ConfigError) as err:
        load_settings("iconik", environ=env, fetch_secret=fetch)
    assert err.value.problems == ["BZ_SHARED_SECRET: cannot read secret projects/p/secrets/bz/versions/1 (PermissionError)"]


def test_unknown_group_is_a_programming_error():
    with pytest.raises(ValueError):
        load_settings("nope", environ=BASE)


# ---- typed groups -------------------------------------------------------------------------------------------------
B2 = {"B2_ENDPOINT": "https://s3.example.com/", "B2_REGION": "r", "B2_BUCKET": "b", "B2_KEY_ID": "k",
      "B2_APPLICATION_KEY": "very-secret-key"}


def test_a_group_that_was_not_loaded_cannot_be_read():
    s = load_settings("b2", environ={**BASE, **B2})
    assert s.loaded == ("core", "b2") and s.b2.bucket == "b" and s.b2.endpoint == "https://s3.example.com"
    with pytest.raises(GroupNotLoaded, match=r"'transloadit' was not loaded \(loaded: core, b2\).*load_settings"):
        s.transloadit  # noqa: B018 - the read is the test
    with pytest.raises(AttributeError):
        s.b2.bucket = "other"  # type: ignore[misc]
    assert "very-secret-key" not in repr(s) and "bucket='b'" in repr(s)


def test_iconik_tuning_is_part_of_its_group_and_validated_with_it():
    env = {**BASE, "ICONIK_APP_ID": "app", "BZ_SHARED_SECRET": "x", "ICONIK_STEP_SECONDS": "2.5",
           "ICONIK_OVERLAP": "false"}
    tuning = load_settings("iconik", environ=env).iconik.tuning
    assert tuning.step_seconds == 2.5 and tuning.overlap is False and tuning.page_size == 40
    with pytest.raises(ConfigError) as err:
        load_settings("iconik", environ={**env, "ICONIK_APP_ID": "", "ICONIK_PAGE_SIZE": "many",
                                         "ICONIK_OVERLAP": "?"})
    assert err.value.problems == ["ICONIK_APP_ID is required (iconik) but not set",
                                  "ICONIK_PAGE_SIZE must be an integer", "ICONIK_OVERLAP must be true or false, got '?'"]


def test_malformed_secrets_are_never_quoted():
    assert _parse("X_SECRET", "bool", "hunter2", url=False, secret=True) == (None, "X_SECRET must be true or false")


def test_the_process_settings_are_read_once_and_set_the_log_level(monkeypatch, capsys):
    from mam import log

    monkeypatch.setenv("GCP_PROJECT", "first")
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    reset_cache()
    core = settings()
    assert settings() is core and core.core.project == "first" and core.core.log_level == "ERROR"
    log.warning("below the threshold")
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("GCP_PROJECT", "second")
    monkeypatch.setenv("TWELVELABS_API_KEY", "k")
    both = settings("twelvelabs")
    assert both.core is core.core and both.twelvelabs.api_key == "k"  # core is shared, read once
    reset_cache()
    assert settings().core.project == "second"


# ---- the template documents exactly what is declared ---------------------------------------------------------------
def test_the_template_documents_every_declared_setting_and_nothing_else():
    documented, secrets, tuning = template_settings(), template_secrets(), template_tuning()
    missing = []
    for k in knobs():
        if k.runtime:  # given by the runtime, like the emulator hosts: never in .env.yaml
            where, ok = "localdev.stack.RUNTIME_KEYS only", k.env in RUNTIME_KEYS and k.env not in documented
        elif k.secret:
            where, ok = "a '# KEY ... SECRET' line", k.env in secrets and k.env not in documented
        elif k.tuning:
            where, ok = "the optional tuning comment block", k.env in tuning
        else:
            where, ok = "a 'KEY:' line", k.env in documented
        if not ok:
            missing.append(f"{k.env} ({k.path}) belongs in {where}")
    assert not missing, missing
    undeclared = (set(documented) | secrets | tuning) - {k.env for k in knobs()}
    assert not undeclared, f"documented in .env.yaml.template but not declared in mam.settings: {sorted(undeclared)}"


def test_the_template_states_the_declared_tuning_defaults():
    text = (ROOT / ".env.yaml.template").read_text()
    stated = dict(re.findall(r"\b(ICONIK_[A-Z_]+) ([^,\s]+)", "\n".join(
        line for line in text.splitlines() if line.startswith("# ICONIK_"))))
    for k in knobs():
        if k.tuning:
            value = stated[k.env]
            assert (value == "true") is k.default if k.kind == "bool" else float(value) == k.default, k.env


def test_the_template_examples_are_valid_settings():
    examples = {**template_settings(), **{name: "placeholder" for name in template_secrets()}}
    s = load_settings(*sorted(GROUPS), environ=examples)
    assert set(s.loaded) == GROUPS and s.iconik.tuning.step_seconds == 25.0

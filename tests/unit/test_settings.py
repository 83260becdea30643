"""Settings: one error naming every problem; secrets from env or Secret Manager; never shown."""
from __future__ import annotations

import pytest

from mam.settings import ConfigError, load_settings

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
    assert s.frontend_origin == ("https://a.example", "https://b.example")
    assert s.format_names == ("ORIGINAL", "PPRO_PROXY")
    assert s.iconik_url == "https://i.example" and s.iconik_rate_limit == 45 and s.public_read is True


def test_secret_from_secret_manager_reference_and_repr_hides_it():
    fetched = []

    def fetch(resource: str) -> str:
        fetched.append(resource)
        return "very-secret-value\n"

    env = {**BASE, "ICONIK_APP_ID": "app", "BZ_SHARED_SECRET_SECRET_ID": "projects/p/secrets/bz/versions/3"}
    s = load_settings("iconik", environ=env, fetch_secret=fetch)
    assert s.bz_shared_secret == "very-secret-value" and fetched == ["projects/p/secrets/bz/versions/3"]
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

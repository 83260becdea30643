"""Titles, URLs and matching of the six custom actions, and the script's argument handling."""
from __future__ import annotations

import importlib.util

import pytest
from conftest import ROOT
from mam.iconik.actions import action_url, formats_match, make_title


def load_script():
    spec = importlib.util.spec_from_file_location("iconik_actions_script", ROOT / "scripts" / "iconik_actions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("title,formats,want", [
    ("Add to LucidLink", None, "Add to LucidLink"),
    ("Remove from LucidLink", "", "Remove from LucidLink"),
    ("Add to LucidLink", "ORIGINAL", "Add original file(s) to LucidLink"),
    ("Remove from LucidLink", "ORIGINAL,PPRO_PROXY", "Remove original, Premiere Pro proxy file(s) from LucidLink"),
    ("Add to LucidLink", " ORIGINAL , EDIT_PROXY ", "Add original, edit proxy file(s) to LucidLink"),
    ("Add to LucidLink", "FOO", "Add FOO file(s) to LucidLink"),
    ("Remove from LucidLink", "FOO,ORIGINAL", "Remove FOO, original file(s) from LucidLink"),
])
def test_make_title(title, formats, want):
    assert make_title(title, formats) == want


def test_action_url_keeps_the_endpoint_path_and_normalises_formats():
    url = action_url("https://r-p.cloudfunctions.net/iconik_handler/", "/remove", "b", "l", " ORIGINAL , PPRO_PROXY")
    assert url == ("https://r-p.cloudfunctions.net/iconik_handler/remove?b2_storage_id=b&ll_storage_id=l"
                   "&formats=ORIGINAL%2CPPRO_PROXY")
    assert action_url("http://127.0.0.1:8084", "/add", "b", "l", None).endswith("/add?b2_storage_id=b&ll_storage_id=l")


@pytest.mark.parametrize("url,formats,want", [
    ("https://x/add?b2_storage_id=b&ll_storage_id=l", None, True),
    ("https://x/add?b2_storage_id=b&ll_storage_id=l&formats=ORIGINAL", None, False),
    ("https://x/add?formats=ORIGINAL%2CPPRO_PROXY", "ORIGINAL, PPRO_PROXY", True),
    ("https://x/add?formats=ORIGINAL", "ORIGINAL,PPRO_PROXY", False),
    ("https://x/add", "ORIGINAL", False),
])
def test_formats_match(url, formats, want):
    assert formats_match(url, formats) is want


@pytest.mark.parametrize("argv", [[], ["create"], ["create", "https://x"], ["create", "https://x", "b"],
                                  ["delete"], ["frobnicate", "x"]])
def test_missing_arguments_exit(argv, capsys):
    with pytest.raises(SystemExit):
        load_script().parse_args(argv)


@pytest.mark.parametrize("env", [{}, {"ICONIK_APP_ID": "a"}, {"ICONIK_TOKEN": "t"}])
def test_missing_credentials_exit(monkeypatch, env):
    for k in ("ICONIK_APP_ID", "ICONIK_ID", "ICONIK_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SystemExit, match="ICONIK_"):
        load_script().main(["list"])

"""Fixtures of the integration tier shared by several modules: the iconik stand-in with our two iconik functions."""
from __future__ import annotations

import pytest

from standins.iconik import FAST, retune, serve_iconik_functions


@pytest.fixture(scope="module")
def iconik(firestore, cloud_tasks, s3, start_standin, stack_env):
    """The iconik stand-in and iconik_handler/iconik_tasks under functions-framework."""
    with serve_iconik_functions(start_standin("iconik"), s3) as stack:
        yield stack


@pytest.fixture
def ik(iconik, clean_firestore, monkeypatch):
    """`iconik` with the stand-in's storage wiped and fast run tuning."""
    iconik.admin.reset(wipe_storage=True)
    retune(monkeypatch, **FAST)
    return iconik

"""Contract tests drive each stand-in configured by its own arguments only.

The session's `stack_env` fixture leaves the local stack's settings in this process's environment once any test
has used it. Stand-ins and SDKs read some of them (ICONIK_APP_ID, TWELVELABS_BASE_URL, B2_ENDPOINT, ...), so a
contract module run after such a test would test the stack's configuration instead of the one it wrote down.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


_INTERPRETER = {"PYTHONPATH", "PYTHONUNBUFFERED", "NO_UPDATE_NOTIFIER"}  # how processes run, not what they talk to


@pytest.fixture(scope="module", autouse=True)
def _without_stack_settings(stack) -> Iterator[None]:
    """Hide the stack's settings from this module (restored afterwards); a test that needs one sets it itself."""
    hidden = {k: os.environ.pop(k) for k in list(stack.env()) if k in os.environ and k not in _INTERPRETER}
    yield
    os.environ.update(hidden)

"""The fuzz tier: the whole local stack (emulators, stand-ins, every function) and a tally of what was sent.

Bounded by counts, never by time: each schemathesis operation gets a fixed number of examples (FUZZ_EXAMPLES) from a
fixed seed, and the hostile corpus is a fixed list. The tally is printed at the end of the pytest run.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fuzz.tally import TALLIES, Tally, summary
from mam import manifest


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the fuzz counts (operations, requests, failures, 5xx) after the run."""
    summary(terminalreporter)


@pytest.fixture(scope="session")
def fuzz_stack(emulators, start_standin, start_function, stack) -> Iterator[dict[str, str]]:
    """Every stand-in and every function of the manifest running; returns the functions' base URLs by name."""
    for name in ("transloadit", "twelvelabs", "iconik"):
        start_standin(name)
    yield {f.name: start_function(f.name) for f in manifest.functions()}


@pytest.fixture
def tally() -> Iterator[list[Tally]]:
    """Register tallies made by a test (kept for the summary)."""
    made: list[Tally] = []
    yield made
    TALLIES.extend(made)

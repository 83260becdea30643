"""Counts of the fuzz run (what was sent, what failed), printed at the end of the pytest run by tests/fuzz/conftest."""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))  # per operation and phase (the coverage phase adds its own)
SEED = int(os.environ.get("FUZZ_SEED", "20261207"))


@dataclass
class Tally:
    """What one part of the fuzz run sent and found."""

    name: str
    operations: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    server_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


TALLIES: list[Tally] = []


def summary(terminalreporter) -> None:
    """Print the fuzz counts (operations, requests, failures, 5xx) after the run."""
    if not TALLIES:
        return
    tr = terminalreporter
    tr.section("fuzz (issue 12)")
    for t in TALLIES:
        tr.write_line(f"{t.name:<34} operations {t.operations:>3}  requests {t.requests:>5}  "
                      f"failures {len(t.failures):>3}  5xx {t.server_errors:>3}  "
                      + " ".join(f"{code}:{n}" for code, n in sorted(t.statuses.items())))
        for failure in t.failures[:20]:
            tr.write_line(f"    {failure}")
    tr.write_line(f"{'total':<34} operations {sum(t.operations for t in TALLIES):>3}  "
                  f"requests {sum(t.requests for t in TALLIES):>5}  "
                  f"failures {sum(len(t.failures) for t in TALLIES):>3}  5xx {sum(t.server_errors for t in TALLIES):>3}")

"""Start one function of the manifest with exactly the environment it gets when deployed (used by the Procfile).

`python -m localdev.launch NAME` replaces itself with functions-framework serving NAME; the process sees the
template's settings, only the secrets the manifest grants NAME, and the local stand-ins of Google's runtime.
"""
from __future__ import annotations

import os
import sys

from localdev.stack import Stack


def main(argv: list[str]) -> None:
    """Exec functions-framework for the function named in argv[0] (ports moved by MAM_PORT_OFFSET)."""
    stack = Stack(offset=int(os.environ.get("MAM_PORT_OFFSET", "0")))
    service = stack.function(argv[0])
    os.chdir(service.cwd)
    os.execve(service.command[0], service.command, service.env)


if __name__ == "__main__":
    main(sys.argv[1:])

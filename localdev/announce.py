"""Wait until every service of the local stack answers, print the URL table, then idle (honcho keeps it)."""
from __future__ import annotations

import os
import time

from localdev.processes import wait_ready
from localdev.stack import Stack


def main() -> None:
    stack = Stack(offset=int(os.environ.get("MAM_PORT_OFFSET", "0")))
    for service in stack.standins() + stack.functions() + [stack.frontend()]:
        wait_ready(service)
    print((stack.state_dir / "table.txt").read_text(), flush=True)
    while True:  # honcho stops every process when one exits, so this one stays
        time.sleep(3600)


if __name__ == "__main__":
    main()

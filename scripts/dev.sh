#!/usr/bin/env bash
# Run the whole system locally, offline: installs what is missing, then starts every emulator, stand-in,
# function and the front end. Ctrl-C stops everything. MAM_PORT_OFFSET=N moves every port by N.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec env PYTHONPATH="$PWD/functions:$PWD" .venv/bin/python -m localdev.run

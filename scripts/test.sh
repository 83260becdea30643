#!/usr/bin/env bash
# Run every test (unit, contract, integration, deploy, browser end-to-end); installs what is missing first.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -k settings
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f frontend/package.json ]; then (cd frontend && npm run build --silent); fi
export PYTHONPATH="$PWD/functions:$PWD"
exec .venv/bin/python -m pytest "$@"

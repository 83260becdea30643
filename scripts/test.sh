#!/usr/bin/env bash
# Run every test (unit, contract, integration, deploy, browser end-to-end), then the fuzz stage (tests/fuzz:
# schemathesis over api/openapi.yaml and the hostile-input corpus, bounded by example counts, on a stack of its own);
# installs what is missing first. Extra arguments go to one pytest run instead, e.g. scripts/test.sh tests/unit -k
# settings, or scripts/test.sh tests/fuzz (FUZZ_EXAMPLES=n per operation, FUZZ_SEED=n).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f frontend/package.json ]; then (cd frontend && npm run build --silent); fi
export PYTHONPATH="$PWD/functions:$PWD"
if [ $# -gt 0 ]; then exec .venv/bin/python -m pytest "$@"; fi
status=0
.venv/bin/python -m pytest --ignore=tests/fuzz || status=$?
# Its own session: the fuzz signs in as the admin demo user and queues real work (uploads, index tasks, resets).
.venv/bin/python -m pytest tests/fuzz || status=$?
exit $status

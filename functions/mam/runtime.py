"""What the runtime wires into a process besides its settings: local emulator hosts and per-function URLs.

These are not settings: `.env.yaml.template` does not document them and deploy.sh never sets them. On Cloud Run
they are absent (the client libraries use the function's service account, functions answer at
FUNCTIONS_BASE_URL/<name>); locally `localdev.stack.Stack.runtime_env` sets them. This is the one module of `mam`
that reads them; FIREBASE_AUTH_EMULATOR_HOST is read by firebase-admin itself, and FIRESTORE_EMULATOR_HOST also by
google-cloud-firestore.
"""
from __future__ import annotations

import os


def firestore_emulator() -> str | None:
    """host:port of the local Firestore emulator (FIRESTORE_EMULATOR_HOST), None in the cloud."""
    return os.environ.get("FIRESTORE_EMULATOR_HOST") or None


def tasks_emulator() -> str | None:
    """host:port of the local Cloud Tasks emulator (CLOUD_TASKS_EMULATOR_HOST), None in the cloud."""
    return os.environ.get("CLOUD_TASKS_EMULATOR_HOST") or None


def function_url_override(name: str) -> str | None:
    """FUNCTION_URL_<NAME>: where function `name` answers locally (each local function has its own port)."""
    return os.environ.get(f"FUNCTION_URL_{name.upper()}") or None

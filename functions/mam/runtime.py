"""What the runtime wires into a process besides its settings: local emulator hosts and per-function URLs.

These are not settings: `.env.yaml.template` does not document them and deploy.sh never sets them. On Cloud Run
they are absent (the client libraries use the function's service account, functions answer at
FUNCTIONS_BASE_URL/<name>); locally `localdev.stack.Stack.runtime_env` sets them. This is the one module of `mam`
that reads them; FIREBASE_AUTH_EMULATOR_HOST is read by firebase-admin itself, and FIRESTORE_EMULATOR_HOST also by
google-cloud-firestore.
"""
from __future__ import annotations

import os
from collections.abc import Mapping


def firestore_emulator() -> str | None:
    """host:port of the local Firestore emulator (FIRESTORE_EMULATOR_HOST), None in the cloud."""
    return os.environ.get("FIRESTORE_EMULATOR_HOST") or None


def tasks_emulator() -> str | None:
    """host:port of the local Cloud Tasks emulator (CLOUD_TASKS_EMULATOR_HOST), None in the cloud."""
    return os.environ.get("CLOUD_TASKS_EMULATOR_HOST") or None


def function_url_override(name: str) -> str | None:
    """FUNCTION_URL_<NAME>: where function `name` answers locally (each local function has its own port)."""
    return os.environ.get(f"FUNCTION_URL_{name.upper()}") or None


# ---- start-up guard: no local wiring in a deployed function -------------------------------------------------------
# Cloud Run sets these in every deployed function (gen2 functions run on Cloud Run) and refuses a deployment that
# sets them itself; the local stack sets none of them. So no setting can turn the guard below off in the cloud.
CLOUD_RUN_MARKERS = ("K_SERVICE", "K_REVISION", "K_CONFIGURATION")


def on_cloud_run(environ: Mapping[str, str] | None = None) -> bool:
    """True in a deployed function (any Cloud Run marker variable is set)."""
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in CLOUD_RUN_MARKERS)


LOCAL_ONLY = ("MAM_LOCAL", "CLOUD_TASKS_OIDC_CERTS_URL")  # besides every *_EMULATOR_HOST and FUNCTION_URL_<NAME>


def local_wiring(environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of the local-stack variables set in `environ`: every *_EMULATOR_HOST (with FIREBASE_AUTH_EMULATOR_HOST
    firebase-admin accepts unsigned tokens), FUNCTION_URL_<NAME> and LOCAL_ONLY."""
    env = os.environ if environ is None else environ
    return sorted(k for k, v in env.items() if v and (k.endswith("_EMULATOR_HOST") or k in LOCAL_ONLY
                                                      or k.startswith("FUNCTION_URL_")))


def deployment_problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """Start-up problems of a deployed function run with local wiring (empty locally and when clean)."""
    if not on_cloud_run(environ):
        return []
    found = local_wiring(environ)
    if not found:
        return []
    return [(f"this deployed function (Cloud Run) has local-stack variables set: {', '.join(found)}. They point it "
             "at emulators (FIREBASE_AUTH_EMULATOR_HOST turns off sign-in token verification); remove them from the "
             "function's environment (.env.yaml / --set-env-vars / --update-env-vars) and deploy again")]


GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"  # Google's ID-token signing keys ({kid: PEM})


def tasks_oidc_certs_url() -> str:
    """Where the keys of Cloud Tasks' OIDC tokens are published: Google's certs, or locally the local Cloud Tasks'
    (CLOUD_TASKS_OIDC_CERTS_URL; `mam.task_auth` accepts only a loopback URL there)."""
    return os.environ.get("CLOUD_TASKS_OIDC_CERTS_URL") or GOOGLE_CERTS_URL

"""Cloud Tasks' OIDC tokens in tests: mint the token the local Cloud Tasks would send, with its own key.

A test that posts to a task route directly does what Cloud Tasks does: `headers(stack, url)` is
`Authorization: Bearer <ID token>` signed with the key the stack's local Cloud Tasks wrote at start
(`localdev/tasks/oidc.py`), for the service account of the stack's settings and the function URL `url`. `mint` takes
overrides to forge a token (another audience, email, issuer, times, key id). `Issuer` is a key of its own with its
certs on a loopback port, for unit tests that run without the stack.
"""
from __future__ import annotations

import time
from typing import Any, Self

from localdev.processes import free_port
from localdev.stack import Stack
from localdev.tasks.oidc import (
    CERTS_PATH,
    CertsServer,
    LocalKey,
    id_token_claims,
    key_path,
)


def stack_key(stack: Stack) -> LocalKey:
    """The signing key of the stack's local Cloud Tasks (it must be running: it writes the key at start)."""
    return LocalKey.load(key_path(stack.state_dir, stack.port("tasks")))


def service_account(stack: Stack) -> str:
    """TASKS_SERVICE_ACCOUNT of the stack's settings: the only email a task route accepts."""
    return stack.settings()["TASKS_SERVICE_ACCOUNT"]


def mint(key: LocalKey, audience: str, sa: str, /, *, header: dict[str, Any] | None = None,
         now: float | None = None, drop: tuple[str, ...] = (), **claims: Any) -> str:
    """An ID token of service account `sa` for `audience` as Cloud Tasks sends it, signed with `key`; `claims`
    replace claims (email=…, aud=…), `drop` removes some, `header` changes the JWT header (kid, alg)."""
    body = {**id_token_claims(sa, audience, time.time() if now is None else now), **claims}
    for name in drop:
        body.pop(name, None)
    return key.sign(body, header)


def headers(stack: Stack, url: str, **overrides: Any) -> dict[str, str]:
    """`Authorization: Bearer …` for a delivery to the function at base URL `url` (no path), from the stack's
    local Cloud Tasks key; `overrides` as in `mint`."""
    return {"Authorization": f"Bearer {mint(stack_key(stack), url.rstrip('/'), service_account(stack), **overrides)}"}


class Issuer:
    """A signing key of one's own and its certs served on loopback (Google's v1 format): a stand-in for Google's
    certs in unit tests. `hits` counts the certs requests."""

    def __init__(self) -> None:
        self.key = LocalKey.generate()
        self.server = CertsServer(self.key, "127.0.0.1", free_port()).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{CERTS_PATH}"

    @property
    def hits(self) -> int:
        return self.server.hits

    def mint(self, audience: str, sa: str, /, **overrides: Any) -> str:
        """A token of service account `sa` for `audience`, signed with this key (`overrides` as in `mint`)."""
        return mint(self.key, audience, sa, **overrides)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

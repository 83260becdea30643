"""Users of the local Firebase Auth emulator: create one (email verified or not, custom claims) and sign it in.

Uses the emulator's Identity Toolkit REST API; admin changes (emailVerified, customAttributes) carry the emulator's
`Bearer owner` credential, which only the emulator accepts. Never used against a real project.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from localdev.stack import PROJECT, Stack


def _post(url: str, body: dict[str, Any], owner: bool = False) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **({"Authorization": "Bearer owner"} if owner else {})}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


def _base(stack: Stack) -> str:
    return f"{stack.url('auth')}/identitytoolkit.googleapis.com/v1"


def sign_in(stack: Stack, email: str, password: str) -> dict[str, Any]:
    """signInWithPassword: {"localId", "idToken", ...}; raises urllib.error.HTTPError for a wrong password."""
    return _post(f"{_base(stack)}/accounts:signInWithPassword?key=local",
                 {"email": email, "password": password, "returnSecureToken": True})


def ensure_user(stack: Stack, email: str, password: str, *, verified: bool = True,
                claims: dict[str, Any] | None = None) -> str:
    """Create the user unless it exists, then set its email verification and custom claims; returns its uid."""
    try:
        uid = _post(f"{_base(stack)}/accounts:signUp?key=local",
                    {"email": email, "password": password, "returnSecureToken": True})["localId"]
    except urllib.error.HTTPError as exc:
        if b"EMAIL_EXISTS" not in exc.read():
            raise
        uid = sign_in(stack, email, password)["localId"]
    _post(f"{_base(stack)}/projects/{PROJECT}/accounts:update",
          {"localId": uid, "emailVerified": verified, "customAttributes": json.dumps(claims or {})}, owner=True)
    return uid


def token(stack: Stack, email: str, password: str, *, verified: bool = True,
          claims: dict[str, Any] | None = None) -> str:
    """A real emulator ID token of that user (created or updated as asked), with its current claims."""
    ensure_user(stack, email, password, verified=verified, claims=claims)
    return sign_in(stack, email, password)["idToken"]

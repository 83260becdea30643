"""Firebase ID token verification (Identity Platform in the cloud, the Auth emulator locally)."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import flask

from mam.http import ApiError
from mam.settings import Settings

_init_lock = threading.Lock()
_app = None


@dataclass(frozen=True)
class User:
    """The signed-in caller."""

    uid: str
    email: str
    admin: bool


def _firebase_app(project: str):
    global _app
    with _init_lock:
        if _app is None:
            import firebase_admin  # lazy: a heavy import only routes with sign-in pay for
            from firebase_admin import credentials

            class _NoCredential(credentials.Base):
                """ID-token verification needs only public keys, never a service-account credential."""

                def get_credential(self):  # pragma: no cover - never asked for by verify_id_token
                    return None

            _app = firebase_admin.initialize_app(_NoCredential(), {"projectId": project}, name="mam-auth")
    return _app


def _bearer(request: flask.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def verify_token(token: str, settings: Settings) -> User:
    """Verify a Firebase ID token for the configured project and return its user, or raise a 401 ApiError."""
    from firebase_admin import auth

    try:
        # Locally (FIREBASE_AUTH_EMULATOR_HOST) the emulator's tokens are unsigned, so firebase-admin skips the
        # signature; asking for revocation there also makes it look the user up, which rejects made-up users.
        claims = auth.verify_id_token(token, app=_firebase_app(settings.core.project),
                                      check_revoked=settings.core.local, clock_skew_seconds=5)
    except Exception as exc:
        raise ApiError(401, "invalid_token", f"sign-in token rejected ({type(exc).__name__})",
                       {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    email = str(claims.get("email", ""))
    return User(uid=str(claims["uid"]), email=email, admin=bool(email) and email.lower() in
                {e.lower() for e in settings.http.admin_emails})


def require_user(request: flask.Request, settings: Settings) -> User:
    """The signed-in caller of this request, or a 401 ApiError."""
    token = _bearer(request)
    if token is None:
        raise ApiError(401, "sign_in_required", "sign in first (missing Bearer token)",
                       {"WWW-Authenticate": "Bearer"})
    return verify_token(token, settings)


def optional_user(request: flask.Request, settings: Settings) -> User | None:
    """The caller if a valid token is present; None without a token; 401 for a bad token."""
    token = _bearer(request)
    return None if token is None else verify_token(token, settings)


def require_reader(request: flask.Request, settings: Settings) -> User | None:
    """Reading is public when PUBLIC_READ is on; otherwise a signed-in user is needed."""
    return optional_user(request, settings) if settings.http.public_read else require_user(request, settings)

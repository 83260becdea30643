"""Firebase ID token verification (Identity Platform in the cloud, the Auth emulator locally) and the role
checks of the public routes: reader, member, admin (the rules themselves are in mam/roles.py)."""
from __future__ import annotations

import threading

import flask

from mam import log
from mam.http import ApiError
from mam.roles import User, user_from_claims
from mam.settings import Settings

__all__ = ["User", "ensure_admin", "ensure_member", "optional_user", "require_admin", "require_member",
           "require_reader", "require_user", "verify_token"]

_init_lock = threading.Lock()
_app = None
# One message for every rejected token: naming the reason (UserNotFoundError vs RevokedIdTokenError) would tell a
# caller whether a user id exists. The reason goes to the log only.
INVALID_TOKEN = "Your sign-in has expired or is not valid; sign in again."
NOT_A_MEMBER = "Your account is not a member of this library yet; ask an admin for access."
VERIFY_EMAIL = "Verify your email address first (follow the link in the email we sent you), then sign in again."
ADMIN_ONLY = "Only an administrator of this library may do this; ask an admin."


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
    except Exception as exc:  # noqa: BLE001 - every rejection answers the same; the reason is for the log
        log.info("sign-in token rejected", reason=type(exc).__name__)
        raise ApiError(401, "invalid_token", INVALID_TOKEN,
                       {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    return user_from_claims(claims, settings.http)


def require_user(request: flask.Request, settings: Settings) -> User:
    """The signed-in caller of this request, or a 401 ApiError."""
    token = _bearer(request)
    if token is None:
        raise ApiError(401, "sign_in_required", "Sign in first to do this.", {"WWW-Authenticate": "Bearer"})
    return verify_token(token, settings)


def optional_user(request: flask.Request, settings: Settings) -> User | None:
    """The caller if a valid token is present; None without a token; 401 for a bad token."""
    token = _bearer(request)
    return None if token is None else verify_token(token, settings)


def _ensure(user: User, has_role: bool, code: str, message: str) -> User:
    """`user` if `has_role`; else a 403 that says what to do (verify the email first when that is what is missing)."""
    if not has_role:
        if user.unverified_role:
            raise ApiError(403, "email_not_verified", VERIFY_EMAIL)
        raise ApiError(403, code, message)
    return user


def ensure_member(user: User) -> User:
    """`user` if a member (or admin); else a 403 that says what to do."""
    return _ensure(user, user.member, "not_a_member", NOT_A_MEMBER)


def ensure_admin(user: User) -> User:
    """`user` if an admin; else a 403 that says what to do."""
    return _ensure(user, user.admin, "admin_required", ADMIN_ONLY)


def require_member(request: flask.Request, settings: Settings) -> User:
    """A signed-in member (or admin): 401 without a valid token, 403 for a signed-in stranger."""
    return ensure_member(require_user(request, settings))


def require_admin(request: flask.Request, settings: Settings) -> User:
    """A signed-in admin: 401 without a valid token, 403 for anyone else."""
    return ensure_admin(require_user(request, settings))


def require_reader(request: flask.Request, settings: Settings) -> User | None:
    """Reading is public when PUBLIC_READ is on (a token, if sent, must be valid); otherwise members only."""
    return optional_user(request, settings) if settings.http.public_read else require_member(request, settings)

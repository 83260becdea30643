"""Who may do what: the member/admin rules over a verified token's claims, and who may change a video.

Pure functions of the claims and the settings (no I/O), so every rule is unit-tested directly. A role granted by
email (ADMIN_EMAILS, MEMBER_EMAILS, MEMBER_DOMAINS) or by a Firebase custom claim (`admin: true`, `member: true`:
granted without a redeploy, effective at the user's next token refresh) counts only when the token says the email
is verified: anyone can self-register with someone else's address, unverified.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mam.settings import HttpSettings
from mam.videos import Video


@dataclass(frozen=True)
class User:
    """The signed-in caller and the roles the token grants (computed once, when the token is verified)."""

    uid: str
    email: str
    email_verified: bool
    admin: bool
    member: bool  # admins are members
    unverified_role: bool = False  # a role is granted to this email, but the email is not verified yet

    def as_json(self) -> dict[str, Any]:
        """GET /me: what the front end needs to show only what this user may do."""
        return {"uid": self.uid, "email": self.email, "email_verified": self.email_verified,
                "member": self.member, "admin": self.admin}


def _norm_domain(domain: str) -> str:
    return domain.strip().lower().lstrip("@")


def _email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower() if "@" in email else ""


def named_by_email(email: str, http: HttpSettings) -> tuple[bool, bool]:
    """(in ADMIN_EMAILS, member by MEMBER_EMAILS/MEMBER_DOMAINS) for `email`, ignoring verification."""
    low = email.strip().lower()
    if not low:
        return False, False
    admin = low in {e.lower() for e in http.admin_emails}
    member = low in {e.lower() for e in http.member_emails} or \
        (_email_domain(low) != "" and _email_domain(low) in {_norm_domain(d) for d in http.member_domains})
    return admin, member


def user_from_claims(claims: Mapping[str, Any], http: HttpSettings) -> User:
    """The caller's roles from verified token claims: admin by ADMIN_EMAILS or `admin: true`, member by the
    allow-lists, `member: true` or by being an admin — each only with `email_verified` true."""
    email = str(claims.get("email") or "")
    verified = claims.get("email_verified") is True
    by_list, member_by_list = named_by_email(email, http)
    claimed_admin, claimed_member = claims.get("admin") is True, claims.get("member") is True
    admin = verified and (by_list or claimed_admin)
    member = admin or (verified and (member_by_list or claimed_member))
    unverified_role = not verified and (by_list or member_by_list or claimed_admin or claimed_member)
    return User(uid=str(claims.get("uid") or claims.get("sub") or ""), email=email, email_verified=verified,
                admin=admin, member=member, unverified_role=unverified_role)


def owns(user: User, video: Video) -> bool:
    """The video was uploaded by this user: its recorded uid, or (records made before uids were recorded) its
    recorded email, when the caller's email is verified. Videos without an owner (discovered) are nobody's."""
    if video.owner_uid:
        return video.owner_uid == user.uid
    return bool(video.owner) and user.email_verified and "@" in video.owner and \
        video.owner.strip().lower() == user.email.strip().lower()


def may_change(user: User | None, video: Video) -> bool:
    """Delete or edit one video: an admin, or a member who owns it."""
    if user is None:
        return False
    return user.admin or (user.member and owns(user, video))

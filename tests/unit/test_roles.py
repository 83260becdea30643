"""The role rules (mam.roles) and the role checks (mam.auth) over token claims: who is a member, who is an admin,
who may change a video. Each role granted by email needs a verified email."""
from __future__ import annotations

import pytest
from mam.auth import ensure_admin, ensure_member
from mam.http import ApiError
from mam.roles import may_change, owns, user_from_claims
from mam.settings import HttpSettings
from mam.videos import Video

HTTP = HttpSettings(frontend_origin=("https://media.example.com",), admin_emails=("Ops@Example.com",),
                    member_emails=("editor@example.com",), member_domains=("@Studio.example",))


def user(email: str = "", verified: bool = True, uid: str = "u1", **claims):
    return user_from_claims({"uid": uid, "email": email, "email_verified": verified, **claims}, HTTP)


@pytest.mark.parametrize("email, verified, claims, member, admin", [
    ("ops@example.com", True, {}, True, True),              # ADMIN_EMAILS, case-insensitive; admins are members
    ("ops@example.com", False, {}, False, False),            # the defect: an unverified email made an admin
    ("editor@example.com", True, {}, True, False),          # MEMBER_EMAILS
    ("EDITOR@example.com", False, {}, False, False),        # ... only verified
    ("anyone@studio.example", True, {}, True, False),       # MEMBER_DOMAINS (a leading @ is ignored)
    ("anyone@sub.studio.example", True, {}, False, False),  # a domain is matched exactly, not its subdomains
    ("anyone@studio.example.evil", True, {}, False, False),
    ("stranger@example.org", True, {}, False, False),       # self-registered stranger
    ("claimed@example.org", True, {"admin": True}, True, True),    # custom claim admin: true
    ("claimed@example.org", False, {"admin": True}, False, False),  # ... only verified too
    ("claimed@example.org", True, {"admin": "true"}, False, False),  # only the boolean true counts
    ("claimed@example.org", True, {"member": True}, True, False),    # custom claim member: true
    ("claimed@example.org", False, {"member": True}, False, False),
    ("", True, {}, False, False),                           # no email at all (phone, anonymous)
])
def test_member_and_admin(email, verified, claims, member, admin):
    u = user(email, verified, **claims)
    assert (u.member, u.admin) == (member, admin)


def test_empty_allow_lists_leave_only_admins_as_members():
    bare = HttpSettings(frontend_origin=("https://x",), admin_emails=("ops@example.com",))
    assert user_from_claims({"uid": "a", "email": "ops@example.com", "email_verified": True}, bare).member
    assert not user_from_claims({"uid": "b", "email": "x@example.com", "email_verified": True}, bare).member


def test_the_checks_answer_403_with_a_next_step():
    with pytest.raises(ApiError) as err:
        ensure_member(user("stranger@example.org"))
    assert (err.value.status, err.value.code) == (403, "not_a_member")
    assert err.value.message == "Your account is not a member of this library yet; ask an admin for access."
    with pytest.raises(ApiError) as err:
        ensure_member(user("editor@example.com", verified=False))  # only the verification is missing: say so
    assert (err.value.status, err.value.code) == (403, "email_not_verified")
    with pytest.raises(ApiError) as err:
        ensure_admin(user("editor@example.com"))
    assert (err.value.status, err.value.code) == (403, "admin_required")
    with pytest.raises(ApiError) as err:
        ensure_admin(user("ops@example.com", verified=False))
    assert err.value.code == "email_not_verified"
    assert ensure_admin(user("ops@example.com")).admin


def test_owner_or_admin_may_change_a_video():
    mine = Video(id="v1", title="t", owner="editor@example.com", owner_uid="u1")
    theirs = Video(id="v2", title="t", owner="other@example.com", owner_uid="u2")
    discovered = Video(id="v3", title="t", owner="", owner_uid="")
    member, other_member = user("editor@example.com", uid="u1"), user("anyone@studio.example", uid="u2b")
    admin, stranger = user("ops@example.com", uid="adm"), user("stranger@example.org", uid="u2")
    assert may_change(member, mine) and not may_change(member, theirs) and not may_change(member, discovered)
    assert not may_change(other_member, mine)
    assert all(may_change(admin, v) for v in (mine, theirs, discovered))
    # a stranger owning a record (e.g. a member removed from the list) may no longer change it
    assert owns(stranger, theirs) and not may_change(stranger, theirs)
    assert not may_change(None, mine)


def test_records_made_before_uids_were_recorded_match_the_verified_email_only():
    legacy = Video(id="v", title="t", owner="Editor@example.com")
    assert may_change(user("editor@example.com", uid="anything"), legacy)
    assert not owns(user("editor@example.com", verified=False), legacy)
    uid_owner = Video(id="v", title="t", owner="editor@example.com", owner_uid="someone-else")
    assert not owns(user("editor@example.com", uid="u1"), uid_owner)  # the uid decides when it is recorded


def test_me_answer():
    assert user("editor@example.com").as_json() == {"uid": "u1", "email": "editor@example.com",
                                                    "email_verified": True, "member": True, "admin": False}

"""Who may do what, route by route and role by role, against the running functions (library, upload_status,
index_videos under functions-framework) with real ID tokens of the local Firebase Auth emulator.

Roles: anonymous, a signed-in stranger (self-registered, verified email, on no list), a member (MEMBER_EMAILS), the
owner of a video (a member who uploaded it), an admin (ADMIN_EMAILS), an admin whose email is not verified, and an
admin by the custom claim `admin: true`. README "Who may do what" is the table these tests check.
"""
from __future__ import annotations

import json
import urllib.request
import uuid

import pytest
import requests
from conftest import LOGS
from fixtures.library import LibraryFunction, new_index_name, store_video
from standins.twelvelabs import StandIn

from localdev import auth_users, processes
from localdev.processes import free_port
from localdev.stack import PROJECT

pytestmark = pytest.mark.timeout(300)

TAG = uuid.uuid4().hex[:6]  # users are per run: the emulator may be reused between runs
EMAILS = {
    "stranger": f"stranger-{TAG}@example.org",
    "member": f"member-{TAG}@example.com",
    "owner": f"owner-{TAG}@example.com",
    "admin": f"admin-{TAG}@example.com",
    "unverified_admin": f"unverified-{TAG}@example.com",
    "claim_admin": f"claimed-{TAG}@example.org",
}
SETTINGS = {
    "ADMIN_EMAILS": f"{EMAILS['admin']},{EMAILS['unverified_admin']}",
    "MEMBER_EMAILS": f"{EMAILS['member']},{EMAILS['owner']}",
    "MEMBER_DOMAINS": "",
}
ROLES = ["anonymous", *EMAILS]
ADMINS = {"admin", "claim_admin"}
MEMBERS = {"member", "owner", *ADMINS}


# ---- users and functions ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def users(stack, auth_emulator) -> dict[str, dict]:
    """role -> {"uid", "token"} (anonymous: no token)."""
    out: dict[str, dict] = {"anonymous": {"uid": None, "token": None}}
    for role, email in EMAILS.items():
        kw = {"verified": role != "unverified_admin", "claims": {"admin": True} if role == "claim_admin" else None}
        uid = auth_users.ensure_user(stack, email, "pass-word-1", **kw)
        out[role] = {"uid": uid, "token": auth_users.sign_in(stack, email, "pass-word-1")["idToken"]}
    return out


@pytest.fixture(scope="module")
def standin():
    with StandIn("--index-seconds", "0.5", "--no-understanding", log_path=str(LOGS / "test-twelvelabs-roles.log")) as s:
        yield s


@pytest.fixture(scope="module")
def library(emulators, stack, standin):
    with LibraryFunction(stack, standin, new_index_name("roles"), **SETTINGS) as f:
        yield f


@pytest.fixture(scope="module")
def private_library(emulators, stack, standin):
    """The library with PUBLIC_READ off: reading is for members only."""
    with LibraryFunction(stack, standin, new_index_name("roles-private"), PUBLIC_READ="false", **SETTINGS) as f:
        yield f


class Function:
    """A manifest function on a free port with the roles' settings (only its deployed environment otherwise)."""

    def __init__(self, stack, name: str):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        service = stack.function(name, port, overrides=SETTINGS)
        self._proc = processes.start(service, service.env, LOGS / f"test-roles-{name}.log")

    def post(self, path: str, token: str | None, body: dict) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(self.url + path, json=body, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def upload_status(emulators, stack):
    f = Function(stack, "upload_status")
    yield f
    f._proc.stop()


@pytest.fixture(scope="module")
def index_videos(emulators, stack):
    f = Function(stack, "index_videos")
    yield f
    f._proc.stop()


def _code(resp: requests.Response) -> str | None:
    if resp.status_code < 400:
        return None
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]["code"]


def _denied(role: str, needs: str) -> tuple[int, str] | None:
    """(status, code) a role gets on a route that needs `needs`, None if allowed: "member", "admin", or
    "member+admin" (a member route whose library-wide form is for admins: strangers hear they are no members)."""
    if role == "anonymous":
        return 401, "sign_in_required"
    if role == "unverified_admin":
        return 403, "email_not_verified"
    if needs != "admin" and role not in MEMBERS:
        return 403, "not_a_member"
    if needs != "member" and role not in ADMINS:
        return 403, "admin_required"
    return None


def _video(owner_uid: str = "", owner: str = "", **fields) -> str:
    return store_video("uploads/{id}/original.mp4", b"\0" * 64, owner=owner, owner_uid=owner_uid, **fields)


def _exists(vid: str) -> bool:
    from mam import store

    return store.get_video(vid) is not None


# ---- GET /me ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_me_tells_the_front_end_the_callers_roles(library, users, role):
    resp = library.get("/me", users[role]["token"])
    if role == "anonymous":
        assert resp.status_code == 401 and _code(resp) == "sign_in_required"
        return
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"uid": users[role]["uid"], "email": EMAILS[role],
                           "email_verified": role != "unverified_admin", "member": role in MEMBERS,
                           "admin": role in ADMINS, "public_read": True}


# ---- reading ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_reads_are_public_with_public_read_on(library, clean_firestore, users, role):
    vid = _video(owner_uid=users["owner"]["uid"], owner=EMAILS["owner"])
    token = users[role]["token"]
    listed = library.get("/videos", token)
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["videos"]
    # each video says whether the caller may delete it: its owner and admins only
    assert item["can_delete"] is (role in {"owner", *ADMINS})
    detail = library.get(f"/videos/{vid}", token)
    assert detail.status_code == 200 and detail.json()["can_delete"] is item["can_delete"]
    assert library.get("/search", token, params={"q": "anything"}).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_reads_are_for_members_with_public_read_off(private_library, clean_firestore, users, role):
    vid = _video(owner_uid=users["owner"]["uid"], owner=EMAILS["owner"])
    token = users[role]["token"]
    for resp in (private_library.get("/videos", token), private_library.get(f"/videos/{vid}", token),
                 private_library.get("/search", token, params={"q": "anything"})):
        denied = _denied(role, "member")
        if denied:
            assert (resp.status_code, _code(resp)) == denied
        else:
            assert resp.status_code == 200, resp.text


# ---- delete -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_delete_a_video_is_for_its_owner_or_an_admin(library, clean_firestore, users, role):
    """Defect 1: a freshly self-registered user deleted a video owned by someone else."""
    vid = _video(owner_uid=users["owner"]["uid"], owner=EMAILS["owner"])
    resp = library.post("/videos/delete", users[role]["token"], json={"ids": [vid]})
    denied = _denied(role, "member")
    if role == "member":
        denied = (403, "not_owner")
    if denied:
        assert (resp.status_code, _code(resp)) == denied, resp.text
        assert _exists(vid)
        if role == "member":
            assert resp.json()["error"]["message"] == ("You may delete only videos you uploaded; ask an admin to "
                                                       "delete the others.")
    else:
        assert resp.status_code == 200 and resp.json()["results"] == {vid: {"ok": True, "error": None}}, resp.text
        assert not _exists(vid)


def test_a_stranger_gets_the_ask_an_admin_message(library, users):
    resp = library.post("/videos/delete", users["stranger"]["token"], json={"ids": ["abc"]})
    assert resp.status_code == 403
    assert resp.json()["error"]["message"] == ("Your account is not a member of this library yet; ask an admin "
                                               "for access.")


def test_a_video_without_an_owner_is_for_admins_and_a_mixed_request_deletes_nothing(library, clean_firestore, users):
    discovered, own = _video(), _video(owner_uid=users["owner"]["uid"], owner=EMAILS["owner"])
    resp = library.post("/videos/delete", users["owner"]["token"], json={"ids": [own, discovered]})
    assert (resp.status_code, _code(resp)) == (403, "not_owner")
    assert _exists(own) and _exists(discovered)  # all or nothing
    # an id without a record is already gone for its owner's retry; nothing else is touched
    resp = library.post("/videos/delete", users["owner"]["token"], json={"ids": [own, "gone0000000000000000"]})
    assert resp.json()["results"] == {own: {"ok": True, "error": None}, "gone0000000000000000": {"ok": True,
                                                                                                  "error": None}}
    resp = library.post("/videos/delete", users["admin"]["token"], json={"ids": [discovered]})
    assert resp.status_code == 200 and not _exists(discovered)


def test_a_record_made_before_uids_were_recorded_is_its_verified_uploaders(library, clean_firestore, users):
    legacy = _video(owner=EMAILS["owner"])  # owner email only, as uploads recorded it before
    assert library.post("/videos/delete", users["member"]["token"], json={"ids": [legacy]}).status_code == 403
    resp = library.post("/videos/delete", users["owner"]["token"], json={"ids": [legacy]})
    assert resp.status_code == 200 and not _exists(legacy)


@pytest.mark.parametrize("route, body, needs", [("/videos/delete", {"all": True}, "member+admin"),
                                                ("/reset", None, "admin"), ("/sync", None, "admin")])
@pytest.mark.parametrize("role", ROLES)
def test_library_wide_operations_are_for_admins(library, clean_firestore, users, role, route, body, needs):
    """Defect 1: delete-all and /sync were open to every signed-in user; defect 4: an admin by an unverified email
    could reset the library."""
    vid = _video(owner_uid=users["owner"]["uid"], owner=EMAILS["owner"])
    resp = library.post(route, users[role]["token"], json=body)
    denied = _denied(role, needs)
    if denied:
        assert (resp.status_code, _code(resp)) == denied, resp.text
        assert _exists(vid)
    else:
        assert resp.status_code == 200, resp.text
        assert _exists(vid) is (route == "/sync")


# ---- upload_status --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_uploads_are_for_members_and_record_the_uploader(upload_status, cloud_tasks, clean_firestore, users, role):
    from mam import store

    resp = upload_status.post("/uploads", users[role]["token"], {"filename": "clip.mp4", "size": 10,
                                                                 "type": "video/mp4"})
    denied = _denied(role, "member")
    if denied:
        assert (resp.status_code, _code(resp)) == denied, resp.text
        return
    assert resp.status_code == 201, resp.text
    video = store.get_video(resp.json()["video_id"])
    assert (video.owner_uid, video.owner) == (users[role]["uid"], EMAILS[role])


@pytest.mark.parametrize("role", ROLES)
def test_status_is_public_with_public_read_on(upload_status, users, role):
    assert upload_status.post("/status", users[role]["token"], {"ids": ["abc"]}).status_code == 200


# ---- index_videos ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, needs", [({"ids": ["nosuchvideo"]}, "member"), ({"all": True}, "member+admin"),
                                         ({"ids": ["nosuchvideo"], "reindex": True}, "member+admin"),
                                         ({"all": True, "reindex": True}, "member+admin")])
@pytest.mark.parametrize("role", ROLES)
def test_index_is_for_members_and_index_all_or_reindex_for_admins(index_videos, cloud_tasks, clean_firestore,
                                                                  users, role, body, needs):
    """Defect 1: /index {"all": true, "reindex": true} was open to every signed-in user."""
    resp = index_videos.post("/index", users[role]["token"], body)
    denied = _denied(role, needs)
    if denied:
        assert (resp.status_code, _code(resp)) == denied, resp.text
    else:
        assert resp.status_code == 202, resp.text


# ---- 401s say nothing about the account -----------------------------------------------------------------------------
def _admin_call(stack, path: str, body: dict) -> None:
    req = urllib.request.Request(
        f"{stack.url('auth')}/identitytoolkit.googleapis.com/v1/projects/{PROJECT}/{path}",
        data=json.dumps(body).encode(), headers={"Content-Type": "application/json", "Authorization": "Bearer owner"})
    urllib.request.urlopen(req, timeout=10).read()


def test_a_rejected_token_gets_one_message_whatever_the_reason(library, stack, auth_emulator):
    """Defect 4: the 401 named the exception (UserNotFoundError vs UserDisabledError ...), telling a caller whether
    a user id exists."""
    tokens = {}
    for reason in ("deleted", "disabled"):
        email = f"gone-{reason}-{TAG}@example.com"
        tokens[reason] = auth_users.token(stack, email, "pass-word-1")
        uid = auth_users.ensure_user(stack, email, "pass-word-1")
        if reason == "deleted":
            _admin_call(stack, "accounts:delete", {"localId": uid})
        else:
            _admin_call(stack, "accounts:update", {"localId": uid, "disableUser": True})
    tokens["garbage"] = "not-a-token"
    answers = []
    for reason, token in tokens.items():
        resp = library.get("/me", token)
        assert resp.status_code == 401, (reason, resp.text)
        assert resp.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        answers.append(resp.json())
    assert all(a == {"error": {"code": "invalid_token", "message": "Your sign-in has expired or is not valid; sign "
                                                                    "in again."}} for a in answers), answers

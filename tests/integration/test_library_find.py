"""Finding videos in the library (README "Finding videos") against the running `library` function, the Firestore
and Auth emulators: title search (word prefixes, case and accents ignored), filters (mine / everyone, status, date
range), sorts (newest, oldest, title, duration), signed cursors, PATCH /videos/{id} with who may edit, and the
backfill of records stored before the search fields existed."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests
from fixtures.library import LibraryFunction, new_index_name

from localdev import auth_users

pytestmark = pytest.mark.timeout(240)

TAG = uuid.uuid4().hex[:6]
EMAILS = {"owner": f"find-owner-{TAG}@example.com", "other": f"find-other-{TAG}@example.com",
          "admin": f"find-admin-{TAG}@example.com"}
SETTINGS = {"ADMIN_EMAILS": EMAILS["admin"], "MEMBER_EMAILS": f"{EMAILS['owner']},{EMAILS['other']}",
            "MEMBER_DOMAINS": ""}
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def users(stack, auth_emulator) -> dict[str, dict]:
    out = {}
    for role, email in EMAILS.items():
        uid = auth_users.ensure_user(stack, email, "pass-word-1", verified=True)
        out[role] = {"uid": uid, "email": email, "token": auth_users.sign_in(stack, email, "pass-word-1")["idToken"]}
    return out


@pytest.fixture(scope="module")
def library(emulators, stack):
    with LibraryFunction(stack, None, new_index_name("find"), **SETTINGS) as f:
        yield f


def _put(title: str, *, days: int = 0, owner: dict | None = None, status: str = "ready",
         duration: float | None = None) -> str:
    from mam import store
    from mam.videos import Video

    vid = uuid.uuid4().hex[:20]
    store.create_video(Video(id=vid, title=title, owner=owner["email"] if owner else "",
                             owner_uid=owner["uid"] if owner else "", status=status, duration=duration,
                             created_at=T0 + dt.timedelta(days=days, seconds=len(title))))
    return vid


def _get(library, token: str | None = None, **params) -> requests.Response:
    return library.get("/videos", token, params=params)


def _ids(resp: requests.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [v["id"] for v in resp.json()["videos"]]


def _error(resp: requests.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()["error"]
    assert body["message"].endswith("."), body  # a sentence, not a code
    return body["code"]


def _patch(library, vid: str, token: str | None, body) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.patch(f"{library.url}/videos/{vid}", json=body, headers=headers, timeout=60)


@pytest.fixture
def corpus(clean_firestore, users) -> dict[str, str]:
    return {
        "sunset": _put("Sunset over the Bay", days=0, owner=users["owner"], duration=30),
        "cafe": _put("Café au lait — Morning", days=1, owner=users["other"], duration=95.5),
        "sunrise": _put("SUNRISE timelapse", days=2, owner=users["owner"], status="failed", duration=5),
        "bay": _put("bay bridge traffic", days=3, duration=None, status="uploaded"),
        "zebra": _put("Zebra crossing", days=4, owner=users["other"], duration=12),
    }


# ---- title search ---------------------------------------------------------------------------------------------
def test_title_search_matches_word_prefixes_ignoring_case_and_accents(library, corpus):
    assert set(_ids(_get(library, q="sun"))) == {corpus["sunset"], corpus["sunrise"]}
    assert _ids(_get(library, q="SUNSET")) == [corpus["sunset"]]
    assert _ids(_get(library, q="cafe")) == [corpus["cafe"]]  # "Café"
    assert _ids(_get(library, q="morn")) == [corpus["cafe"]]  # a later word of the title
    assert set(_ids(_get(library, q="bay"))) == {corpus["sunset"], corpus["bay"]}
    assert _ids(_get(library, q="bay sun")) == [corpus["sunset"]]  # every word must match
    assert _ids(_get(library, q="nset")) == []  # inside a word is not a word start
    first = _get(library, q="sun").json()
    assert first["total"] == 2 and first["next_cursor"] is None


def test_a_long_word_is_checked_whole(library, clean_firestore, users):
    long = _put("Supercalifragilisticexpialidocious day")
    _put("Supercalifragilisticexpialidocioux day")  # the same first 20 characters
    assert _ids(_get(library, q="supercalifragilisticexpialidocious")) == [long]


# ---- filters --------------------------------------------------------------------------------------------------
def test_mine_shows_only_the_callers_uploads_and_needs_a_sign_in(library, corpus, users):
    assert set(_ids(_get(library, users["owner"]["token"], owner="mine"))) == {corpus["sunset"], corpus["sunrise"]}
    assert set(_ids(_get(library, users["admin"]["token"], owner="mine"))) == set()
    assert len(_ids(_get(library, users["owner"]["token"], owner="everyone"))) == 5
    assert _error(_get(library, None, owner="mine"), 401) == "sign_in_required"


def test_status_and_date_range_filters(library, corpus, users):
    assert _ids(_get(library, status="failed")) == [corpus["sunrise"]]
    assert _ids(_get(library, users["owner"]["token"], owner="mine", status="ready")) == [corpus["sunset"]]
    # days 1..3 (to is inclusive of its day), under each sort
    want = {corpus["cafe"], corpus["sunrise"], corpus["bay"]}
    for sort in ("newest", "oldest", "title", "duration"):
        assert set(_ids(_get(library, sort=sort, **{"from": "2026-03-02", "to": "2026-03-04"}))) == want, sort
    assert _ids(_get(library, q="sun", **{"from": "2026-03-02T00:00:00Z"})) == [corpus["sunrise"]]


# ---- sorts and cursors ----------------------------------------------------------------------------------------
def test_sorts(library, corpus):
    c = corpus
    assert _ids(_get(library, sort="newest")) == [c["zebra"], c["bay"], c["sunrise"], c["cafe"], c["sunset"]]
    assert _ids(_get(library, sort="oldest")) == [c["sunset"], c["cafe"], c["sunrise"], c["bay"], c["zebra"]]
    assert _ids(_get(library, sort="title")) == [c["bay"], c["cafe"], c["sunrise"], c["sunset"], c["zebra"]]
    assert _ids(_get(library, sort="duration")) == [c["cafe"], c["sunset"], c["zebra"], c["sunrise"], c["bay"]]


@pytest.mark.parametrize("sort", ["newest", "title", "duration"])
def test_cursor_pages_cover_every_match_once(library, clean_firestore, sort):
    ids = {_put(f"Clip {n:02d} of the day", days=n % 3, duration=float(n % 4)) for n in range(23)}
    _put("Something else")
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        body = _get(library, q="clip day", sort=sort, page_size=5, **({"cursor": cursor} if cursor else {})).json()
        assert len(body["videos"]) <= 5
        seen += [v["id"] for v in body["videos"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))


def test_cursors_are_signed_and_bound_to_their_search(library, clean_firestore):
    for n in range(4):
        _put(f"Take {n}", days=n)
    cursor = _get(library, q="take", page_size=2).json()["next_cursor"]
    assert cursor and "Take" not in cursor
    assert len(_ids(_get(library, q="take", page_size=2, cursor=cursor))) == 2
    body, _, sig = cursor.partition(".")
    tampered = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + sig
    assert _error(_get(library, q="take", cursor=tampered), 400) == "invalid_cursor"
    assert _error(_get(library, q="other", cursor=cursor), 400) == "invalid_cursor"  # another search
    assert _error(_get(library, q="take", sort="oldest", cursor=cursor), 400) == "invalid_cursor"
    assert _error(_get(library, cursor="garbage"), 400) == "invalid_cursor"


@pytest.mark.parametrize("params, code", [
    ({"sort": "random"}, "invalid_sort"),
    ({"status": "done"}, "invalid_status"),
    ({"owner": "theirs"}, "invalid_owner"),
    ({"from": "yesterday"}, "invalid_from"),
    ({"to": "2026-13-01"}, "invalid_to"),
    ({"from": "2026-03-05", "to": "2026-03-01"}, "invalid_dates"),
    ({"q": "x" * 201}, "invalid_q"),
    ({"q": "a b c d e f g h i"}, "invalid_q"),
    ({"q": "a", "page_size": "0"}, "invalid_page_size"),
    ({"from": "2026-03-01T10:00:00"}, "invalid_from"),  # no zone
])
def test_bad_filter_values_are_a_400_with_a_sentence(library, params, code):
    assert _error(_get(library, **params), 400) == code


def test_the_numbered_listing_still_works(library, corpus):
    body = library.get("/videos?page=1&page_size=2").json()
    assert body["total"] == 5 and body["page"] == 1 and len(body["videos"]) == 2


# ---- edit -----------------------------------------------------------------------------------------------------
def test_owner_edits_title_and_description_and_search_follows(library, corpus, users):
    vid = corpus["sunset"]
    resp = _patch(library, vid, users["owner"]["token"], {"title": "  Golden   hour\tat the pier ",
                                                           "description": " Shot from the north end.\nWindy. "})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["title"], body["description"]) == ("Golden hour at the pier", "Shot from the north end.\nWindy.")
    assert body["can_edit"] is True
    assert _ids(_get(library, q="golden pier")) == [vid]
    assert vid not in _ids(_get(library, q="sunset"))
    assert _ids(_get(library, sort="title"))[2] == vid  # "bay…", "cafe…", then "golden…"
    detail = library.get(f"/videos/{vid}", users["owner"]["token"]).json()
    assert detail["description"] == "Shot from the north end.\nWindy." and detail["can_edit"] is True
    only_desc = _patch(library, vid, users["owner"]["token"], {"description": ""})
    assert only_desc.json()["title"] == "Golden hour at the pier" and only_desc.json()["description"] == ""


def test_who_may_edit(library, corpus, users):
    vid = corpus["sunset"]
    assert _error(_patch(library, vid, None, {"title": "x"}), 401)
    assert _error(_patch(library, vid, users["other"]["token"], {"title": "Not mine"}), 403) == "not_owner"
    assert library.get(f"/videos/{vid}", users["other"]["token"]).json()["can_edit"] is False
    assert _patch(library, vid, users["admin"]["token"], {"title": "Renamed by an admin"}).status_code == 200
    from mam import store

    assert store.get_video(vid).title == "Renamed by an admin"
    listed = {v["id"]: v for v in _get(library, users["other"]["token"], sort="title").json()["videos"]}
    assert listed[corpus["cafe"]]["can_edit"] is True and listed[vid]["can_edit"] is False


@pytest.mark.parametrize("body, code", [
    ({"title": "   "}, "empty_title"),
    ({"title": "x" * 201}, "title_too_long"),
    ({"description": "x" * 5001}, "description_too_long"),
    ({"title": 5}, "invalid_title"),
    ({}, "nothing_to_change"),
    ({"owner": "me"}, "unknown_fields"),
])
def test_bad_edits_are_a_400_with_a_sentence(library, corpus, users, body, code):
    assert _error(_patch(library, corpus["sunset"], users["owner"]["token"], body), 400) == code


def test_editing_a_missing_video_is_a_404(library, clean_firestore, users):
    assert _error(_patch(library, "nosuchvideo", users["admin"]["token"], {"title": "x"}), 404) == "not_found"


# ---- records stored before the search fields ------------------------------------------------------------------
def test_backfill_makes_old_records_findable(library, clean_firestore, users):
    from mam.store import client

    doc = {"title": "Legacy harbour film", "owner": "", "owner_uid": "", "status": "ready",
           "created_at": T0, "updated_at": T0, "version": 1, "duration": 3.0}
    client().collection("videos").document("legacyvideo1").set(doc)  # as written before this change
    assert _ids(_get(library, q="harbour")) == []
    assert _error(library.post("/find-fields", users["owner"]["token"]), 403)
    resp = library.post("/find-fields", users["admin"]["token"])
    assert resp.status_code == 200 and resp.json()["updated"] == 1, resp.text
    assert _ids(_get(library, q="harbour")) == ["legacyvideo1"]
    assert library.post("/find-fields", users["admin"]["token"]).json()["updated"] == 0  # idempotent

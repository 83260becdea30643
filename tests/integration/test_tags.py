"""Tags against the real local parts (the library function, the Firestore and Auth emulators): edited with PATCH by
the owner or an admin under the tag rules, carried by every video JSON, and used as a library filter that combines
with the other find parameters (README "Finding videos")."""
from __future__ import annotations

import uuid

import pytest
import requests
from fixtures.library import LibraryFunction, new_index_name, store_video

from localdev import auth_users

pytestmark = pytest.mark.timeout(120)
TAG = uuid.uuid4().hex[:6]
MEMBER = f"tags-member-{TAG}@example.com"


@pytest.fixture(scope="module")
def library(emulators, stack):
    with LibraryFunction(stack, None, new_index_name("tags"), MEMBER_EMAILS=f"demo@example.com,{MEMBER}") as fn:
        yield fn


@pytest.fixture(scope="module")
def member_token(stack, auth_emulator) -> str:
    auth_users.ensure_user(stack, MEMBER, "pass-word-1")
    return auth_users.sign_in(stack, MEMBER, "pass-word-1")["idToken"]


@pytest.fixture
def videos(library, clean_firestore, stack_env) -> dict[str, str]:
    return {name: store_video("uploads/{id}/original/a.mp4", b"\x00" * 64, title=title, status=status)
            for name, title, status in (("beach", "Sunny beach day", "ready"), ("sunset", "Sunset over the bay", "ready"),
                                        ("city", "City at night", "uploaded"))}


def patch(library, vid: str, token: str | None, body: dict) -> requests.Response:
    return requests.patch(f"{library.url}/videos/{vid}", json=body, timeout=30,
                          headers={"Authorization": f"Bearer {token}"} if token else {})


def ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [v["id"] for v in resp.json()["videos"]]


def test_tags_are_edited_by_the_owner_or_an_admin_under_the_rules(library, videos, demo_token, member_token):
    from mam import store

    vid = videos["beach"]
    resp = patch(library, vid, demo_token, {"tags": ["  #Beach ", "beach", "Summer   Holiday"]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["tags"] == ["beach", "summer holiday"]
    assert store.get_video(vid).tags_edited is True
    assert library.get(f"/videos/{vid}").json()["tags"] == ["beach", "summer holiday"]
    assert all("tags" in v for v in library.get("/videos").json()["videos"])
    for body, why in (({"tags": ["a" * 33]}, "at most 32"), ({"tags": [f"t{i}" for i in range(21)]}, "at most 20"),
                      ({"tags": ["ok", " "]}, "empty"), ({"tags": "beach"}, "list")):
        bad = patch(library, vid, demo_token, body)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_tags", bad.text
        assert why in bad.json()["error"]["message"] and bad.json()["error"]["message"].endswith(".")
    other = patch(library, vid, member_token, {"tags": ["mine"]})
    assert other.status_code == 403 and other.json()["error"]["code"] == "not_owner"
    assert patch(library, vid, None, {"tags": ["x"]}).status_code == 401
    assert store.get_video(vid).tags == ["beach", "summer holiday"]  # none of those changed anything
    cleared = patch(library, vid, demo_token, {"tags": []})
    assert cleared.status_code == 200 and cleared.json()["tags"] == []


def test_the_tag_filter_combines_with_the_other_find_parameters(library, videos, demo_token):
    for name, tags in (("beach", ["sea", "summer"]), ("sunset", ["sea", "evening"]), ("city", ["night"])):
        assert patch(library, videos[name], demo_token, {"tags": tags}).status_code == 200
    assert set(ids(library.get("/videos", params={"tag": "sea"}))) == {videos["beach"], videos["sunset"]}
    assert set(ids(library.get("/videos", params={"tag": "#SEA", "q": "sun"}))) == {videos["beach"], videos["sunset"]}
    both = ids(library.get("/videos", params={"tag": "#SEA", "q": "sunset"}))
    assert both == [videos["sunset"]]  # tag by the query, title words on the rows read
    assert ids(library.get("/videos", params={"tag": "sea", "sort": "title"})) == [videos["beach"], videos["sunset"]]
    assert ids(library.get("/videos", params={"tag": "night", "status": "ready"})) == []
    assert ids(library.get("/videos", params={"tag": "night", "status": "uploaded"})) == [videos["city"]]
    assert ids(library.get("/videos", params={"tag": "nothing"})) == []
    page1 = library.get("/videos", params={"tag": "sea", "page_size": 1, "sort": "title"}).json()
    assert [v["id"] for v in page1["videos"]] == [videos["beach"]] and page1["next_cursor"]
    page2 = library.get("/videos", params={"tag": "sea", "page_size": 1, "sort": "title",
                                           "cursor": page1["next_cursor"]}).json()
    assert [v["id"] for v in page2["videos"]] == [videos["sunset"]]
    # a cursor belongs to its search: another tag's pages refuse it
    wrong = library.get("/videos", params={"tag": "night", "page_size": 1, "cursor": page1["next_cursor"]})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_cursor"
    bad = library.get("/videos", params={"tag": "x" * 40})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_tag"

"""`PATCH /videos/{id}`: change a video's title, description and tags (its uploader or an admin;
mam.roles.may_change).

Values are trimmed; a title is one line of 1..MAX_TITLE characters, a description at most MAX_DESCRIPTION
characters (line breaks kept); tags follow `mam.insights.tags` (an edit marks them as the owner's, so generated
topics never replace them). The write is one transaction that checks the caller's right on the record it
changes; the data layer refreshes the search fields of the new title with it.
"""
from __future__ import annotations

import unicodedata
from typing import Any

from mam import store
from mam.http import ApiError
from mam.roles import User, may_change
from mam.videos import Video

MAX_TITLE = 200
MAX_DESCRIPTION = 5000
FIELDS = ("title", "description", "tags")
NOT_YOURS = "You may edit only videos you uploaded; ask an admin to edit the others."


def _clean(value: str, keep_newlines: bool) -> str:
    """Control characters dropped (a title also loses line breaks), whitespace runs of a line collapsed, trimmed."""
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n") if keep_newlines else [value]
    out = []
    for line in lines:
        chars = (" " if c.isspace() else c for c in line
                 if c.isspace() or unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
        out.append(" ".join("".join(chars).split()))
    return "\n".join(out).strip()


def parse(body: dict[str, Any]) -> dict[str, Any]:
    """The changes of a PATCH body; a 400 ApiError naming what is wrong."""
    from mam.insights import tags

    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ApiError(400, "unknown_fields",
                       f"Only the title, description and tags can be changed (not {', '.join(unknown)}).")
    changes: dict[str, Any] = {}
    if "tags" in body:
        try:
            changes["tags"] = tags.parse(body["tags"])
        except tags.TagError as exc:
            raise ApiError(400, "invalid_tags", str(exc)) from None
    for name in ("title", "description"):
        if name not in body:
            continue
        if not isinstance(body[name], str):
            raise ApiError(400, f"invalid_{name}", f"The {name} must be text.")
        changes[name] = _clean(body[name], keep_newlines=name == "description")
    if not changes:
        raise ApiError(400, "nothing_to_change", "Send a title, a description or tags to change.")
    if "title" in changes:
        if not changes["title"]:
            raise ApiError(400, "empty_title", "The title cannot be empty.")
        if len(changes["title"]) > MAX_TITLE:
            raise ApiError(400, "title_too_long", f"The title is too long: use at most {MAX_TITLE} characters.")
    if len(changes.get("description", "")) > MAX_DESCRIPTION:
        raise ApiError(400, "description_too_long",
                       f"The description is too long: use at most {MAX_DESCRIPTION:,} characters.")
    return changes


def edit(video_id: str, changes: dict[str, Any], user: User) -> Video:
    """Apply `changes` if `user` may change the video; 404 when it does not exist, 403 when not theirs."""
    def mutate(video: Video) -> bool:
        if not may_change(user, video):
            raise ApiError(403, "not_owner", NOT_YOURS)
        if all(getattr(video, k) == v for k, v in changes.items()) and (video.tags_edited or "tags" not in changes):
            return False  # the same values again: nothing to write
        for k, v in changes.items():
            setattr(video, k, v)
        if "tags" in changes:
            video.tags_edited = True
        return True

    video = store.update_video(video_id, mutate)
    if video is None:
        raise ApiError(404, "not_found", "No such video. It may have been deleted.")
    return video

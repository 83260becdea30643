"""The B2 key layout of a video (mam.media_keys) and the TransloadIt template that writes the uploaded files."""
from __future__ import annotations

from mam import media_keys
from mam.uploads import outcome, template

VID = "0123456789abcdef0123"


def test_template_store_paths_follow_the_key_layout():
    steps = template.steps("b2")
    paths = {name: steps[name]["path"].replace("${fields.video_id}", VID)
             for name in (template.STORE_ORIGINAL, template.STORE_WEB, template.STORE_THUMBNAIL)}
    assert paths[template.STORE_WEB] == media_keys.web_key(VID)
    assert paths[template.STORE_THUMBNAIL] == media_keys.upload_thumbnail_key(VID)
    original = paths[template.STORE_ORIGINAL]
    assert original.startswith(media_keys.original_prefix(VID)) and original != media_keys.original_prefix(VID)
    assert all(p.startswith(media_keys.upload_prefix(VID)) for p in paths.values())


def test_every_key_of_a_video_names_its_owner():
    keys = [media_keys.web_key(VID), media_keys.upload_thumbnail_key(VID), media_keys.original_prefix(VID) + "a.mp4",
            media_keys.index_thumbnail_key(VID)]
    assert [media_keys.owner_of(k) for k in keys] == [VID] * 4
    assert all(k.startswith(media_keys.OWNED_PREFIXES) for k in keys)
    assert media_keys.owner_of("videos/cat.mp4") is None and media_keys.owner_of("uploads/") is None
    assert media_keys.index_thumbnail_key(VID) != media_keys.upload_thumbnail_key(VID)


def test_stored_file_urls_are_accepted_only_inside_the_videos_upload_prefix():
    url = f"https://s3.example/bucket/{media_keys.web_key(VID)}"
    assert outcome.key_from_url(url, VID) == media_keys.web_key(VID)
    assert outcome.key_from_url(f"https://s3.example/bucket/{media_keys.web_key('other')}", VID) is None

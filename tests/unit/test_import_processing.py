"""A discovered video's assembly: the upload's steps with an import in place of the upload, and its status parsed
into the same outcome (keys under uploads/<id>/, media facts from the imported file)."""
from __future__ import annotations

import datetime as dt
import json

from mam.uploads import outcome, template

VID = "d" * 20


def test_import_steps_are_the_upload_steps_fed_by_the_bucket_object() -> None:
    steps = template.import_steps("b2", "videos/a b/Clip.mov")
    upload = template.steps("b2")
    assert steps[template.STEP_IMPORTED] == {"robot": "/backblaze/import", "credentials": "b2",
                                             "path": "videos/a b/Clip.mov", "result": True}
    assert ":original" not in steps and template.STORE_ORIGINAL not in steps  # the original stays where it is
    for name in (template.STEP_WEB, template.STEP_THUMBNAIL):
        assert steps[name] == {**upload[name], "use": template.STEP_IMPORTED}
    for name in (template.STORE_WEB, template.STORE_THUMBNAIL):
        assert steps[name] == upload[name]


def test_import_params_are_signed_and_carry_the_video_id() -> None:
    signed = template.build_import_params(auth_key="k", auth_secret="s", video_id=VID, notify_url="https://n/",
                                          credentials="b2", key="videos/x.mp4",
                                          now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), ttl_seconds=600)
    params = json.loads(signed.params)
    assert params["fields"] == {"video_id": VID} and params["notify_url"] == "https://n/"
    assert "max_size" not in params["auth"] and params["steps"][template.STEP_IMPORTED]["path"] == "videos/x.mp4"
    assert signed.signature.startswith("sha384:")


def test_an_import_status_gives_keys_and_the_original_media_facts() -> None:
    base = "http://s3.local/mam-local/uploads/" + VID
    status = {"ok": "ASSEMBLY_COMPLETED", "assembly_id": "a" * 32, "uploads": [],
              "params": json.dumps({"fields": {"video_id": VID}}),
              "results": {"imported": [{"id": "i1", "size": 12345,
                                        "meta": {"duration": 4.0, "width": 1920, "height": 1080}}],
                          "web": [{"id": "w1", "original_id": "i1", "meta": {"duration": 4.0, "width": 1280,
                                                                              "height": 720}}],
                          "store_web": [{"ssl_url": base + "/web.mp4"}],
                          "store_thumbnail": [{"ssl_url": base + "/thumbnail.jpg"}]}}
    out = outcome.parse(status)
    assert out.state == outcome.COMPLETED and out.original_key is None
    assert (out.web_key, out.thumbnail_key) == (f"uploads/{VID}/web.mp4", f"uploads/{VID}/thumbnail.jpg")
    assert (out.duration, out.width, out.height, out.size) == (4.0, 1920, 1080, 12345)

"""Signed assembly params and the template they carry."""
from __future__ import annotations

import datetime as dt
import json

from mam.uploads import signing, template

NOW = dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def _build(**over):
    args = {"auth_key": "key-1", "auth_secret": "secret-1", "video_id": "vid42",
            "notify_url": "https://fn.example/transloadit_notify", "credentials": "my-b2", "template_id": "",
            "max_size": 1000, "now": NOW, "ttl_seconds": 3600}
    args.update(over)
    return template.build_params(**args)


def test_params_are_signed_as_the_exact_string_with_sha384():
    signed = _build()
    assert signed.signature.startswith("sha384:")
    assert signing.verify("secret-1", signed.params, signed.signature)
    params = json.loads(signed.params)
    assert params["auth"]["key"] == "key-1" and params["auth"]["max_size"] == 1000
    assert params["auth"]["expires"] == "2026/05/01 13:00:00+00:00" == signed.expires
    assert len(params["auth"]["nonce"]) == 32
    assert params["notify_url"] == "https://fn.example/transloadit_notify"
    assert params["fields"] == {"video_id": "vid42"} == signed.fields


def test_every_call_gets_a_fresh_nonce():
    assert json.loads(_build().params)["auth"]["nonce"] != json.loads(_build().params)["auth"]["nonce"]


def test_template_steps_use_the_configured_credentials_and_per_video_prefix():
    steps = json.loads(_build().params)["steps"]
    stores = {name: s for name, s in steps.items() if s["robot"] == "/backblaze/store"}
    assert set(stores) == {template.STORE_ORIGINAL, template.STORE_WEB, template.STORE_THUMBNAIL}
    assert all(s["credentials"] == "my-b2" for s in stores.values())
    assert all(s["path"].startswith("uploads/${fields.video_id}/") for s in stores.values())
    assert steps[":original"]["robot"] == "/upload/handle"
    web = steps[template.STEP_WEB]
    assert web["robot"] == "/video/encode" and web["ffmpeg"]["movflags"] == "+faststart"
    assert web["ffmpeg"]["c:v"] == "libx264" and web["ffmpeg"]["c:a"] == "aac"
    assert steps[template.STEP_THUMBNAIL]["robot"] == "/video/thumbs"
    # The cached template itself is never mutated by a build.
    assert template.steps("b2")[template.STORE_WEB]["credentials"] == "b2"


def test_template_id_replaces_inline_steps():
    params = json.loads(_build(template_id="tpl-123").params)
    assert params["template_id"] == "tpl-123" and "steps" not in params

"""Contract tests of the stand-in's /video/thumbs offsets and /backblaze/import, as TransloadIt documents them.

/video/thumbs: `offsets` (seconds or "N%" of the duration) take precedence over `count`; out-of-range offsets are
silently ignored; `count` N without offsets takes frames at regular intervals (count 3 -> 25 %, 50 %, 75 %).
/backblaze/import: `credentials` + `path` (a file, or a directory ending in "/", `recursive` optional) imports
objects from the bucket; an assembly that imports needs no upload. Fixtures and helpers come from the main
stand-in contract module (same local B2 and stand-in process).
"""
from __future__ import annotations

import pytest
from contract import test_transloadit_standin as base
from contract.test_transloadit_standin import create, poll, tus_upload
from standins.frames import make_blank_start_video, spread

s3, standin = base.s3, base.standin  # the same module-scoped fixtures (local B2, stand-in process)

pytestmark = pytest.mark.timeout(120)
STORE = {"robot": "/backblaze/store", "credentials": "b2", "result": True}


@pytest.fixture(scope="module")
def blank_start(tmp_path_factory) -> str:
    """4 s, black for the first 0.6 s (so 0 % and 10 % are blank, 25 % is not)."""
    return make_blank_start_video(str(tmp_path_factory.mktemp("media") / "fade in.mp4"), seconds=4.0, blank=0.6)


@pytest.fixture(scope="module")
def stored_video(s3, blank_start) -> str:
    key = "videos/contract/fade in.mp4"
    s3[1].upload_file(blank_start, "mam-local", key)
    return key


def _thumbs(standin, s3, blank_start, thumbs: dict, vid: str) -> tuple[list[dict], dict[float, bytes]]:
    steps = {":original": {"robot": "/upload/handle"},
             "thumbs": {"robot": "/video/thumbs", "use": ":original", "result": True, **thumbs},
             "store": {**STORE, "use": "thumbs", "path": "contract/${fields.video_id}/${file.meta.thumb_index}.jpg"}}
    status = create(standin, steps, video_id=vid).json()
    tus_upload(status, blank_start)
    final = poll(status["assembly_ssl_url"])
    assert final["ok"] == "ASSEMBLY_COMPLETED", final
    results = sorted(final["results"].get("thumbs", []), key=lambda r: r["meta"]["thumb_index"])
    images = {r["meta"]["thumb_offset"]: s3[1].get_object(
        Bucket="mam-local", Key=f"contract/{vid}/{r['meta']['thumb_index']}.jpg")["Body"].read() for r in results}
    return results, images


def test_offsets_in_percent_and_seconds_out_of_range_ignored(standin, s3, blank_start):
    results, images = _thumbs(standin, s3, blank_start,
                              {"offsets": ["10%", "25%", 2.5, "150%", 99], "count": 7}, "vid-offsets")
    # offsets win over count; "150%" and 99 s are past the end of a 4 s video: ignored, not clamped to the end
    assert [r["meta"]["thumb_offset"] for r in results] == [0.4, 1.0, 2.5]
    assert spread(images[0.4]) < 3, "10 % of this video is black"
    assert spread(images[1.0]) > 20 and spread(images[2.5]) > 20, "25 % and 2.5 s show the picture"


def test_count_takes_frames_at_regular_intervals(standin, s3, blank_start):
    results, _ = _thumbs(standin, s3, blank_start, {"count": 3}, "vid-count")
    assert [r["meta"]["thumb_offset"] for r in results] == [1.0, 2.0, 3.0]  # 25 %, 50 %, 75 % of 4 s


def test_import_from_the_bucket_encodes_thumbs_and_stores_without_an_upload(standin, s3, stored_video):
    steps = {"imported": {"robot": "/backblaze/import", "credentials": "b2", "path": stored_video, "result": True},
             "web": {"robot": "/video/encode", "use": "imported", "preset": "web/mp4/360p", "resize_strategy": "fit"},
             "thumbnail": {"robot": "/video/thumbs", "use": "imported", "offsets": ["25%"], "format": "jpg"},
             "store_web": {**STORE, "use": "web", "path": "imports/${fields.video_id}/web.mp4"},
             "store_thumbnail": {**STORE, "use": "thumbnail", "path": "imports/${fields.video_id}/thumbnail.jpg"}}
    status = create(standin, steps, video_id="vid-import", expected=0).json()
    final = poll(status["assembly_ssl_url"])
    assert final["ok"] == "ASSEMBLY_COMPLETED", final
    [imported] = final["results"]["imported"]
    assert imported["name"] == "fade in.mp4" and imported["mime"] == "video/mp4"
    assert imported["meta"]["width"] == 320 and imported["meta"]["height"] == 240
    assert 3.9 <= imported["meta"]["duration"] <= 4.1
    assert imported["size"] == s3[1].head_object(Bucket="mam-local", Key=stored_video)["ContentLength"]
    assert final["uploads"] == [] and "store_original" not in final["results"]
    thumb = s3[1].get_object(Bucket="mam-local", Key="imports/vid-import/thumbnail.jpg")["Body"].read()
    assert spread(thumb) > 20
    assert s3[1].head_object(Bucket="mam-local", Key="imports/vid-import/web.mp4")["ContentLength"] > 1000
    [stored] = final["results"]["store_web"]
    assert stored["original_id"] == imported["id"]


def test_import_of_a_missing_object_fails_the_assembly(standin):
    steps = {"imported": {"robot": "/backblaze/import", "credentials": "b2", "path": "videos/nope.mp4"},
             "store": {**STORE, "use": "imported", "path": "x/${file.url_name}"}}
    final = poll(create(standin, steps, video_id="vid-missing", expected=0).json()["assembly_ssl_url"])
    assert final["error"] == "BACKBLAZE_IMPORT_NOT_FOUND"


@pytest.mark.parametrize("step", [
    {"robot": "/backblaze/import", "credentials": "b2"},
    {"robot": "/backblaze/import", "credentials": "b2", "path": ""},
    {"robot": "/backblaze/import", "credentials": "unknown", "path": "videos/a.mp4"},
    {"robot": "/backblaze/import", "credentials": "b2", "path": "videos/", "recursive": "yes"},
])
def test_invalid_imports_are_refused_at_creation(standin, step):
    resp = create(standin, {"imported": step}, expected=0)
    assert resp.status_code == 400 and resp.json()["error"] == "BACKBLAZE_IMPORT_VALIDATION", resp.text

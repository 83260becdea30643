"""The per-asset checks that decide whether LucidLink files may be deleted (remove) or a copy landed (add)."""
from __future__ import annotations

import pytest
from mam.iconik import jobs
from mam.iconik.verify import check_add, check_remove

LL, B2, OTHER = "ll", "b2", "other"


def asset(*, b2_files=None, ll_files=None, proxy=True, b2_set_status="ACTIVE", with_original=True):
    """formats, file sets, files of one asset; files given as dicts overriding a CLOSED 100-byte file."""
    formats = ([{"id": "f-orig", "name": "ORIGINAL"}] if with_original else []) + \
              ([{"id": "f-prx", "name": "PPRO_PROXY"}] if proxy else [])
    sets, files = [], []

    def add(set_id, fmt, storage, entries, status="ACTIVE"):
        sets.append({"id": set_id, "format_id": fmt, "storage_id": storage, "status": status})
        for i, over in enumerate(entries):
            files.append({"id": f"{set_id}-{i}", "file_set_id": set_id, "name": "clip.mov", "size": 100,
                          "checksum": "abc", "status": "CLOSED", "type": "FILE", **over})

    if with_original:
        add("ll-orig", "f-orig", LL, [{}] if ll_files is None else ll_files)
        if b2_files is not None:
            add("b2-orig", "f-orig", B2, b2_files, b2_set_status)
    if proxy:
        add("ll-prx", "f-prx", LL, [{"name": "clip_proxy.mp4"}])
    return formats, sets, files


def remove(formats, sets, files, verify=("ORIGINAL",), delete=("ORIGINAL", "PPRO_PROXY")):
    return check_remove(formats, sets, files, ll=LL, b2=B2, verify_formats=verify, delete_formats=delete)


def test_confirmed_copy_allows_deleting_every_requested_lucidlink_file_set():
    c = remove(*asset(b2_files=[{}]))
    assert c.ok and c.delete_ids == ("ll-orig", "ll-prx") and c.purge_ids == ()


@pytest.mark.parametrize("b2_files,reason", [
    (None, "not on B2"), ([], "has no files"), ([{"status": "OPEN"}], "is OPEN"), ([{"size": 50}], "has 50 bytes"),
    ([{"size": None}], "size of clip.mov unknown"), ([{"checksum": "zzz"}], "different checksum"),
    ([{"name": "other.mov"}], "missing on B2"), ([{"status": "DELETED"}], "has no files"),
])
def test_unconfirmed_copy_keeps_everything(b2_files, reason):
    c = remove(*asset(b2_files=b2_files))
    assert not c.ok and reason in c.reason and c.delete_ids == ()


def test_deleted_b2_file_set_does_not_count():
    assert not remove(*asset(b2_files=[{}], b2_set_status="DELETED")).ok


def test_checksum_compared_only_when_both_sides_have_one():
    assert remove(*asset(b2_files=[{"checksum": None}])).ok
    assert remove(*asset(b2_files=[{"checksum": "ABC"}])).ok  # hex case does not matter


def test_multi_file_original_needs_every_file():
    ll = [{"name": "a.dpx"}, {"name": "b.dpx"}]
    assert not remove(*asset(ll_files=ll, b2_files=[{"name": "a.dpx"}])).ok
    assert remove(*asset(ll_files=ll, b2_files=[{"name": "a.dpx"}, {"name": "b.dpx"}])).ok
    # a duplicate, bad copy next to a good one is fine
    assert remove(*asset(ll_files=ll[:1], b2_files=[{"name": "a.dpx", "size": 1}, {"name": "a.dpx"}])).ok


def test_no_original_on_lucidlink_still_needs_a_complete_b2_copy():
    formats, sets, files = asset(b2_files=[{}], ll_files=[])
    assert remove(formats, sets, files).ok
    formats, sets, files = asset(b2_files=[{"status": "OPEN"}], ll_files=[])
    assert not remove(formats, sets, files).ok


def test_asset_without_the_verified_format_is_kept():
    c = remove(*asset(with_original=False))
    assert not c.ok and "no ORIGINAL format" in c.reason


def test_already_deleted_lucidlink_sets_are_purged_only_and_missing_formats_noted():
    formats, sets, files = asset(b2_files=[{}])
    next(s for s in sets if s["id"] == "ll-prx")["status"] = "DELETED"
    c = remove(formats, sets, files, delete=("ORIGINAL", "PPRO_PROXY", "EDIT_PROXY"))
    assert c.ok and c.delete_ids == ("ll-orig",) and c.purge_ids == ("ll-prx",)
    assert "no EDIT_PROXY format" in c.notes


def test_other_storages_are_never_deleted():
    formats, sets, files = asset(b2_files=[{}])
    sets.append({"id": "elsewhere", "format_id": "f-orig", "storage_id": OTHER, "status": "ACTIVE"})
    assert "elsewhere" not in remove(formats, sets, files).delete_ids


def add(formats, sets, files, formats_to_add=("ORIGINAL",)):
    return check_add(formats, sets, files, ll=LL, b2=B2, add_formats=formats_to_add)


def test_check_add():
    formats, sets, files = asset(b2_files=[{}])
    assert add(formats, sets, files, ("ORIGINAL", "PPRO_PROXY")).ok
    c = add(formats, sets, files, ("ORIGINAL", "EDIT_PROXY"))
    assert c.ok and c.notes == ("no EDIT_PROXY format",)
    files[0]["status"] = "OPEN"
    assert "not complete" in add(formats, sets, files).reason
    formats, sets, files = asset(proxy=False)
    sets[0]["storage_id"] = B2
    assert "not on LucidLink" in add(formats, sets, files).reason
    assert not add(formats, sets, files, ("EDIT_PROXY",)).ok


@pytest.mark.parametrize("ll_file,reason", [
    ({"size": 50}, "LucidLink copy of clip.mov has 50 bytes, B2 has 100"),
    ({"size": 150}, "LucidLink copy of clip.mov has 150 bytes, B2 has 100"),
    ({"checksum": "ABD"}, "LucidLink copy of clip.mov has a different checksum"),
    ({"size": None}, "size of clip.mov unknown on LucidLink"),
    ({"name": "other.mov"}, "other.mov (ORIGINAL) on LucidLink matches no file on B2"),
])
def test_add_fails_a_copy_that_differs_from_its_b2_source(ll_file, reason):
    c = add(*asset(b2_files=[{}], ll_files=[ll_file], proxy=False))
    assert not c.ok and c.reason == reason


def test_add_compares_checksums_only_when_both_sides_have_one_and_ignores_their_case():
    assert add(*asset(b2_files=[{"checksum": None}], ll_files=[{}], proxy=False)).ok
    assert add(*asset(b2_files=[{"checksum": "ABC"}], ll_files=[{}], proxy=False)).ok


def test_add_compares_with_another_storage_when_b2_does_not_hold_the_format():
    formats, sets, files = asset(ll_files=[{"size": 10}], proxy=False)
    sets.append({"id": "s3-orig", "format_id": "f-orig", "storage_id": OTHER, "status": "ACTIVE"})
    files.append({"id": "s3-0", "file_set_id": "s3-orig", "name": "clip.mov", "size": 100, "status": "CLOSED"})
    assert add(formats, sets, files).reason == "LucidLink copy of clip.mov has 10 bytes, its source has 100"
    files[-1]["size"] = 10
    assert add(formats, sets, files).ok


def test_add_without_any_source_to_compare_with_is_noted():
    c = add(*asset(proxy=False))
    assert c.ok and c.notes == ("ORIGINAL: no source copy to compare with",)


@pytest.mark.parametrize("status,done,warn_ok,warn_no", [
    ("FINISHED", True, "success", "success"), ("SKIPPED", True, "success", "success"),
    ("FINISHED_WITH_WARNING", True, "success", "warning"), ("FAILED", True, "failure", "failure"),
    ("ABORTED", True, "failure", "failure"), ("MISSING", True, "failure", "failure"),
    ("PAUSED", False, "pending", "pending"), ("STARTED", False, "pending", "pending"),
    ("ABORT_PENDING", False, "pending", "pending"), ("SOMETHING_NEW", False, "pending", "pending"), (None, False, "pending", "pending"),
])
def test_job_statuses(status, done, warn_ok, warn_no):
    assert jobs.is_done(status) is done
    assert jobs.outcome(status, True) == warn_ok and jobs.outcome(status, False) == warn_no

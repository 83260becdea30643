"""Contract tests of ListObjectVersions on the local B2: the layer's answer (localdev/b2/versions.py) against moto's
own (`--moto-versions`), against S3's documented behaviour, and against the memory it costs.

Two real processes hold the same objects (a versioned bucket with overwritten keys, delete markers, nested
"folders"). Where moto pages correctly the two must list the same things page by page; where moto does not
(docs/contracts/b2-s3.md lists those cases), the layer must answer as S3 does. Version ids are random per process,
so they are compared by what they name: (key, nth write of that key).
"""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError
from standins.b2 import LocalB2

BUCKET = "mam-local"
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
# (key, body or None for a delete marker), written in this order
WRITES = [("a/1", b"a1"), ("a/2", b"a2-first"), ("a/2", b"a2-second"), ("a/b/c", b"abc"), ("b", b"b-first"),
          ("b", None), ("b", b"b-third"), ("c d+e&<x>", b"odd name"), ("c/d/e", b"cde"), ("d", b"d"), ("d", None),
          ("e/", b"folder marker"), ("e/f", b"ef"), ("video/1/source.mp4", b"v1"), ("video/1/thumb.jpg", b"t1"),
          ("video/10/source.mp4", b"v10"), ("video/2/source.mp4", b"v2"), ("video/2/source.mp4", b"v2-again")]
pytestmark = pytest.mark.timeout(180)


class Filled:
    """A LocalB2 holding WRITES in a versioned bucket, and the meaning of each version id it handed out."""

    def __init__(self, b2: LocalB2) -> None:
        self.b2 = b2
        self.s3 = b2.client()
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.names: dict[str, tuple[str, int]] = {}  # version id -> (key, nth write of that key)
        counts: dict[str, int] = {}
        for key, body in WRITES:
            n = counts[key] = counts.get(key, 0) + 1
            if body is None:
                vid = self.s3.delete_object(Bucket=BUCKET, Key=key)["VersionId"]
            else:
                vid = self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]
            self.names[vid] = (key, n)
            time.sleep(0.003)  # moto orders versions by their millisecond timestamp

    def pages(self, **kwargs) -> list[dict]:
        """Every page of a paginated listing, reduced to what it says (version ids replaced by their meaning)."""
        out = []
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, **kwargs):
            out.append({
                "versions": [(self.names[v["VersionId"]], v["IsLatest"], v["Size"], v["ETag"])
                             for v in page.get("Versions", [])],
                "markers": [(self.names[m["VersionId"]], m["IsLatest"]) for m in page.get("DeleteMarkers", [])],
                "prefixes": [p["Prefix"] for p in page.get("CommonPrefixes", [])],
                "truncated": page["IsTruncated"],
                "next": (page.get("NextKeyMarker"), self.names.get(page.get("NextVersionIdMarker", ""))),
            })
        return out


@pytest.fixture(scope="module")
def ours():
    with LocalB2(buckets=(BUCKET,)) as b2:
        yield Filled(b2)


@pytest.fixture(scope="module")
def moto():
    with LocalB2(buckets=(BUCKET,), args=("--moto-versions",)) as b2:
        yield Filled(b2)


def presigned(b2: LocalB2, query: str) -> str:
    """A presigned GET /<bucket>?<query>, signed by botocore with exactly that query."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="GET", url=f"{b2.endpoint}/{BUCKET}?{query}")
    S3SigV4QueryAuth(Credentials(b2.key_id, b2.secret), "s3", b2.region, expires=60).add_auth(req)
    return req.url


def rss_peak_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


# ---- the same answers as moto's where moto pages right ------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    {}, {"PaginationConfig": {"PageSize": 1}}, {"PaginationConfig": {"PageSize": 2}},
    {"PaginationConfig": {"PageSize": 3}}, {"Prefix": "a/"}, {"Prefix": "video/1"}, {"Prefix": "video/1/"},
    {"Prefix": "nothing/"}, {"Prefix": "b"}, {"Prefix": "video/2/", "PaginationConfig": {"PageSize": 1}},
    {"Delimiter": "/"}, {"Prefix": "video/", "Delimiter": "/"}, {"Prefix": "a/", "Delimiter": "/"},
    {"Delimiter": "+"},
], ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "all")
def test_listing_is_what_moto_answered(ours: Filled, moto: Filled, kwargs: dict) -> None:
    assert ours.pages(**kwargs) == moto.pages(**kwargs)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_small_pages_with_a_delimiter_list_what_moto_listed_and_never_more_than_max_keys(
        ours: Filled, moto: Filled, size: int) -> None:
    """moto put a common prefix met after a full page on that page too (MaxKeys + 1 entries); S3 never does."""
    def everything(pages: list[dict]) -> list[str]:
        return sorted(repr(e) for p in pages for e in p["versions"] + p["markers"] + p["prefixes"])

    mine = ours.pages(Delimiter="/", PaginationConfig={"PageSize": size})
    assert everything(mine) == everything(moto.pages(Delimiter="/", PaginationConfig={"PageSize": size}))
    assert all(len(p["versions"]) + len(p["markers"]) + len(p["prefixes"]) <= size for p in mine)
    assert all(p["truncated"] for p in mine[:-1]) and not mine[-1]["truncated"]


def test_versions_are_newest_first_with_delete_markers_latest(ours: Filled) -> None:
    (page,) = ours.pages(Prefix="b")
    assert [(name, latest) for name, latest, *_ in page["versions"]] == [(("b", 3), True), (("b", 1), False)]
    assert page["markers"] == [(("b", 2), False)]
    (page,) = ours.pages(Prefix="d")
    assert page["markers"] == [(("d", 2), True)] and [v[:2] for v in page["versions"]] == [(("d", 1), False)]


# ---- S3's answers where moto's differ ------------------------------------------------------------------------
def test_key_marker_alone_starts_after_every_version_of_that_key(ours: Filled) -> None:
    """S3's key-marker is exclusive (ceph/s3-tests#594); moto skipped only the first version it met."""
    resp = ours.s3.list_object_versions(Bucket=BUCKET, KeyMarker="a/2")
    assert [v["Key"] for v in resp["Versions"]][:2] == ["a/b/c", "b"]
    resp = ours.s3.list_object_versions(Bucket=BUCKET, KeyMarker="a/10")  # no such key: starts after it
    assert [v["Key"] for v in resp["Versions"]][:3] == ["a/2", "a/2", "a/b/c"]


def test_version_id_marker_resumes_after_that_version(ours: Filled) -> None:
    newest = next(v for v, (key, n) in ours.names.items() if (key, n) == ("a/2", 2))
    resp = ours.s3.list_object_versions(Bucket=BUCKET, KeyMarker="a/2", VersionIdMarker=newest, MaxKeys=2)
    assert [(ours.names[v["VersionId"]]) for v in resp["Versions"]] == [("a/2", 1), ("a/b/c", 1)]
    assert resp["IsTruncated"] is True and resp["NextKeyMarker"] == "a/b/c"


def test_a_page_that_ends_with_the_last_entry_is_not_truncated(ours: Filled) -> None:
    """IsTruncated only when something is left (S3, as in versity/versitygw#2178); moto said true after a common
    prefix that filled the page, and the next page came back empty."""
    resp = ours.s3.list_object_versions(Bucket=BUCKET, Prefix="video/", Delimiter="/", MaxKeys=3)
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["video/1/", "video/10/", "video/2/"]
    assert resp["IsTruncated"] is False and "NextKeyMarker" not in resp
    resp = ours.s3.list_object_versions(Bucket=BUCKET, Prefix="video/", Delimiter="/", MaxKeys=2)
    assert resp["IsTruncated"] is True and resp["NextKeyMarker"] == "video/10/" and "NextVersionIdMarker" not in resp


def test_keys_are_url_encoded_when_asked_and_boto3_decodes_them(ours: Filled) -> None:
    resp = requests.get(presigned(ours.b2, "versions&prefix=c&encoding-type=url"), timeout=10)
    root = ET.fromstring(resp.content)
    assert root.findtext(f"{NS}EncodingType") == "url"
    assert [k.text for k in root.iter(f"{NS}Key")] == ["c+d%2Be%26%3Cx%3E", "c/d/e"]
    listed = ours.s3.list_object_versions(Bucket=BUCKET, Prefix="c")  # boto3 asks for url encoding itself
    assert [v["Key"] for v in listed["Versions"]] == ["c d+e&<x>", "c/d/e"]


def test_max_keys_caps_a_page_at_1000() -> None:
    with LocalB2(buckets=(BUCKET,)) as b2:
        s3 = b2.client()
        for i in range(1001):
            s3.put_object(Bucket=BUCKET, Key=f"k/{i:04d}", Body=b"")
        resp = s3.list_object_versions(Bucket=BUCKET, MaxKeys=5000)
        assert len(resp["Versions"]) == 1000 and resp["IsTruncated"] is True and resp["NextKeyMarker"] == "k/0999"
        rest = s3.list_object_versions(Bucket=BUCKET, KeyMarker=resp["NextKeyMarker"],
                                       VersionIdMarker=resp["NextVersionIdMarker"])
        assert [v["Key"] for v in rest["Versions"]] == ["k/1000"] and rest["IsTruncated"] is False


@pytest.mark.parametrize("query, message", [
    ("version-id-marker=x", "A version-id marker cannot be specified without a key marker."),
    ("max-keys=ten", "Provided max-keys not an integer or within integer range"),
    ("max-keys=-1", "Provided max-keys not an integer or within integer range"),
    ("encoding-type=base64", "Invalid Encoding Method specified in Request"),
])
def test_refuses_what_s3_refuses_with_400_not_500(ours: Filled, query: str, message: str) -> None:
    resp = requests.get(presigned(ours.b2, f"versions&{query}"), timeout=10)
    root = ET.fromstring(resp.content)
    assert (resp.status_code, root.findtext("Code"), root.findtext("Message")) == (400, "InvalidArgument", message)


def test_strictness_is_kept(ours: Filled) -> None:
    unsigned = requests.get(f"{ours.b2.endpoint}/{BUCKET}?versions", timeout=10)
    assert unsigned.status_code == 403 and ET.fromstring(unsigned.content).findtext("Code") == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        ours.s3.list_object_versions(Bucket="no-such-bucket")
    assert exc.value.response["Error"]["Code"] == "NoSuchBucket"


# ---- memory ------------------------------------------------------------------------------------------------------
def test_a_listing_copies_no_bodies() -> None:
    """24 objects of 2 MB under one prefix, 3 listings of another: the process's peak memory must not grow by the
    bytes stored (moto's own answer deep-copies every version of every key, whatever the prefix)."""
    with LocalB2(buckets=(BUCKET,)) as b2:
        s3 = b2.client()
        for i in range(24):
            s3.put_object(Bucket=BUCKET, Key=f"big/{i:02d}", Body=bytes([i]) * (2 << 20))
        s3.put_object(Bucket=BUCKET, Key="small/1", Body=b"x")
        before = rss_peak_mb(b2.pid)
        for _ in range(3):
            listed = s3.list_object_versions(Bucket=BUCKET, Prefix="small/")
            assert [v["Key"] for v in listed["Versions"]] == ["small/1"]
        grew = rss_peak_mb(b2.pid) - before
        assert grew < 12, f"peak memory grew by {grew:.0f} MB listing 1 small object beside 48 MB of others"

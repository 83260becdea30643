"""ListObjectVersions (`GET /<bucket>?versions`) answered by the layer from moto's store, without copying any body.

moto 5.2.5's own answer (`S3Backend.list_object_versions`) deep-copies every version of every key in the bucket on
each call, whatever the prefix: `FakeKey.__getstate__` reads the body and `__setstate__` writes it into a new
buffer. And the copies are never freed: moto's `BaseModel.__new__` appends every instance it makes to the class's
`instances_tracked` list, copies included. So each listing leaked a copy of the whole bucket (200 objects of 1 MB:
~200 MB a listing, 3 GB after 14), which is how a fuzz run drove the process to 22.7 GB. A shallow copy is no way
out either (`FakeKey.__del__` closes the buffer it would share). This module reads only the metadata of the keys
under the prefix (name, version id, date, ETag, size) and pages as S3 does; the facts and the few places where the
answer differs from moto's are in docs/contracts/b2-s3.md.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote_plus

from . import errors
from .request import RawRequest

MAX_KEYS = 1000  # S3 and B2 return at most 1,000 entries per page, whatever max-keys asks for
NS = "http://s3.amazonaws.com/doc/2006-03-01/"
# moto's fixed owner of every object (what its own answer carried; we have one account).
OWNER = ("75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", "webfile")


@dataclass(frozen=True)
class Query:
    """The listing's parameters, as sent (empty strings are absent)."""

    prefix: str = ""
    delimiter: str = ""
    key_marker: str = ""
    version_id_marker: str = ""
    max_keys: int = MAX_KEYS
    encoding: str = ""


@dataclass(frozen=True)
class Version:
    """One object version or delete marker: metadata only (never the body)."""

    key: str
    version_id: str
    latest: bool
    last_modified: str
    delete_marker: bool
    etag: str = ""
    size: int = 0
    storage_class: str = "STANDARD"


@dataclass(frozen=True)
class Page:
    """One page: entries in listing order (a str is a common prefix), and where the next page starts."""

    entries: list[Version | str]
    truncated: bool
    next_key: str = ""
    next_version: str = ""


def is_listing(req: RawRequest) -> bool:
    """GET on a bucket with the `versions` sub-resource."""
    bucket, key = req.bucket_and_key()
    return req.method == "GET" and bool(bucket) and not key and "versions" in req.query()


def parse(req: RawRequest) -> Query:
    """The query's listing parameters; raise errors.B2Error with S3's answer for values S3 refuses."""
    q = req.query()
    raw_max = q.get("max-keys", "")
    if raw_max == "":
        max_keys = MAX_KEYS
    elif raw_max.isdigit() and int(raw_max) <= 2**31 - 1:
        max_keys = int(raw_max)
    else:
        raise errors.invalid_argument("Provided max-keys not an integer or within integer range")
    encoding = q.get("encoding-type", "")
    if encoding not in ("", "url"):
        raise errors.invalid_argument("Invalid Encoding Method specified in Request")
    query = Query(prefix=q.get("prefix", ""), delimiter=q.get("delimiter", ""), key_marker=q.get("key-marker", ""),
                  version_id_marker=q.get("version-id-marker", ""), max_keys=max_keys, encoding=encoding)
    if query.version_id_marker and not query.key_marker:
        raise errors.invalid_argument("A version-id marker cannot be specified without a key marker.")
    return query


def snapshot(bucket: object, prefix: str) -> list[tuple[str, list[Version]]]:
    """(key, versions newest first) for every key under `prefix`, sorted by key (code points = UTF-8 byte order).

    `bucket` is moto's FakeBucket; its key store maps a name to the list of its versions, oldest first (what
    GetObject answers is the last). Only metadata is read: no body is touched or copied."""
    from moto.s3.models import FakeKey

    store = dict.copy(bucket.keys)  # type: ignore[attr-defined]  # atomic under the GIL; the lists are moto's own
    out = []
    for name in sorted(n for n in store if n.startswith(prefix)):
        history = list(store[name])  # a writer may append meanwhile: list() takes one consistent view
        versions = []
        for i, v in enumerate(reversed(history)):
            stamp = v.last_modified.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            if isinstance(v, FakeKey):
                versions.append(Version(name, v.version_id, i == 0, stamp, False, v.etag, v.size,
                                        v.storage_class or "STANDARD"))
            else:  # FakeDeleteMarker
                versions.append(Version(name, v.version_id, i == 0, stamp, True))
        out.append((name, versions))
    return out


def page(keys: list[tuple[str, list[Version]]], query: Query) -> Page:
    """The page S3 answers for `query` over `keys` (as from snapshot()).

    key-marker alone starts after every version of that key (and after a common prefix it names); with a
    version-id-marker, after that version of that key. Common prefixes count as one entry each. IsTruncated only
    when something is left; NextKeyMarker/NextVersionIdMarker name the last entry returned."""
    marker, after_version = query.key_marker, query.version_id_marker
    limit = min(query.max_keys, MAX_KEYS)
    entries: list[Version | str] = []
    last_prefix = None
    for name, versions in keys:
        if marker and name < marker:
            continue
        if marker and name == marker:
            ids = [v.version_id for v in versions]
            versions = versions[ids.index(after_version) + 1:] if after_version in ids else []
            if not versions:
                continue
        rolled = _common_prefix(name, query.prefix, query.delimiter)
        if rolled is not None:
            if rolled == last_prefix or rolled == marker:  # counted already, here or on the page before
                continue
            if len(entries) >= limit:
                return _cut(entries, limit)
            entries.append(rolled)
            last_prefix = rolled
            continue
        for v in versions:
            if len(entries) >= limit:
                return _cut(entries, limit)
            entries.append(v)
    return Page(entries, False)


def _cut(entries: list[Version | str], limit: int) -> Page:
    """A truncated page (something is left after `entries`)."""
    if limit == 0:  # nothing asked, nothing returned, nothing to continue from (as S3's max-keys=0)
        return Page([], False)
    last = entries[-1]
    if isinstance(last, str):
        return Page(entries, True, next_key=last)
    return Page(entries, True, next_key=last.key, next_version=last.version_id)


def _common_prefix(name: str, prefix: str, delimiter: str) -> str | None:
    """The prefix a key rolls up into (prefix + text up to and including the first delimiter after it), or None."""
    if not delimiter:
        return None
    cut = name.find(delimiter, len(prefix))
    return None if cut < 0 else name[:cut + len(delimiter)]


def render(bucket: str, query: Query, result: Page) -> bytes:
    """The ListVersionsResult document (keys URL-encoded when encoding-type=url, as S3 does)."""
    enc = (lambda s: quote_plus(s, safe="/")) if query.encoding == "url" else (lambda s: s)

    def el(tag: str, value: object) -> str:
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return f"<{tag}>{html.escape(text, quote=False)}</{tag}>" if text != "" else f"<{tag}/>"

    owner = f"<Owner>{el('ID', OWNER[0])}{el('DisplayName', OWNER[1])}</Owner>"
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ListVersionsResult xmlns="{NS}">', el("Name", bucket),
             el("Prefix", enc(query.prefix)), el("KeyMarker", enc(query.key_marker)),
             el("VersionIdMarker", query.version_id_marker)]
    if result.truncated:
        parts.append(el("NextKeyMarker", enc(result.next_key)))
        if result.next_version:
            parts.append(el("NextVersionIdMarker", result.next_version))
    parts.append(el("MaxKeys", query.max_keys))
    if query.delimiter:
        parts.append(el("Delimiter", enc(query.delimiter)))
    if query.encoding:
        parts.append(el("EncodingType", query.encoding))
    parts.append(el("IsTruncated", result.truncated))
    prefixes = []
    for entry in result.entries:
        if isinstance(entry, str):
            prefixes.append(f"<CommonPrefixes>{el('Prefix', enc(entry))}</CommonPrefixes>")
        elif entry.delete_marker:
            parts.append(f"<DeleteMarker>{el('Key', enc(entry.key))}{el('VersionId', entry.version_id)}"
                         f"{el('IsLatest', entry.latest)}{el('LastModified', entry.last_modified)}{owner}"
                         "</DeleteMarker>")
        else:
            parts.append(f"<Version>{el('Key', enc(entry.key))}{el('VersionId', entry.version_id)}"
                         f"{el('IsLatest', entry.latest)}{el('LastModified', entry.last_modified)}"
                         f"{el('ETag', entry.etag)}{el('Size', entry.size)}{el('StorageClass', entry.storage_class)}"
                         f"{owner}</Version>")
    parts += prefixes
    parts.append("</ListVersionsResult>")
    return "".join(parts).encode("utf-8")


def find_bucket(name: str) -> object | None:
    """moto's FakeBucket called `name` (in whichever account moto filed it), or None."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, account = owner
    return s3_backends[account][partition].buckets.get(name)


def answer(req: RawRequest, start_response: Callable) -> Iterable[bytes] | None:
    """Answer a version listing, or None when the bucket does not exist (moto then answers NoSuchBucket)."""
    query = parse(req)
    name = req.bucket_and_key()[0]
    bucket = find_bucket(name)
    if bucket is None:
        return None
    body = render(name, query, page(snapshot(bucket, query.prefix), query))
    start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]

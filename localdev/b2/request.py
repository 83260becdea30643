"""The request as it arrived on the wire (raw path and query, header values, body), read once from the WSGI environ.

Signatures cover the raw request, so nothing here decodes or normalises more than SigV4 itself does.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import unquote

PRESERVED_NAMES = "moto.preserved_header_names"  # moto.core.request.PRESERVED_HEADER_NAMES_ENVIRON_KEY
# Headers WSGI keeps outside HTTP_* (PEP 3333).
_PLAIN = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


@dataclass(frozen=True)
class RawRequest:
    """One HTTP request: method, raw path and query (still percent-encoded), lower-cased headers, body bytes."""

    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """A header's value (names are case-insensitive), or None."""
        return self.headers.get(name.lower())

    def query_pairs(self) -> list[tuple[str, str]]:
        """(name, value) pairs of the query, decoded; a bare `?delete` is ("delete", "")."""
        pairs = []
        for part in self.raw_query.split("&") if self.raw_query else []:
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
        return pairs

    def query(self) -> dict[str, str]:
        """The query as a dict (first value wins)."""
        out: dict[str, str] = {}
        for name, value in self.query_pairs():
            out.setdefault(name, value)
        return out

    def bucket_and_key(self) -> tuple[str, str]:
        """(bucket, object key) of a path-style URL, both decoded; key "" for bucket-level requests."""
        path = unquote(self.raw_path).lstrip("/")
        bucket, _, key = path.partition("/")
        return bucket, key


def read(environ: dict) -> RawRequest:
    """Build the RawRequest from a WSGI environ, reading the body (werkzeug has already de-chunked it)."""
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    # PEP 3333 strings carry the wire bytes as latin-1; a client that sent raw UTF-8 gets its characters back.
    raw_uri = raw_uri.encode("latin-1", "replace").decode("utf-8", "replace")
    if raw_uri.startswith(("http://", "https://")):  # absolute-form request target
        raw_uri = "/" + raw_uri.split("://", 1)[1].partition("/")[2]
    if raw_uri:
        raw_path, _, raw_query = raw_uri.partition("?")
    else:  # not werkzeug's server: rebuild from the decoded parts (WSGI gives PATH_INFO as latin-1)
        from urllib.parse import quote

        raw_path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/~!$&'()*+,;=:@%")
        raw_query = environ.get("QUERY_STRING", "")
    headers: dict[str, str] = {}
    preserved = environ.get(PRESERVED_NAMES) or {}  # moto's handler keeps x-amz-meta-* names with underscores
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[preserved.get(key, key[5:].replace("_", "-")).lower()] = value
        elif key in _PLAIN and value:
            headers[_PLAIN[key]] = value
    stream = environ.get("wsgi.input") or io.BytesIO()
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):  # chunked transfer: read to the end
        body = stream.read()
    else:
        body = b""
    return RawRequest(environ.get("REQUEST_METHOD", "GET").upper(), raw_path or "/", raw_query, headers, body)


def rewind(environ: dict, body: bytes) -> None:
    """Hand the already-read body on to the wrapped app as a plain, sized stream."""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input_terminated"] = False
    environ.pop("HTTP_TRANSFER_ENCODING", None)

"""CORS preflights answered as B2 (and S3) answer them: from the bucket's CORS rules, without credentials.

moto approves any preflight on a bucket (a bucket without rules still gets 200, and the requested method and
headers are not checked); B2 denies preflights unless a rule matches the origin, the method and every requested
header. The rules are read from moto through its own S3 API (`GET /<bucket>?cors`), in process.
"""
from __future__ import annotations

import io
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import errors
from .request import RawRequest


@dataclass(frozen=True)
class Rule:
    """One CORSRule of the bucket."""

    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose: tuple[str, ...]
    max_age: str | None


def denied() -> errors.B2Error:
    """S3's answer to a preflight no rule allows (B2's exact text unconfirmed, see docs/contracts/b2-s3.md)."""
    return errors.B2Error(403, "AccessForbidden", "CORSResponse: This CORS request is not allowed. This is usually "
                          "because the evalution of Origin, request method / Access-Control-Request-Method or "
                          "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")


def rules_of(app: Callable, bucket: str, environ: dict, key_id: str, region: str) -> list[Rule]:
    """The bucket's CORS rules as moto holds them ([] when it has none or does not exist)."""
    if not bucket:
        return []
    day = time.strftime("%Y%m%d", time.gmtime())
    inner = {
        "REQUEST_METHOD": "GET", "PATH_INFO": f"/{bucket}", "QUERY_STRING": "cors", "RAW_URI": f"/{bucket}?cors",
        "SERVER_NAME": environ.get("SERVER_NAME", "127.0.0.1"), "SERVER_PORT": environ.get("SERVER_PORT", "80"),
        "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": environ.get("HTTP_HOST", "127.0.0.1"),
        # moto routes by the credential scope (service s3) and does not check signatures; this never leaves moto.
        "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential={key_id}/{day}/{region}/s3/aws4_request, "
                              "SignedHeaders=host, Signature=internal",
        "wsgi.input": io.BytesIO(), "wsgi.errors": environ.get("wsgi.errors"), "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "CONTENT_LENGTH": "0",
    }
    status: list[str] = []
    body = b"".join(app(inner, lambda s, h, exc_info=None: status.append(s) or (lambda data: None)))
    if not status or not status[0].startswith("200"):
        return []
    return _parse(body)


def _parse(body: bytes) -> list[Rule]:
    out = []
    for rule in ET.fromstring(body):
        if _local(rule.tag) != "CORSRule":
            continue
        values: dict[str, list[str]] = {}
        for child in rule:
            values.setdefault(_local(child.tag), []).append((child.text or "").strip())
        out.append(Rule(tuple(values.get("AllowedOrigin", [])), tuple(values.get("AllowedMethod", [])),
                        tuple(values.get("AllowedHeader", [])), tuple(values.get("ExposeHeader", [])),
                        (values.get("MaxAgeSeconds") or [None])[0]))
    return out


def _wildcard(pattern: str, value: str, case: bool = True) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def match(rules: list[Rule], origin: str, method: str, headers: list[str]) -> Rule | None:
    """The first rule allowing `origin`, `method` and every requested header (S3's evaluation order)."""
    for rule in rules:
        if not any(_wildcard(o, origin) for o in rule.origins):
            continue
        if method not in rule.methods:
            continue
        if all(any(_wildcard(a, h, case=False) for a in rule.headers) for h in headers):
            return rule
    return None


def preflight(app: Callable, environ: dict, req: RawRequest, key_id: str, region: str,
              start_response: Callable) -> Iterable[bytes]:
    """Answer an OPTIONS preflight from the bucket's rules: 200 with the CORS headers, or 403."""
    origin = req.header("origin") or ""
    method = (req.header("access-control-request-method") or "").strip()
    asked = [h.strip().lower() for h in (req.header("access-control-request-headers") or "").split(",") if h.strip()]
    rule = match(rules_of(app, req.bucket_and_key()[0], environ, key_id, region), origin, method, asked)
    if rule is None:
        return denied().respond(start_response, "OPTIONS")
    headers = [("Access-Control-Allow-Origin", "*" if rule.origins == ("*",) else origin),
               ("Access-Control-Allow-Methods", ", ".join(rule.methods)),
               ("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
               ("Content-Length", "0")]
    if asked:
        headers.append(("Access-Control-Allow-Headers", ", ".join(asked)))
    if rule.expose:
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule.expose)))
    if rule.max_age is not None:
        headers.append(("Access-Control-Max-Age", rule.max_age))
    start_response("200 OK", headers)
    return [b""]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]

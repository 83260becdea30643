"""The strict B2 front: a WSGI middleware that verifies and refuses like B2, in front of moto's S3 app.

moto keeps the objects and answers every request this layer lets through; the layer adds what moto does not do:
SigV4 verification with the one configured application key, B2's refusals (rules.py) and B2's CORS preflight
evaluation (cors.py) — and it answers ListObjectVersions itself (versions.py: moto's answer copies every body in the
bucket on each call). `GET /_health` answers readiness without credentials (B2 has no such route; no bucket can
be named `_health`).
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable

from . import cors, errors, request, rules, sigv4, versions

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def log(severity: str, message: str, **fields: object) -> None:
    """One JSON log line (never with secrets, signatures or query strings: those carry presigned signatures)."""
    print(json.dumps({"severity": severity, "message": message, **fields}), file=sys.stdout, flush=True)


class StrictB2:
    """Verify every request's signature and apply B2's rules, then hand it to `app` (moto) unchanged."""

    def __init__(self, app: WSGIApp, creds: sigv4.Credentials, max_skew: float = 900.0,
                 clock: Callable[[], float] = time.time, moto_versions: bool = False) -> None:
        self.app = app
        self.moto_versions = moto_versions  # let moto answer version listings (copies every body: comparisons only)
        self.creds = creds
        self.max_skew = max_skew
        self.clock = clock

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if environ.get("PATH_INFO") == "/_health" and method in ("GET", "HEAD"):
            body = b"" if method == "HEAD" else json.dumps({"ok": True, "region": self.creds.region}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        req = request.read(environ)
        if self._is_preflight(req):
            return cors.preflight(self.app, environ, req, self.creds.key_id, self.creds.region, start_response)
        try:
            sigv4.verify(req, self.creds, self.clock(), self.max_skew)
            rules.check(req)
            if not self.moto_versions and versions.is_listing(req):
                listed = versions.answer(req, start_response)
                if listed is not None:
                    return listed
        except errors.B2Error as exc:
            log("WARNING", "b2 refused a request", method=method, path=req.raw_path, status=exc.status,
                code=exc.code, detail=exc.message)
            return exc.respond(start_response, method)
        request.rewind(environ, req.body)
        answer = self.app(environ, start_response)
        if rules.operation(req) == "CreateBucket":
            _always_versioned(req.bucket_and_key()[0])
        return answer

    @staticmethod
    def _is_preflight(req: request.RawRequest) -> bool:
        """A CORS preflight: B2 answers it from the bucket's CORS rules without credentials (browsers send none)."""
        return (req.method == "OPTIONS" and req.header("origin") is not None
                and req.header("access-control-request-method") is not None and not sigv4.is_signed(req))


def _always_versioned(name: str) -> None:
    """B2 buckets are versioned from creation (a plain DELETE hides the file and keeps its versions); moto's start
    unversioned, where a DELETE would remove the object for good, kinder than B2."""
    bucket = versions.find_bucket(name)
    if bucket is not None and getattr(bucket, "versioning_status", None) != "Enabled":
        bucket.versioning_status = "Enabled"


def moto_app() -> WSGIApp:
    """moto's server app (what `moto_server` runs), with moto's answer-every-origin CORS switched off so that, as on
    B2, only the bucket's CORS rules decide. Must run before anything in this process imports moto."""
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    from moto import settings as moto_settings

    if not moto_settings.DISABLE_GLOBAL_CORS:
        raise RuntimeError("moto was imported before the strict B2 layer could turn its global CORS off; "
                           "run the layer in its own process (python -m localdev.b2)")
    from moto.server import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def create_app(creds: sigv4.Credentials, max_skew: float = 900.0, moto_versions: bool = False) -> StrictB2:
    """The strict layer around a fresh moto app."""
    return StrictB2(moto_app(), creds, max_skew=max_skew, moto_versions=moto_versions)

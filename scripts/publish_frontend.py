"""Publish the built front end (frontend/dist) to the B2 bucket under `site/`, with its runtime config.json.

Hashed assets get a year-long immutable Cache-Control; index.html and config.json are revalidated on every load,
so a deploy shows up at once behind bunny.net. Also sets the bucket's CORS rule for the front-end origin.

Only what differs is written: a file whose stored copy has the same SHA-256 (kept in its metadata), type and
Cache-Control is left alone, and the CORS rule is put only when it changed, so running it again creates no new
B2 file versions and `--changes-file` tells deploy.sh whether the CDN needs a purge.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions"))


def config_json(settings, env: Mapping[str, str], functions_base_url: str) -> dict:
    """The runtime config the front end fetches at start (`settings`: core, http and deploy loaded)."""
    from mam.settings import read_knob

    project = settings.core.project
    deploy = settings.deploy
    return {
        "functions": {n: f"{functions_base_url}/{n}" for n in ("upload_status", "index_videos", "library")},
        "firebase": {"apiKey": deploy.firebase_api_key,
                     "authDomain": deploy.firebase_auth_domain or f"{project}.firebaseapp.com", "projectId": project},
        # TransloadIt's group needs its secret, which this script never gets: read just these two knobs
        "transloadit": {"serviceUrl": read_knob("TRANSLOADIT_SERVICE_URL", env)},
        "publicRead": settings.http.public_read,
        "uploadMaxBytes": read_knob("UPLOAD_MAX_BYTES", env),
    }


def cache_control(path: Path) -> str:
    if path.name in ("index.html", "config.json"):
        return "no-cache"
    if "assets" in path.parts:  # Vite puts content-hashed files there
        return "public, max-age=31536000, immutable"
    return "public, max-age=300"


def cors_rules(origins: tuple[str, ...]) -> list[dict]:
    """The bucket's CORS rule: the front end may read (and range-read) objects."""
    return [{"AllowedOrigins": list(origins), "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"],
             "ExposeHeaders": ["Content-Length", "Content-Range", "ETag"], "MaxAgeSeconds": 3600}]


def _stored_matches(storage, key: str, digest: str, content_type: str, cache: str) -> bool:
    from mam.clients import b2

    meta = b2.head(storage, key)
    return bool(meta) and meta.get("Metadata", {}).get("sha256") == digest \
        and meta.get("ContentType") == content_type and meta.get("CacheControl") == cache


def _current_cors(storage) -> list[dict] | None:
    from botocore.exceptions import ClientError
    from mam.clients import b2

    try:
        return b2.client(storage).get_bucket_cors(Bucket=storage.bucket)["CORSRules"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchCORSConfiguration":
            return None
        raise


def _same_rules(a: list[dict] | None, b: list[dict]) -> bool:
    def norm(rules):
        return sorted(json.dumps({k: sorted(v) if isinstance(v, list) else v for k, v in r.items() if k != "ID"},
                                 sort_keys=True) for r in rules)

    return a is not None and norm(a) == norm(b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-file", default=".env.yaml")
    parser.add_argument("--functions-base-url", required=True)
    parser.add_argument("--dist", default=str(ROOT / "frontend" / "dist"))
    parser.add_argument("--prefix", default="site/")
    parser.add_argument("--changes-file", help="write the number of files uploaded here (0: nothing to purge)")
    args = parser.parse_args()
    env = {k: str(v) for k, v in (yaml.safe_load(Path(args.env_file).read_text()) or {}).items()}
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    from mam.clients import b2
    from mam.settings import ConfigError, load_settings

    try:
        settings = load_settings("b2", "http", "deploy")
        config = config_json(settings, os.environ, args.functions_base_url.rstrip("/"))
    except ConfigError as exc:  # B2_APPLICATION_KEY comes from the shell, never from the env file
        print(f"publish_frontend: {exc}", file=sys.stderr)
        return 1
    storage = settings.b2
    dist = Path(args.dist)
    if not (dist / "index.html").exists():
        print(f"publish_frontend: {dist}/index.html not found; run npm run build first", file=sys.stderr)
        return 1
    (dist / "config.json").write_text(json.dumps(config, indent=2))
    uploaded = unchanged = 0
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        rel = path.relative_to(dist)
        key, data = args.prefix + rel.as_posix(), path.read_bytes()
        ctype, cache = mimetypes.guess_type(path.name)[0] or "application/octet-stream", cache_control(rel)
        digest = hashlib.sha256(data).hexdigest()
        if _stored_matches(storage, key, digest, ctype, cache):
            unchanged += 1
            continue
        b2.put_bytes(storage, key, data, ctype, cache, metadata={"sha256": digest})
        uploaded += 1
    rules = cors_rules(settings.http.frontend_origin)
    cors = "unchanged"
    if not _same_rules(_current_cors(storage), rules):
        b2.client(storage).put_bucket_cors(Bucket=storage.bucket, CORSConfiguration={"CORSRules": rules})
        cors = "updated"
    print(f"published to b2://{storage.bucket}/{args.prefix}: {uploaded} file(s) uploaded, {unchanged} already "
          f"up to date; CORS rule {cors}")
    if args.changes_file:
        Path(args.changes_file).write_text(str(uploaded + (cors == "updated")))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Publish the built front end (frontend/dist) to the B2 bucket under `site/`, with its runtime config.json.

Hashed assets get a year-long immutable Cache-Control; index.html and config.json are revalidated on every load,
so a deploy shows up at once behind bunny.net. Also sets the bucket's CORS rule for the front-end origin.
"""
from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions"))


def config_json(env: dict, functions_base_url: str) -> dict:
    """The runtime config the front end fetches at start."""
    project = env["GCP_PROJECT"]
    return {
        "functions": {n: f"{functions_base_url}/{n}" for n in ("upload_status", "index_videos", "library")},
        "firebase": {"apiKey": env.get("FIREBASE_API_KEY", ""),
                     "authDomain": env.get("FIREBASE_AUTH_DOMAIN") or f"{project}.firebaseapp.com", "projectId": project},
        "transloadit": {"serviceUrl": env.get("TRANSLOADIT_SERVICE_URL") or "https://api2.transloadit.com"},
        "publicRead": str(env.get("PUBLIC_READ", "true")).lower() == "true",
        "uploadMaxBytes": int(env.get("UPLOAD_MAX_BYTES") or 5368709120),
    }


def cache_control(path: Path) -> str:
    if path.name in ("index.html", "config.json"):
        return "no-cache"
    if "assets" in path.parts:  # Vite puts content-hashed files there
        return "public, max-age=31536000, immutable"
    return "public, max-age=300"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-file", default=".env.yaml")
    parser.add_argument("--functions-base-url", required=True)
    parser.add_argument("--dist", default=str(ROOT / "frontend" / "dist"))
    parser.add_argument("--prefix", default="site/")
    args = parser.parse_args()
    env = {k: str(v) for k, v in (yaml.safe_load(Path(args.env_file).read_text()) or {}).items()}
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    from mam import b2
    from mam.settings import ConfigError, load_settings

    try:
        settings = load_settings("b2", "http")
    except ConfigError as exc:  # B2_APPLICATION_KEY comes from the shell, never from the env file
        print(f"publish_frontend: {exc}", file=sys.stderr)
        return 1
    dist = Path(args.dist)
    if not (dist / "index.html").exists():
        print(f"publish_frontend: {dist}/index.html not found; run npm run build first", file=sys.stderr)
        return 1
    (dist / "config.json").write_text(json.dumps(config_json(env, args.functions_base_url.rstrip("/")), indent=2))
    count = 0
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        rel = path.relative_to(dist)
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        b2.put_bytes(settings, args.prefix + rel.as_posix(), path.read_bytes(), ctype, cache_control(rel))
        count += 1
    b2.client(settings).put_bucket_cors(Bucket=settings.b2_bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": list(settings.frontend_origin), "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["Content-Length", "Content-Range", "ETag"], "MaxAgeSeconds": 3600}]})
    print(f"published {count} files to b2://{settings.b2_bucket}/{args.prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Prepare a freshly started local stack: bucket + CORS, task queues, the demo user, the front end's config.json.

Runs once the emulators answer; idempotent, so it can run against a stack that is already seeded.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from localdev.processes import wait_ready
from localdev.stack import BUCKET, DEMO_EMAIL, DEMO_PASSWORD, ROOT, Stack


def ensure_bucket(stack: Stack) -> None:
    """Create the B2 stand-in bucket with CORS for the front end (idempotent)."""
    from localdev.b2.client import for_stack

    s3 = for_stack(stack)  # signed with the stack's B2 key; PutBucketCors carries Content-MD5 as B2 needs
    try:
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-004"})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    origins = [stack.url("frontend"), f"http://localhost:{stack.port('frontend')}"]
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": origins, "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["Content-Length", "Content-Range", "ETag"], "MaxAgeSeconds": 3600}]})


def ensure_queues(stack: Stack) -> None:
    """Create every queue of the manifest in the Cloud Tasks emulator."""
    from localdev.stack import manifest
    from mam import tasks

    tasks.ensure_queues(manifest()["queues"])


def ensure_user(stack: Stack, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> None:
    """Create the demo user in the Auth emulator unless it exists, with a verified email: it is the local admin
    (ADMIN_EMAILS), and roles granted by email need a verified one."""
    from localdev import auth_users

    auth_users.ensure_user(stack, email, password, verified=True)


def write_frontend_config(stack: Stack) -> Path:
    """Write config.json next to the built front end."""
    stack.site_dir.mkdir(parents=True, exist_ok=True)
    path = stack.site_dir / "config.json"
    path.write_text(json.dumps(stack.frontend_config(), indent=2))
    return path


def bootstrap(stack: Stack) -> None:
    """Wait for the emulators, then seed everything the journeys need."""
    for service in stack.emulators():
        wait_ready(service)
    ensure_bucket(stack)
    ensure_queues(stack)
    ensure_user(stack)


def main() -> int:
    stack = Stack(offset=int(os.environ.get("MAM_PORT_OFFSET", "0")))
    write_frontend_config(stack)
    bootstrap(stack)
    demo = ROOT / "localdev" / "demo" / "__main__.py"
    if demo.exists() and os.environ.get("MAM_SEED_DEMO", "1") == "1":
        import runpy

        sys.argv = ["demo"]
        try:
            runpy.run_module("localdev.demo", run_name="__main__")
        except SystemExit:
            pass
        except Exception as exc:  # demo content is a nicety; the stack is usable without it
            print(json.dumps({"severity": "WARNING", "message": f"demo content not seeded: {exc}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

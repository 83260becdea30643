"""boto3 S3 clients for the local B2, for everything that is not a function: bootstrap, stand-ins, tests, benchmarks.

Configured as functions/mam/b2.py configures its own (checksum settings, Content-MD5 instead of flexible checksums)
and signed with the local stack's B2 application key unless told otherwise.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

REGION = "us-west-004"
_FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def stack_key() -> tuple[str, str]:
    """(key id, application key) the local stack's B2 accepts (localdev/stack.py LOCAL_SECRETS)."""
    from localdev.stack import LOCAL_SECRETS

    return LOCAL_SECRETS["B2_KEY_ID"], LOCAL_SECRETS["B2_APPLICATION_KEY"]


def s3_client(endpoint: str, *, key_id: str | None = None, secret: str | None = None, region: str = REGION,
              **config: Any) -> Any:
    """A boto3 S3 client on `endpoint` (the local B2) with the stack's key; `config` adds botocore Config options."""
    import boto3
    from botocore.config import Config

    if key_id is None or secret is None:
        default_id, default_secret = stack_key()
        key_id, secret = key_id or default_id, secret or default_secret
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=key_id, aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", request_checksum_calculation="when_required",
                      response_checksum_validation="when_required", **config))
    _use_content_md5()(client)
    return client


def for_stack(stack: Any, **config: Any) -> Any:
    """A boto3 S3 client on `stack`'s local B2 with the key its processes get (LOCAL_SECRETS, or a developer's .env)."""
    env = stack.env()
    return s3_client(stack.url("s3"), key_id=env["B2_KEY_ID"], secret=env["B2_APPLICATION_KEY"],
                     region=env.get("B2_REGION") or REGION, **config)


def _use_content_md5():
    """mam.b2.use_content_md5 (the production fix), importable from stand-in processes that lack functions/ on
    their path."""
    if str(_FUNCTIONS) not in sys.path:
        sys.path.append(str(_FUNCTIONS))
    from mam.b2 import use_content_md5

    return use_content_md5

"""boto3 S3 clients for the local B2, for everything that is not a function: bootstrap, stand-ins, tests, benchmarks.

Configured as functions/mam/clients/b2.py configures its own (checksum settings, Content-MD5 instead of flexible checksums)
and signed with the local stack's B2 application key unless told otherwise. The stand-ins write to B2 as the real
TransloadIt and iconik do, with a client B2 accepts; they never import our app (`mam`), so the Content-MD5 swap is
a small copy of `mam.clients.b2.use_content_md5` here (tests/contract/test_b2_strict.py holds both to B2's rules).
"""
from __future__ import annotations

from typing import Any

REGION = "us-west-004"


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
    client.meta.events.register("before-sign.s3", _content_md5_not_flexible_checksums,
                                unique_id="localdev-b2-content-md5")
    return client


def for_stack(stack: Any, **config: Any) -> Any:
    """A boto3 S3 client on `stack`'s local B2 with the key its processes get (LOCAL_SECRETS, or a developer's .env)."""
    env = stack.env()
    return s3_client(stack.url("s3"), key_id=env["B2_KEY_ID"], secret=env["B2_APPLICATION_KEY"],
                     region=env.get("B2_REGION") or REGION, **config)


def _content_md5_not_flexible_checksums(request: Any, **_kwargs: Any) -> None:
    """before-sign handler (so the signature covers what is sent): drop the flexible-checksum headers botocore added,
    which B2 refuses, and send Content-MD5 of the same body where one carried a value."""
    names = [n for n in request.headers
             if n.lower().startswith("x-amz-checksum-") or n.lower() == "x-amz-sdk-checksum-algorithm"]
    needs_md5 = any(n.lower().startswith("x-amz-checksum-") and n.lower() != "x-amz-checksum-mode" for n in names)
    for name in names:
        del request.headers[name]
    if needs_md5 and "Content-MD5" not in request.headers:
        from botocore.utils import calculate_md5

        request.headers["Content-MD5"] = calculate_md5(request.body or b"")

"""Contract tests of the local B2 (`python -m localdev.b2`: the strict B2 layer over moto), as a real process.

Driven by boto3 (the client our code uses), raw `requests` signed by an independent SigV4 signer written here
(so the layer is not only checked against botocore's idea of SigV4), and our own `mam.clients.b2` / publish script. What
the layer must answer comes from docs/contracts/b2-s3.md.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from standins.b2 import LocalB2

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "mam-local"
REGION = "us-west-004"
# Not the stack's pair: the layer must work with whatever key it is given.
KEY_ID = "0041234567890ab0000000007"
SECRET = "K004StrictLayerContractTestSecretValue"
ORIGIN = "http://127.0.0.1:18000"
pytestmark = pytest.mark.timeout(120)


# ---- fixtures and helpers ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def b2():
    with LocalB2(key_id=KEY_ID, secret=SECRET, region=REGION, buckets=(BUCKET,)) as local:
        yield local


@pytest.fixture(scope="module")
def s3(b2):
    """boto3 the way our code configures it (mam.clients.b2's checksum settings + Content-MD5 handler)."""
    return b2.client()


def plain_client(b2: LocalB2, *, key_id: str = KEY_ID, secret: str = SECRET, region: str = REGION):
    """boto3 exactly as functions/mam/clients/b2.py configured it before the fix: no Content-MD5 handler."""
    return boto3.client("s3", endpoint_url=b2.endpoint, region_name=region, aws_access_key_id=key_id,
                        aws_secret_access_key=secret,
                        config=Config(signature_version="s3v4", request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required"))


def error_of(resp: requests.Response) -> tuple[int, str, str]:
    """(status, Code, Message) of an XML error answer."""
    root = ET.fromstring(resp.content)
    return resp.status_code, root.findtext("Code") or "", root.findtext("Message") or ""


def client_error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    err = exc.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"].get("Message", "")


def sign(method: str, url: str, *, body: bytes = b"", headers: dict[str, str] | None = None,
         key_id: str = KEY_ID, secret: str = SECRET, region: str = REGION, amz_date: str | None = None,
         payload_hash: str | None = None) -> dict[str, str]:
    """Headers of a header-signed SigV4 request (independent of botocore). `url` must already be percent-encoded."""
    parts = urlsplit(url)
    amz_date = amz_date or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    payload_hash = payload_hash or hashlib.sha256(body).hexdigest()
    hdrs = {"host": parts.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash,
            **{k.lower(): v for k, v in (headers or {}).items()}}
    names = sorted(hdrs)
    query = "&".join(sorted(p if "=" in p else p + "=" for p in parts.query.split("&") if p))
    canonical = "\n".join([method, parts.path or "/", query, "".join(f"{n}:{hdrs[n].strip()}\n" for n in names),
                           ";".join(names), payload_hash])
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    hdrs["authorization"] = (f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={';'.join(names)}, "
                             f"Signature={signature}")
    del hdrs["host"]  # requests sends the same Host itself
    return hdrs


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


DELETE_XML = b"<Delete><Object><Key>raw/doomed.txt</Key></Object><Quiet>true</Quiet></Delete>"
CORS_XML = (b"<CORSConfiguration><CORSRule><AllowedOrigin>" + ORIGIN.encode() + b"</AllowedOrigin>"
            b"<AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader>"
            b"<ExposeHeader>Content-Range</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule>"
            b"</CORSConfiguration>")


# ---- what passes ------------------------------------------------------------------------------------------------
def test_header_signed_boto3_calls_pass(s3):
    key = "ok/a key with spaces & ünïcode+plus!.txt"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"hello", ContentType="text/plain")
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == 5
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"hello"
    assert key in [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="ok/")["Contents"]]
    s3.copy_object(Bucket=BUCKET, Key="ok/copy.txt", CopySource={"Bucket": BUCKET, "Key": key})
    s3.delete_object(Bucket=BUCKET, Key="ok/copy.txt")


def test_multipart_upload_passes(s3):
    data = os.urandom(9 * 1024 * 1024)  # above boto3's 8 MiB multipart threshold: CreateMultipartUpload/UploadPart
    s3.upload_fileobj(io.BytesIO(data), BUCKET, "ok/big.bin")
    assert s3.get_object(Bucket=BUCKET, Key="ok/big.bin")["Body"].read() == data


def test_raw_signed_request_with_independent_signer_passes(b2, s3):
    s3.put_object(Bucket=BUCKET, Key="raw/plain.txt", Body=b"abc")
    url = f"{b2.endpoint}/{BUCKET}/raw/plain.txt"
    assert requests.get(url, headers=sign("GET", url)).content == b"abc"
    body = b"uploaded by requests"
    put_url = f"{b2.endpoint}/{BUCKET}/{quote('raw/ü file.txt')}"
    assert requests.put(put_url, data=body, headers=sign("PUT", put_url, body=body)).status_code == 200
    assert s3.get_object(Bucket=BUCKET, Key="raw/ü file.txt")["Body"].read() == body
    unsigned = requests.put(put_url, data=body, headers=sign("PUT", put_url, body=body,
                                                             payload_hash="UNSIGNED-PAYLOAD"))
    assert unsigned.status_code == 200


def test_presigned_get_put_head_and_range(b2, s3):
    data = bytes(range(256)) * 4
    s3.put_object(Bucket=BUCKET, Key="media/clip.mp4", Body=data, ContentType="video/mp4")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "media/clip.mp4"}, ExpiresIn=600)
    assert requests.get(url).content == data
    for rng, want in (("bytes=100-199", data[100:200]), ("bytes=1000-", data[1000:]), ("bytes=-10", data[-10:])):
        resp = requests.get(url, headers={"Range": rng})  # what a <video> element sends
        assert resp.status_code == 206 and resp.content == want, rng
        assert resp.headers["Content-Range"].endswith(f"/{len(data)}")
    head = s3.generate_presigned_url("head_object", Params={"Bucket": BUCKET, "Key": "media/clip.mp4"})
    assert requests.head(head).headers["Content-Length"] == str(len(data))
    put = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "media/up.bin"}, ExpiresIn=60)
    assert requests.put(put, data=b"presigned body").status_code == 200
    assert s3.get_object(Bucket=BUCKET, Key="media/up.bin")["Body"].read() == b"presigned body"


def test_health_needs_no_credentials_and_moto_api_is_not_exposed(b2):
    assert requests.get(b2.endpoint + "/_health").json()["ok"] is True
    assert error_of(requests.get(b2.endpoint + "/moto-api/"))[:2] == (403, "AccessDenied")


# ---- B2's 403 answers -------------------------------------------------------------------------------------------
def test_anonymous_requests_are_refused(b2):
    for url in (f"{b2.endpoint}/", f"{b2.endpoint}/{BUCKET}", f"{b2.endpoint}/{BUCKET}/media/clip.mp4"):
        assert error_of(requests.get(url)) == (403, "AccessDenied",
                                               "Unauthenticated requests are not allowed for this api")


def test_wrong_key_id(b2):
    with pytest.raises(ClientError) as exc:
        plain_client(b2, key_id="0049999999999990000000001").list_objects_v2(Bucket=BUCKET)
    assert client_error(exc) == (403, "InvalidAccessKeyId", "The key '0049999999999990000000001' is not valid")
    with pytest.raises(ClientError) as exc:  # a master key id (12 hex) is not an application key id
        plain_client(b2, key_id="004123456789").list_objects_v2(Bucket=BUCKET)
    assert client_error(exc) == (403, "InvalidAccessKeyId", "Malformed Access Key Id")


def test_wrong_secret(b2):
    with pytest.raises(ClientError) as exc:
        plain_client(b2, secret=SECRET + "x").get_object(Bucket=BUCKET, Key="media/clip.mp4")
    assert client_error(exc)[:2] == (403, "SignatureDoesNotMatch")
    url = f"{b2.endpoint}/{BUCKET}/media/clip.mp4"
    assert error_of(requests.get(url, headers=sign("GET", url, secret="wrong"))) == (
        403, "SignatureDoesNotMatch", "Signature validation failed")


def test_wrong_region(b2):
    with pytest.raises(ClientError) as exc:
        plain_client(b2, region="us-east-1").list_objects_v2(Bucket=BUCKET)
    assert client_error(exc) == (403, "SignatureDoesNotMatch", "Signature validation failed")


def test_tampered_requests(b2, s3):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "media/clip.mp4"}, ExpiresIn=600)
    other_key = url.replace("/media/clip.mp4?", "/media/up.bin?")
    assert error_of(requests.get(other_key))[:2] == (403, "SignatureDoesNotMatch")
    sig = url.rsplit("X-Amz-Signature=", 1)[1]
    flipped = url[: -len(sig)] + ("0" if sig[0] != "0" else "1") + sig[1:]
    assert error_of(requests.get(flipped))[:2] == (403, "SignatureDoesNotMatch")
    longer = url.replace("X-Amz-Expires=600", "X-Amz-Expires=6000")
    assert error_of(requests.get(longer))[:2] == (403, "SignatureDoesNotMatch")
    signed = f"{b2.endpoint}/{BUCKET}/media/clip.mp4"
    headers = sign("GET", signed, headers={"range": "bytes=0-9"})
    headers["range"] = "bytes=0-99"  # a signed header changed in flight
    assert error_of(requests.get(signed, headers=headers))[:2] == (403, "SignatureDoesNotMatch")


def test_payload_must_match_its_signed_hash(b2):
    url = f"{b2.endpoint}/{BUCKET}/raw/lie.txt"
    headers = sign("PUT", url, body=b"what was signed")
    assert error_of(requests.put(url, data=b"what was sent", headers=headers))[:2] == (
        400, "XAmzContentSHA256Mismatch")


def test_expired_presigned_url(b2, s3):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "media/clip.mp4"}, ExpiresIn=1)
    time.sleep(2.2)
    status, code, message = error_of(requests.get(url))
    assert (status, code) == (403, "UnauthorizedAccess")
    assert message.startswith("Request has expired given timestamp: '") and message.endswith("and expiration: 1")


def test_presigned_lifetime_is_capped_at_seven_days(b2, s3):
    ok = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "media/clip.mp4"}, ExpiresIn=604800)
    assert requests.get(ok).status_code == 200
    too_long = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "media/clip.mp4"},
                                         ExpiresIn=604801)
    assert error_of(requests.get(too_long))[:2] == (400, "AuthorizationQueryParametersError")


def test_clock_skew_of_header_signed_requests(b2):
    url = f"{b2.endpoint}/{BUCKET}/media/clip.mp4"
    an_hour_ago = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 3600))
    assert error_of(requests.get(url, headers=sign("GET", url, amz_date=an_hour_ago)))[:2] == (
        403, "RequestTimeTooSkewed")
    five_minutes_ago = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 300))
    assert requests.get(url, headers=sign("GET", url, amz_date=five_minutes_ago)).status_code == 200


def test_signature_version_2_is_refused(b2):
    url = f"{b2.endpoint}/{BUCKET}/media/clip.mp4"
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    v2_header = requests.get(url, headers={"Authorization": f"AWS {KEY_ID}:c2lnbmF0dXJl", "Date": date})
    assert error_of(v2_header) == (403, "UnauthorizedAccess", f"bucket is not authorized: {BUCKET}")
    v2_query = f"{url}?AWSAccessKeyId={KEY_ID}&Expires={int(time.time()) + 600}&Signature=c2ln"
    assert error_of(requests.get(v2_query)) == (403, "UnauthorizedAccess", f"bucket is not authorized: {BUCKET}")


# ---- B2's 400 refusals ------------------------------------------------------------------------------------------
def test_unsupported_header_answers(b2):
    s3 = plain_client(b2)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=BUCKET, Key="ok/crc.txt", Body=b"x", ChecksumAlgorithm="CRC32")
    assert client_error(exc)[:2] == (400, "InvalidArgument")
    assert client_error(exc)[2] in ("Unsupported header 'x-amz-checksum-crc32' received for this API call.",
                                    "Unsupported header 'x-amz-sdk-checksum-algorithm' received for this API call.")
    s3.put_object(Bucket=BUCKET, Key="ok/plain.txt", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=BUCKET, Key="ok/plain.txt", ChecksumMode="ENABLED")
    assert client_error(exc) == (400, "InvalidArgument",
                                 "Unsupported header 'x-amz-checksum-mode' received for this API call.")
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=BUCKET, Key="ok/plain.txt", ChecksumMode="ENABLED")
    assert client_error(exc)[0] == 400  # a HEAD answer has no body: botocore sees the status only
    url = f"{b2.endpoint}/{BUCKET}/ok/plain.txt"
    resp = requests.get(url, headers=sign("GET", url, headers={"x-amz-checksum-mode": "ENABLED"}))
    assert error_of(resp) == (400, "InvalidArgument",
                              "Unsupported header 'x-amz-checksum-mode' received for this API call.")


def test_delete_objects_and_put_bucket_cors_need_content_md5(b2, s3):
    s3.put_object(Bucket=BUCKET, Key="raw/doomed.txt", Body=b"bye")
    delete_url, cors_url = f"{b2.endpoint}/{BUCKET}?delete", f"{b2.endpoint}/{BUCKET}?cors"
    for method, url, body in (("POST", delete_url, DELETE_XML), ("PUT", cors_url, CORS_XML)):
        missing = requests.request(method, url, data=body, headers=sign(method, url, body=body))
        assert error_of(missing) == (400, "InvalidRequest", "Missing required header for this request: Content-MD5")
        wrong = requests.request(method, url, data=body,
                                 headers=sign(method, url, body=body, headers={"content-md5": md5_b64(b"other")}))
        assert error_of(wrong)[:2] == (400, "BadDigest")
        junk = requests.request(method, url, data=body,
                                headers=sign(method, url, body=body, headers={"content-md5": "not-base64!"}))
        assert error_of(junk)[:2] == (400, "InvalidDigest")
        right = requests.request(method, url, data=body,
                                 headers=sign(method, url, body=body, headers={"content-md5": md5_b64(body)}))
        assert right.status_code == 200, right.text
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="raw/doomed.txt")
    assert s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"] == [ORIGIN]


def test_cors_rules_beyond_b2_limits_are_refused(b2):
    url = f"{b2.endpoint}/{BUCKET}?cors"
    for body, message in (
            (CORS_XML.replace(b"3600", b"86401"), "MaxAgeSeconds must be in the range [0, 86400]."),
            (CORS_XML.replace(ORIGIN.encode(), b""), "illegal empty string in allowedOrigins.")):
        resp = requests.put(url, data=body, headers=sign("PUT", url, body=body,
                                                         headers={"content-md5": md5_b64(body)}))
        assert error_of(resp) == (400, "InvalidArgument", message)


def test_object_names_beyond_b2_limits_are_refused(s3):
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=BUCKET, Key="k/" + "x" * 1023, Body=b"x")
    assert client_error(exc)[:2] == (400, "KeyTooLongError")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=BUCKET, Key="k/bell\x07.txt", Body=b"x")
    assert client_error(exc)[:2] == (400, "InvalidArgument")
    s3.put_object(Bucket=BUCKET, Key="k/" + "é" * 511, Body=b"x")  # 1024 bytes of UTF-8 is fine


# ---- the production defect and its fix --------------------------------------------------------------------------
def test_boto3_as_configured_before_the_fix_is_refused_by_b2(b2, s3):
    """boto3 >= 1.36 with request_checksum_calculation="when_required" still sends CRC32 where S3 requires an
    integrity header: B2 refuses DeleteObjects and PutBucketCors (the defect moto hid)."""
    s3.put_object(Bucket=BUCKET, Key="defect/a.txt", Body=b"a")
    old = plain_client(b2)
    with pytest.raises(ClientError) as exc:
        old.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "defect/a.txt"}], "Quiet": True})
    assert client_error(exc) == (400, "InvalidArgument",
                                 "Unsupported header 'x-amz-checksum-crc32' received for this API call.")
    with pytest.raises(ClientError) as exc:
        old.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [{
            "AllowedOrigins": [ORIGIN], "AllowedMethods": ["GET"]}]})
    assert client_error(exc) == (400, "InvalidArgument",
                                 "Unsupported header 'x-amz-checksum-crc32' received for this API call.")
    assert s3.head_object(Bucket=BUCKET, Key="defect/a.txt")  # nothing was deleted


def test_mam_b2_deletes_and_sets_cors_through_b2(b2, s3):
    from mam.clients import b2 as mam_b2
    from mam.settings import load_settings

    logged_before = len(b2.log_text())
    settings = load_settings("b2", environ={
        "GCP_PROJECT": "contract", "B2_ENDPOINT": b2.endpoint, "B2_REGION": REGION, "B2_BUCKET": BUCKET,
        "B2_KEY_ID": KEY_ID, "B2_APPLICATION_KEY": SECRET}).b2
    for key in ("fixed/a.txt", "fixed/b.txt"):
        mam_b2.put_bytes(settings, key, b"x", "text/plain")
    s3.put_object(Bucket=BUCKET, Key="fixed/a.txt", Body=b"second version")
    mam_b2.delete_keys(settings, ["fixed/b.txt", "fixed/never-existed.txt"])
    versions = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in mam_b2.list_versions(settings, "fixed/")]
    assert mam_b2.delete_objects(settings, versions) == []
    assert list(mam_b2.list_keys(settings, "fixed/")) == []
    mam_b2.client(settings).put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [ORIGIN], "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["Content-Range"], "MaxAgeSeconds": 3600}]})
    assert "b2 refused" not in b2.log_text()[logged_before:]


def test_publish_frontend_script_runs_against_b2(b2, s3, tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>MAM</title>")
    (dist / "assets" / "app-1a2b.js").write_text("console.log(1)")
    env_file = tmp_path / ".env.yaml"
    env_file.write_text(f"GCP_PROJECT: contract\nFRONTEND_ORIGIN: {ORIGIN}\nB2_ENDPOINT: {b2.endpoint}\n"
                        f"B2_REGION: {REGION}\nB2_BUCKET: {BUCKET}\nB2_KEY_ID: {KEY_ID}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "AWS_"))}
    env.update({"B2_APPLICATION_KEY": SECRET, "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT)])})
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "publish_frontend.py"), "--env-file", str(env_file),
                           "--functions-base-url", "http://127.0.0.1:18080", "--dist", str(dist)],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="site/")["Contents"]}
    assert keys == {"site/index.html", "site/config.json", "site/assets/app-1a2b.js"}
    assert s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"] == [ORIGIN]
    versions = len(list(s3.list_object_versions(Bucket=BUCKET, Prefix="site/")["Versions"]))

    # Run again: nothing is written (no new B2 file versions, CORS left alone); then one changed file is.
    changes = tmp_path / "changes"
    again = [sys.executable, str(ROOT / "scripts" / "publish_frontend.py"), "--env-file", str(env_file),
             "--functions-base-url", "http://127.0.0.1:18080", "--dist", str(dist), "--changes-file", str(changes)]
    done = subprocess.run(again, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "0 file(s) uploaded, 3 already up to date; CORS rule unchanged" in done.stdout
    assert changes.read_text() == "0"
    assert len(list(s3.list_object_versions(Bucket=BUCKET, Prefix="site/")["Versions"])) == versions
    (dist / "index.html").write_text("<!doctype html><title>MAM 2</title>")
    done = subprocess.run(again, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "1 file(s) uploaded, 2 already up to date" in done.stdout
    assert changes.read_text() == "1"
    assert s3.get_object(Bucket=BUCKET, Key="site/index.html")["Body"].read() == b"<!doctype html><title>MAM 2</title>"


# ---- CORS as the browser sees it --------------------------------------------------------------------------------
def test_cors_preflight_and_cross_origin_range_get(b2, s3):
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [ORIGIN], "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["range"],
        "ExposeHeaders": ["Content-Range", "ETag"], "MaxAgeSeconds": 600}]})
    s3.put_object(Bucket=BUCKET, Key="media/cors.mp4", Body=b"0123456789" * 10)
    obj = f"{b2.endpoint}/{BUCKET}/media/cors.mp4"
    pre = requests.options(obj, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                                         "Access-Control-Request-Headers": "range"})
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "GET" in pre.headers["Access-Control-Allow-Methods"]
    assert pre.headers["Access-Control-Allow-Headers"] == "range"
    assert pre.headers["Access-Control-Max-Age"] == "600"
    for headers in ({"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
                    {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"},
                    {"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "x-amz-meta-secret"}):
        denied = requests.options(obj, headers=headers)
        assert denied.status_code == 403 and "Access-Control-Allow-Origin" not in denied.headers, headers
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "media/cors.mp4"})
    got = requests.get(url, headers={"Origin": ORIGIN, "Range": "bytes=10-19"})
    assert got.status_code == 206 and got.content == b"0123456789"
    assert got.headers["Access-Control-Allow-Origin"] == ORIGIN
    other = requests.get(url, headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers  # moto's answer-everyone CORS is off


def test_preflight_is_denied_without_cors_rules(b2):
    fresh = "b2-no-cors"
    b2.client().create_bucket(Bucket=fresh, CreateBucketConfiguration={"LocationConstraint": REGION})
    resp = requests.options(f"{b2.endpoint}/{fresh}/x", headers={"Origin": ORIGIN,
                                                                 "Access-Control-Request-Method": "GET"})
    assert resp.status_code == 403 and "Access-Control-Allow-Origin" not in resp.headers


def test_refusals_are_logged_without_secrets_or_signatures(b2, s3):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "media/clip.mp4"}, ExpiresIn=600)
    requests.get(url.replace("/media/clip.mp4?", "/media/other.mp4?"))
    log = b2.log_text()
    assert '"code": "SignatureDoesNotMatch"' in log
    assert SECRET not in log and url.rsplit("X-Amz-Signature=", 1)[1] not in log and "X-Amz-Signature" not in log


# ---- versioning: B2 buckets are always versioned ----------------------------------------------------------------
def test_buckets_are_versioned_from_creation_and_a_plain_delete_only_hides_the_file(b2, s3):
    s3.create_bucket(Bucket="versioned-from-birth", CreateBucketConfiguration={"LocationConstraint": REGION})
    assert s3.get_bucket_versioning(Bucket="versioned-from-birth").get("Status") == "Enabled"
    first = s3.put_object(Bucket="versioned-from-birth", Key="clip.mp4", Body=b"v1")["VersionId"]
    s3.put_object(Bucket="versioned-from-birth", Key="clip.mp4", Body=b"v2")
    s3.delete_object(Bucket="versioned-from-birth", Key="clip.mp4")  # no version id: a hide marker, as on B2
    listed = s3.list_object_versions(Bucket="versioned-from-birth", Prefix="clip.mp4")
    assert len(listed["Versions"]) == 2 and len(listed["DeleteMarkers"]) == 1
    assert s3.get_object(Bucket="versioned-from-birth", Key="clip.mp4", VersionId=first)["Body"].read() == b"v1"
    assert "Contents" not in s3.list_objects_v2(Bucket="versioned-from-birth")


def test_versioning_cannot_be_suspended(b2, s3):
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    assert client_error(exc)[:2] == (400, "InvalidArgument")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})  # a no-op, accepted
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"

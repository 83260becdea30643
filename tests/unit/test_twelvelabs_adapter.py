"""The Twelve Labs adapter's pure parts: error mapping, Retry-After, failed-task reasons, webhook signatures."""
from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import hmac

import pytest
from mam.clients import twelvelabs as tl
from twelvelabs.core.api_error import ApiError
from twelvelabs.errors import BadRequestError, NotFoundError, TooManyRequestsError

SECRET = "whsec-unit"
BODY = b'{"id":"whe_1","type":"index.task.ready","data":{"id":"t1","status":"ready"}}'
T = 1_800_000_000


@pytest.mark.parametrize("exc,cls,code", [
    (ApiError(status_code=429, headers={}, body=""), tl.RateLimited, "too_many_requests"),  # documented empty 429
    (TooManyRequestsError(body={"code": "too_many_requests", "message": "slow"}, headers={}), tl.RateLimited,
     "too_many_requests"),
    (ApiError(status_code=503, headers={}, body={"error": {"code": "unavailable", "message": "x"}}), tl.Unavailable,
     "unavailable"),
    (ApiError(status_code=500, headers={}, body="<html>"), tl.Unavailable, ""),
    (NotFoundError(body={"code": "resource_not_exist", "message": "no"}, headers={}), tl.NotFound,
     "resource_not_exist"),
    (BadRequestError(body={"code": "resource_not_exist", "message": "no index"}, headers={}), tl.NotFound,
     "resource_not_exist"),
    (BadRequestError(body={"code": "search_page_token_expired", "message": "old"}, headers={}), tl.TokenExpired,
     "search_page_token_expired"),
    (BadRequestError(body={"code": "parameter_invalid", "message": "bad url"}, headers={}), tl.Rejected,
     "parameter_invalid"),
    (ApiError(status_code=401, headers={}, body={"code": "api_key_invalid", "message": "key"}), tl.Rejected,
     "api_key_invalid"),
])
def test_errors_map_on_status_code_not_sdk_class(exc, cls, code):
    mapped = tl.map_error(exc)
    assert type(mapped) is cls and mapped.code == code
    assert mapped.retryable == (cls in (tl.RateLimited, tl.Unavailable))


def test_transport_errors_are_retryable():
    import httpx

    mapped = tl.map_error(httpx.ConnectTimeout("timed out"))
    assert isinstance(mapped, tl.Unavailable) and mapped.retryable and mapped.status == 0


def test_retry_after_forms():
    assert tl.parse_retry_after({"Retry-After": "7"}, now=T) == 7
    assert tl.parse_retry_after({"retry-after-ms": "1500"}, now=T) == 1.5
    assert tl.parse_retry_after({"Retry-After": email.utils.formatdate(T + 20, usegmt=True)}, now=T) == 20
    assert tl.parse_retry_after({"X-Ratelimit-Reset": str(T + 30)}, now=T) == 30
    assert tl.parse_retry_after({"Retry-After": "soon"}, now=T) is None
    assert tl.parse_retry_after({"Retry-After": "999999"}, now=T) == 3600  # capped
    assert tl.parse_retry_after({}, now=T) is None
    mapped = tl.map_error(ApiError(status_code=429, headers={"retry-after": "3"}, body=""))
    assert mapped.retry_after == 3


def test_failed_task_reason_shapes():
    assert tl._reason({"code": "video_duration_too_short", "message": "Too short."}) == (
        "Too short.", "video_duration_too_short")
    assert tl._reason("The video is broken") == ("The video is broken", None)
    assert tl._reason({"code": "x"}) == ("x", "x")
    assert tl._reason(None) == (None, None)


def sig(secret=SECRET, body=BODY, t=T) -> str:
    return f"t={t},v1=" + hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_webhook_valid_signature():
    assert tl.verify_webhook(SECRET, sig(), BODY, now=T + 10) == T
    assert tl.sign_webhook(SECRET, BODY, T) == sig()
    # several v1 values (secret rotation): any one matching is enough
    assert tl.verify_webhook(SECRET, f"t={T},v1=00ff,v1={sig().split('v1=')[1]}", BODY, now=T) == T


@pytest.mark.parametrize("secret,header,body,now,reason", [
    (SECRET, sig("other-secret"), BODY, T, "does not match"),          # wrong secret
    (SECRET, sig(), BODY.replace(b"ready", b"failed", 1), T, "does not match"),  # altered body
    (SECRET, sig(), BODY, T + 301, "window"),                           # stale
    (SECRET, sig(), BODY, T - 301, "window"),                           # from the future
    (SECRET, None, BODY, T, "missing"),
    (SECRET, "v1=abc", BODY, T, "malformed"),
    (SECRET, "t=yesterday,v1=abc", BODY, T, "malformed"),
    (SECRET, f"t={T}", BODY, T, "malformed"),
    ("", sig(), BODY, T, "not configured"),
])
def test_webhook_rejections(secret, header, body, now, reason):
    with pytest.raises(tl.WebhookSignatureError) as err:
        tl.verify_webhook(secret, header, body, now=now)
    assert reason in err.value.reason and SECRET not in err.value.reason


def test_client_repr_hides_the_key():
    c = tl.TwelveLabsClient("secret-key-123", "http://127.0.0.1:1/v1.3", "idx")
    assert "secret-key-123" not in repr(c)


def _results(body: dict):
    from twelvelabs.core.pydantic_utilities import parse_obj_as
    from twelvelabs.types.search_results import SearchResults

    return parse_obj_as(SearchResults, body)


def test_search_page_orders_by_rank_and_reads_metadata_from_clips():
    # a Marengo 3.0 answer (group_by=video): clips carry rank but no score; user metadata rides on the clips
    res = _results({"data": [
        {"id": "v-b", "clips": [{"video_id": "v-b", "start": 9, "end": 14, "rank": 4, "user_metadata": {"mam_id": "b"}},
                                {"video_id": "v-b", "start": 1, "end": 6, "rank": 2, "user_metadata": {"mam_id": "b"}}]},
        {"id": "v-a", "clips": [{"video_id": "v-a", "start": 0, "end": 5, "rank": 1, "thumbnail_url": "http://t/1",
                                 "user_metadata": {"mam_id": "a"}}]},
        {"id": "v-c", "clips": [{"video_id": "v-c", "start": 0, "end": 5}]},  # no rank: last
    ], "page_info": {"limit_per_page": 3, "total_results": 3, "next_page_token": "n1",
                     "page_expires_at": "2030-01-01T00:00:00Z"}})
    page = tl._search_page(res)
    assert [h.video_id for h in page.hits] == ["v-a", "v-b", "v-c"]
    assert [h.best_rank for h in page.hits] == [1, 2, None]
    assert [c.rank for c in page.hits[1].clips] == [2, 4] and page.hits[1].clips[0].start == 1.0
    assert [h.user_metadata for h in page.hits] == [{"mam_id": "a"}, {"mam_id": "b"}, {}]
    assert page.hits[0].clips[0].thumbnail_url == "http://t/1"
    assert (page.next_page_token, page.total_results) == ("n1", 3)
    # no relevance score is modelled: Marengo 3.0 has none to give
    assert "score" not in {f.name for f in dataclasses.fields(tl.Clip)}

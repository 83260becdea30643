"""Both URL shapes of every function, on the running functions (functions-framework, the stack's emulators).

A deployed gen2 function answers at `https://REGION-PROJECT.cloudfunctions.net/NAME/...` and at its run.app URL,
so one request arrives as `/NAME/add` or as `/add`. Each function answers /health and one real route in both
shapes; the signed webhooks (TransloadIt, Twelve Labs, B2 events) verify in both, their signatures not covering
the URL.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests
from mam import manifest
from standins.tasks import headers as cloud_tasks_token

from localdev.stack import LOCAL_SECRETS

pytestmark = pytest.mark.timeout(120)
NAMES = [s.name for s in manifest.functions()]
SHAPES = ["run.app", "cloudfunctions.net"]


def url(base: str, name: str, shape: str, path: str) -> str:
    """`path` of function `name` as one of the two URL shapes delivers it."""
    return f"{base}/{name}{path}" if shape == "cloudfunctions.net" else f"{base}{path}"


@pytest.fixture(scope="module")
def running(start_function, emulators):
    """Every function of the manifest, started once (the session keeps them)."""
    return {name: start_function(name) for name in NAMES}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", NAMES)
def test_health_answers_in_both_shapes(running, name, shape):
    resp = requests.get(url(running[name], name, shape, "/health"), timeout=10)
    assert resp.status_code == 200 and resp.json() == {"ok": True, "function": name}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_path_under_another_functions_name_is_not_routed(running, shape):
    resp = requests.get(url(running["library"], "upload_status", shape, "/videos"), timeout=10)
    assert resp.status_code == 404 if shape == "cloudfunctions.net" else resp.status_code == 200


# ---- one real route per function, in both shapes -----------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_upload_status_status(running, shape):
    resp = requests.post(url(running["upload_status"], "upload_status", shape, "/status"),
                         json={"ids": [uuid.uuid4().hex[:20]]}, timeout=10)
    assert resp.status_code == 200 and resp.headers["ETag"], resp.text


@pytest.mark.parametrize("shape", SHAPES)
def test_transloadit_notify_verifies_the_signature(running, shape):
    from mam.uploads import signing

    raw = json.dumps({"assembly_id": uuid.uuid4().hex, "ok": "ASSEMBLY_COMPLETED", "fields": {}, "results": {}})
    target = url(running["transloadit_notify"], "transloadit_notify", shape, "")  # notify_url is the bare URL
    signed = {"transloadit": raw, "signature": signing.sign(LOCAL_SECRETS["TRANSLOADIT_AUTH_SECRET"], raw)}
    resp = requests.post(target, data=signed, timeout=10)
    assert resp.status_code == 200 and resp.json()["result"] == "ignored_unknown_assembly", resp.text
    forged = requests.post(target, data={**signed, "signature": "sha384:" + "0" * 96}, timeout=10)
    assert forged.status_code == 401


def delivery(stack, running, name: str) -> dict[str, str]:
    """The Authorization header of a Cloud Tasks delivery to `name` (its audience is the function's base URL,
    whichever URL shape the request then arrives in)."""
    return cloud_tasks_token(stack, running[name])


@pytest.mark.parametrize("shape", SHAPES)
def test_upload_tasks_check(running, stack, shape):
    resp = requests.post(url(running["upload_tasks"], "upload_tasks", shape, "/check"),
                         json={"video_id": uuid.uuid4().hex[:20], "attempt": 1},
                         headers=delivery(stack, running, "upload_tasks"), timeout=10)
    assert resp.status_code == 200 and resp.json()["result"] == "video_gone", resp.text


@pytest.mark.parametrize("shape", SHAPES)
def test_index_videos_webhook_verifies_the_signature(running, shape):
    body = json.dumps({"id": "whe_1", "type": "index.created", "data": {"id": "x"}}).encode()
    t = int(time.time())
    mac = hmac.new(LOCAL_SECRETS["TWELVELABS_WEBHOOK_SECRET"].encode(), f"{t}.".encode() + body, hashlib.sha256)
    target = url(running["index_videos"], "index_videos", shape, "/webhook")
    resp = requests.post(target, data=body, headers={"TL-Signature": f"t={t},v1={mac.hexdigest()}"}, timeout=10)
    assert resp.status_code == 200 and resp.json() == {"ignored": "index.created"}, resp.text
    assert requests.post(target, data=body, headers={"TL-Signature": f"t={t},v1=00"}, timeout=10).status_code == 401


@pytest.mark.parametrize("shape", SHAPES)
def test_index_tasks_follow(running, stack, shape):
    payload = {"video_id": uuid.uuid4().hex[:20], "task_id": "t", "hop": 0, "started": time.time()}
    resp = requests.post(url(running["index_tasks"], "index_tasks", shape, "/tasks/follow"), json=payload,
                         headers=delivery(stack, running, "index_tasks"), timeout=10)
    assert resp.status_code == 200 and resp.json() == {"stopped": "not following this task"}, resp.text


@pytest.mark.parametrize("shape", SHAPES)
def test_library_list_and_signed_b2_events(running, shape):
    listed = requests.get(url(running["library"], "library", shape, "/videos"), timeout=10)
    assert listed.status_code == 200 and isinstance(listed.json()["videos"], list), listed.text
    body = json.dumps({"events": []}).encode()
    mac = hmac.new(LOCAL_SECRETS["B2_EVENT_SIGNING_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    target = url(running["library"], "library", shape, "/b2-events")
    resp = requests.post(target, data=body, headers={"X-Bz-Event-Notification-Signature": f"v1={mac}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    forged = requests.post(target, data=body, headers={"X-Bz-Event-Notification-Signature": "v1=00"}, timeout=10)
    assert forged.status_code == 401


@pytest.mark.parametrize("shape", SHAPES)
def test_iconik_handler_custom_action(running, start_standin, shape):
    """The whole custom-action path up to the operation: secret, body, both storages asked of iconik, context."""
    from standins.iconik import APP_ID, SECRET, Admin

    admin = Admin(start_standin("iconik"))
    info = admin.info()
    base = running["iconik_handler"]
    query = {"b2_storage_id": info["b2_storage_id"], "ll_storage_id": info["ll_storage_id"]}
    body = {"user_id": str(uuid.uuid4()), "system_domain_id": str(uuid.uuid4()), "context": "BULK",
            "action_id": str(uuid.uuid4()), "asset_ids": [], "collection_ids": [], "saved_search_ids": [],
            "metadata_view_id": None, "metadata_values": None, "date_created": "2024-01-02T03:04:05.123456",
            "auth_token": admin.token(APP_ID)}
    headers = {"x-bz-secret": SECRET}
    added = requests.post(url(base, "iconik_handler", shape, "/add"), params=query, json=body, headers=headers,
                          timeout=30)
    assert added.status_code == 200 and added.text == "OK"  # nothing selected: accepted, no run
    unknown = requests.post(url(base, "iconik_handler", shape, "/copy"), params=query, json=body, headers=headers,
                            timeout=30)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    home = requests.get(url(base, "iconik_handler", shape, "/"), timeout=10)
    assert home.status_code == 200 and "ready for requests" in home.text


@pytest.mark.parametrize("shape", SHAPES)
def test_iconik_tasks_step(running, stack, shape):
    headers = delivery(stack, running, "iconik_tasks")
    resp = requests.post(url(running["iconik_tasks"], "iconik_tasks", shape, "/step"), json={}, headers=headers,
                         timeout=10)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "bad_task", resp.text
    other = requests.post(url(running["iconik_tasks"], "iconik_tasks", shape, "/other"), json={}, headers=headers,
                          timeout=10)
    assert other.status_code == 404


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "path"), [("upload_tasks", "/check"), ("index_tasks", "/tasks/follow"),
                                            ("iconik_tasks", "/step")])
def test_task_routes_refuse_a_call_without_cloud_tasks_token_in_both_shapes(running, name, path, shape):
    resp = requests.post(url(running[name], name, shape, path), json={}, timeout=10)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "missing_token", resp.text

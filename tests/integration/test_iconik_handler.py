"""The original plugin's outside contract (contracts section 4 test table), rewritten for our functions.

iconik_handler and iconik_tasks run under functions-framework against the Firestore and Cloud Tasks emulators, moto
and the iconik stand-in; the stand-in delivers custom actions exactly as iconik does. Nothing of ours is mocked.
"""
from __future__ import annotations

import pytest
import requests
from standins.iconik import SECRET

pytestmark = pytest.mark.timeout(120)
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def payload(ik, **over):
    """A custom-action body like iconik's (contracts 1.2) with a token the stand-in issued for our App-ID."""
    body = {"user_id": "7b5d4d8c-2ac3-4c1f-9d49-8d1c8c1e2a10", "system_domain_id": "0c4e9a4e-7a4b-4f0a-9b8e-2f3a4b5c6d7e",
            "context": "BULK", "action_id": "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c", "asset_ids": [],
            "collection_ids": [], "saved_search_ids": [], "metadata_view_id": None, "metadata_values": None,
            "date_created": "2022-04-29T00:22:10.316685", "auth_token": ik.admin.token("local-iconik-app")}
    body.update(over)
    return body


def seeded(ik, spec=None):
    """PAYLOAD of the original tests: one asset and one collection holding a sub-collection with an asset."""
    return ik.admin.seed(spec or {"assets": 1, "collections": [{"collections": [{"assets": 1}]}], "file_size": 700})


def test_add_copies_every_format_of_assets_and_collections_to_lucidlink(ik):
    s = seeded(ik, {"assets": 1, "collections": [{"collections": [{"assets": 1}]}], "file_size": 700,
                    "formats": {"ORIGINAL": ["B2"], "PPRO_PROXY": ["B2"]}})
    body = payload(ik, asset_ids=s["asset_ids"], collection_ids=[s["collections"][0]["id"]])
    resp = requests.post(ik.action_url("add"), json=body, headers={"x-bz-secret": SECRET}, timeout=30)
    assert resp.status_code == 200 and resp.text == "OK"
    run = ik.wait_run(resp.headers["X-Run-Id"])
    assert run["status"] == "succeeded", run
    bulk = ik.calls("POST", "/bulk/")
    assert len(bulk) == 4  # 2 formats x (assets, collections), as the original
    assert all(r["path"] == f"/API/files/v1/storages/{ik.ll}/bulk/" for r in bulk)
    assert {(r["json"]["format_name"], r["json"]["object_type"]) for r in bulk} == {
        ("ORIGINAL", "assets"), ("ORIGINAL", "collections"), ("PPRO_PROXY", "assets"), ("PPRO_PROXY", "collections")}
    for aid in s["all_asset_ids"]:
        files = ik.ll_files(aid)
        assert len(files) == 2 and all(p.stat().st_size == 700 for p in files)
    assert all(r["app_id"] == "local-iconik-app" and r["has_auth_token"] for r in ik.admin.requests())


def test_remove_copies_the_first_format_to_b2_then_deletes_and_purges_lucidlink(ik):
    s = seeded(ik)
    body = payload(ik, asset_ids=s["asset_ids"], collection_ids=[s["collections"][0]["id"]])
    resp = requests.post(ik.action_url("remove"), json=body, headers={"x-bz-secret": SECRET}, timeout=30)
    assert resp.status_code == 200 and resp.text == "OK"
    run = ik.wait_run(resp.headers["X-Run-Id"])
    assert run["status"] == "succeeded" and run["summary"]["done"] == 2, run
    bulk = ik.calls("POST", "/bulk/")
    assert len(bulk) == 2 and {r["json"]["object_type"] for r in bulk} == {"assets", "collections"}
    assert all(r["json"]["format_name"] == "ORIGINAL" and f"/storages/{ik.b2}/" in r["path"] for r in bulk)
    deletes = [r for r in ik.calls("DELETE", "/file_sets/") if not r["path"].endswith("/purge/")]
    purges = ik.calls("DELETE", "/purge/")
    assert len(deletes) == len(purges) == 4  # 2 assets x 2 formats, each exactly once (the original: twice)
    assert len({r["path"] for r in deletes}) == 4
    for aid in s["all_asset_ids"]:
        assert ik.ll_files(aid) == []
        assert list(ik.b2_objects(aid).values()) == [700]  # the original, and only it, is on B2


def test_health_routes(ik):
    root = requests.get(ik.handler.url + "/", timeout=10)
    assert root.status_code == 200 and "ready for requests" in root.text
    health = requests.get(ik.handler.url + "/health", timeout=10)
    assert health.status_code == 200 and health.json()["ok"] is True


@pytest.mark.parametrize("data,ctype", [("This is not JSON!", "application/json"), ("", None),
                                        ("[1, 2]", "application/json")])
def test_400_invalid_or_missing_content(ik, data, ctype):
    headers = {"x-bz-secret": SECRET, **({"Content-Type": ctype} if ctype else {})}
    resp = requests.post(ik.action_url("add"), data=data, headers=headers, timeout=10)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_json"


def test_json_is_accepted_whatever_the_content_type(ik):
    import json

    s = seeded(ik, {"assets": 1})
    resp = requests.post(ik.action_url("add"), data=json.dumps(payload(ik, asset_ids=s["asset_ids"])),
                         headers={"x-bz-secret": SECRET, "Content-Type": "text/plain"}, timeout=10)
    assert resp.status_code == 200


@pytest.mark.parametrize("context", ["INVALID", None, 7])
def test_400_invalid_or_missing_context(ik, context):
    body = payload(ik, asset_ids=seeded(ik, {"assets": 1})["asset_ids"])
    if context is None:
        body.pop("context")
    else:
        body["context"] = context
    resp = requests.post(ik.action_url("remove"), json=body, headers={"x-bz-secret": SECRET}, timeout=10)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_context"


@pytest.mark.parametrize("headers", [{"x-bz-secret": "wrong"}, {}, {"X-BZ-SECRET": SECRET + " "},
                                     {"Authorization": f"Bearer {SECRET}"}])
def test_401_invalid_or_missing_secret(ik, headers):
    resp = requests.post(ik.action_url("add"), json=payload(ik), headers=headers, timeout=10)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == "x-bz-secret"
    assert SECRET not in resp.text


def test_secret_header_name_is_case_insensitive(ik):
    s = seeded(ik, {"assets": 1})
    resp = requests.post(ik.action_url("add"), json=payload(ik, asset_ids=s["asset_ids"]),
                         headers={"X-Bz-Secret": SECRET}, timeout=10)
    assert resp.status_code == 200


def test_404_unknown_path_only_after_the_storages_resolve(ik):
    body = payload(ik, asset_ids=seeded(ik, {"assets": 1})["asset_ids"])
    resp = requests.post(ik.action_url("invalid"), json=body, headers={"x-bz-secret": SECRET}, timeout=10)
    assert resp.status_code == 404
    storage_calls = ik.calls("GET", "/files/v1/storages/")
    assert [r["path"] for r in storage_calls] == [f"/API/files/v1/storages/{ik.ll}/", f"/API/files/v1/storages/{ik.b2}/"]


def test_405_get_on_an_action_path(ik):
    resp = requests.get(ik.action_url("add"), headers={"x-bz-secret": SECRET}, timeout=10)
    assert resp.status_code == 405 and resp.headers["Allow"] == "POST"
    # the secret is checked first, as the original's Cloud Function entry did
    assert requests.get(ik.action_url("add"), timeout=10).status_code == 401


@pytest.mark.parametrize("which", ["ll_storage_id", "b2_storage_id"])
def test_500_unknown_storage(ik, which):
    body = payload(ik, asset_ids=seeded(ik, {"assets": 1})["asset_ids"])
    resp = requests.post(ik.action_url("add", **{which: UNKNOWN}), json=body, headers={"x-bz-secret": SECRET},
                         timeout=10)
    assert resp.status_code == 500 and resp.json()["error"]["code"] == "unknown_storage"
    assert "Traceback" not in resp.text


def test_500_missing_storage_id_never_reaches_iconik(ik):
    resp = requests.post(f"{ik.handler.url}/add?b2_storage_id={ik.b2}", json=payload(ik),
                         headers={"x-bz-secret": SECRET}, timeout=10)
    assert resp.status_code == 500
    assert ik.calls("GET", "/storages/") == []


def test_500_when_iconik_refuses_the_token(ik):
    body = payload(ik, asset_ids=seeded(ik, {"assets": 1})["asset_ids"])
    ik.admin.revoke(body["auth_token"])
    resp = requests.post(ik.action_url("add"), json=body, headers={"x-bz-secret": SECRET}, timeout=10)
    assert resp.status_code == 500 and resp.json()["error"]["code"] == "iconik_auth"
    assert body["auth_token"] not in resp.text


def test_stand_in_delivery_exactly_as_iconik_and_the_run_report(ik):
    s = seeded(ik, {"collections": [{"assets": 3}]})
    delivery = ik.fire("remove", collections=[s["collections"][0]["id"]], context="COLLECTION")
    assert delivery["status"] == 200 and delivery["body"] == "OK" and delivery["elapsed_ms"] < 5000
    ik.wait_run(delivery["run_id"])
    report = requests.get(f"{ik.handler.url}/runs/{delivery['run_id']}", headers={"x-bz-secret": SECRET}, timeout=10)
    assert report.status_code == 200
    body = report.json()
    assert body["status"] == "succeeded" and body["summary"]["done"] == 3 and "token" not in report.text
    assert requests.get(f"{ik.handler.url}/runs/{delivery['run_id']}", timeout=10).status_code == 401
    job = next(j for j in ik.admin.jobs() if j["id"] == body["iconik_job_id"])
    assert job["status"] == "FINISHED" and job["progress_processed"] == job["progress_total"] == 3
    assert "Removed the LucidLink copies of 3 of 3 assets" in job["message"]


MALFORMED = [
    ("asset_ids", "abc"), ("asset_ids", [1, 2]), ("asset_ids", ["not-a-uuid"]), ("asset_ids", ["../../etc"]),
    ("collection_ids", {"a": 1}), ("auth_token", None), ("auth_token", 5), ("auth_token", ""),
    ("saved_search_ids", "x"), ("user_id", ["x"]),
]


@pytest.mark.parametrize("field,value", MALFORMED)
def test_400_malformed_bodies(ik, field, value):
    body = payload(ik, asset_ids=[UNKNOWN])
    body[field] = value
    # unknown storage ids too: the body is judged first, as in the original order
    resp = requests.post(ik.action_url("remove", ll_storage_id=UNKNOWN), json=body, headers={"x-bz-secret": SECRET},
                         timeout=10)
    assert resp.status_code == 400, (field, resp.text)
    assert resp.json()["error"]["code"] == "invalid_request"
    assert ik.calls("GET", "/storages/") == []


def test_400_huge_id_lists_and_413_huge_bodies(ik):
    import uuid

    many = [str(uuid.uuid4()) for _ in range(10001)]
    resp = requests.post(ik.action_url("remove"), json=payload(ik, asset_ids=many), headers={"x-bz-secret": SECRET},
                         timeout=30)
    assert resp.status_code == 400 and "at most 10000" in resp.json()["error"]["message"]
    split = payload(ik, asset_ids=many[:6000], collection_ids=many[6000:])
    resp = requests.post(ik.action_url("remove"), json=split, headers={"x-bz-secret": SECRET}, timeout=30)
    assert resp.status_code == 400
    resp = requests.post(ik.action_url("remove"), data="[" + "1," * 600000 + "1]", headers={"x-bz-secret": SECRET},
                         timeout=30)
    assert resp.status_code == 413
    assert ik.calls("GET", "/storages/") == []


def test_400_malformed_formats_parameter(ik):
    body = payload(ik, asset_ids=[UNKNOWN])
    resp = requests.post(ik.action_url("add", formats="ORIGINAL,../x"), json=body, headers={"x-bz-secret": SECRET},
                         timeout=10)
    assert resp.status_code == 400


def test_nothing_selected_is_ok_and_starts_nothing(ik):
    resp = requests.post(ik.action_url("remove"), json=payload(ik), headers={"x-bz-secret": SECRET}, timeout=10)
    assert resp.status_code == 200 and resp.text == "OK" and "X-Run-Id" not in resp.headers
    assert ik.calls("POST", "/jobs/") == []


def test_fire_script_seeds_fires_like_iconik_and_watches_the_run(ik):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "fire_custom_action.py"), "remove", "--seed", "12",
                             "--depth", "1", "--fanout", "3", "--watch", "--timeout", "60", "--handler", ik.handler.url,
                             "--iconik", ik.iconik_url], cwd=ROOT, env=dict(os.environ), capture_output=True,
                            text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "handler answered 200 'OK'" in result.stdout and '"status": "succeeded"' in result.stdout
    assert "Removed the LucidLink copies of 12 of 12 assets" in result.stdout


def test_stored_actions_fired_through_iconiks_callback_reach_the_handler(ik):
    """The operator's script creates the six actions for our endpoint; iconik's callback fires one at the handler."""
    import os
    import subprocess
    import sys

    from conftest import ROOT
    from mam.clients.iconik import IconikClient
    from mam.iconik import actions

    client = IconikClient(ik.iconik_url, "local-iconik-app", "operator-token")
    made = actions.sync_actions(client, ik.handler.url, ik.b2, ik.ll, "ORIGINAL", secret=SECRET,
                                app_id="local-iconik-app")
    assert [c.what for c in made] == ["created"] * 6
    remove_bulk = next(a for a in client.list_actions() if a["context"] == "BULK" and "/remove?" in a["url"])
    s = seeded(ik, {"assets": 2, "file_size": 500})
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "fire_custom_action.py"), "remove",
                             "--action-id", remove_bulk["id"], "--asset", s["asset_ids"][0], "--asset",
                             s["asset_ids"][1], "--watch", "--timeout", "60", "--handler", ik.handler.url,
                             "--iconik", ik.iconik_url], cwd=ROOT, env=dict(os.environ), capture_output=True,
                            text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # formats=ORIGINAL on the action: only the ORIGINAL leaves LucidLink, the proxy stays
    for aid in s["asset_ids"]:
        assert [p.suffix for p in ik.ll_files(aid)] == [".mp4"]
        assert list(ik.b2_objects(aid).values()) == [500]
    act = next(a for a in client.list_actions() if a["id"] == remove_bulk["id"])
    assert act["status"] == "HEALTHY"

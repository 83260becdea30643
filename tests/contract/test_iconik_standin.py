"""Contract tests of the local iconik stand-in, driven over HTTP exactly as our handler and iconik itself call it.

moto (S3, the "B2" storage) and the stand-in (`python -m localdev.iconik`, a real process) run on free ports.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import requests

from localdev.iconik.seed import content
from localdev.processes import free_port
from standins.iconik import MotoS3, Standin

APP_ID = "contract-app"
H = {"App-ID": APP_ID, "Auth-Token": "contract-token"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("iconik-standin")
    with MotoS3() as s3, Standin(s3_endpoint=s3.url, lucidlink_dir=tmp / "lucidlink", process=True) as st:
        yield {"s3": s3, "st": st, "api": st.url + "/API", "admin": st.admin, "info": st.admin.info(),
               "ll": Path(st.admin.info()["lucidlink_dir"])}


@pytest.fixture(autouse=True)
def clean(env):
    env["admin"].reset(wipe_storage=True)
    yield


def get(env, path, **kw):
    return requests.get(env["api"] + path, headers=kw.pop("headers", H), timeout=10, **kw)


def follow(env, path):
    """Every object of a listing, following the host-relative next_url like the plugin's get_objects."""
    out, url = [], env["api"] + path
    while url:
        body = requests.get(url, headers=H, timeout=10).json()
        out += body["objects"]
        url = env["st"].url + body["next_url"] if body.get("next_url") else None
    return out


def bulk(env, storage, ids, object_type="assets", fmt="ORIGINAL"):
    r = requests.post(f"{env['api']}/files/v1/storages/{storage}/bulk/", headers=H, timeout=10,
                      json={"object_ids": ids, "object_type": object_type, "format_name": fmt})
    assert r.status_code == 202, r.text
    return r.json()["job_id"]


def job(env, job_id):
    return get(env, f"/jobs/v1/jobs/{job_id}/").json()


def s3_object(env, key):
    s3 = env["s3"].client()
    try:
        return s3.get_object(Bucket="mam-local", Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


# ---- process, auth, errors -------------------------------------------------------------------------------
def test_cli_process_answers_health_and_info(env):
    assert requests.get(env["st"].url + "/_health", timeout=5).json() == {"ok": True}
    info = env["info"]
    assert info["bucket"] == "mam-local" and info["prefix"] == "iconik/"
    assert info["b2_storage_id"] != info["ll_storage_id"]


@pytest.mark.parametrize("headers", [{}, {"App-ID": APP_ID}, {"Auth-Token": "x"}, {"App-ID": "", "Auth-Token": ""}])
def test_missing_auth_headers_are_401_with_iconik_error_body(env, headers):
    r = get(env, f"/files/v1/storages/{env['info']['ll_storage_id']}/", headers=headers)
    assert r.status_code == 401
    assert r.json() == {"errors": ["Token is invalid"]}


def test_app_id_knob_and_issued_tokens_are_bound_to_their_app(env):
    admin = env["admin"]
    admin.config(app_id=APP_ID, auth_tokens=[])
    sid = env["info"]["ll_storage_id"]
    assert get(env, f"/files/v1/storages/{sid}/").status_code == 401  # static token no longer accepted
    token = admin.token(APP_ID)
    assert get(env, f"/files/v1/storages/{sid}/", headers={"App-ID": APP_ID, "Auth-Token": token}).status_code == 200
    assert get(env, f"/files/v1/storages/{sid}/", headers={"App-ID": "other", "Auth-Token": token}).status_code == 401
    admin.revoke(token)
    assert get(env, f"/files/v1/storages/{sid}/", headers={"App-ID": APP_ID, "Auth-Token": token}).status_code == 401


def test_storages_with_and_without_trailing_slash_and_unknown_404(env):
    sid = env["info"]["b2_storage_id"]
    a = get(env, f"/files/v1/storages/{sid}/")
    b = get(env, f"/files/v1/storages/{sid}")
    assert a.status_code == b.status_code == 200 and a.json()["id"] == b.json()["id"] == sid
    assert a.json()["method"] == "B2" and a.json()["settings"]["bucket"] == "mam-local"
    r = get(env, "/files/v1/storages/00000000-0000-0000-0000-000000000000/")
    assert r.status_code == 404 and r.json() == {"errors": ["Storage doesn't exist"]}


# ---- collections, formats, file sets, files ----------------------------------------------------------------
def test_collection_contents_paging_recursion_and_object_types(env):
    seeded = env["admin"].seed({"collections": [
        {"title": "root", "assets": 5, "interleave": True, "collections": [{"assets": 2}, {"assets": 1}]}]})
    root = seeded["collections"][0]
    items = follow(env, f"/assets/v1/collections/{root['id']}/contents/?object_types=collections,assets&per_page=2")
    assert len(items) == 7
    assert [i["object_type"] for i in items[:4]] == ["assets", "collections", "assets", "collections"]
    first = get(env, f"/assets/v1/collections/{root['id']}/contents/",
                params={"object_types": "collections,assets", "per_page": 2}).json()
    assert first["next_url"].startswith(f"/API/assets/v1/collections/{root['id']}/contents/?")
    assert "object_types=collections%2Cassets" in first["next_url"] and first["pages"] == 4 and first["total"] == 7
    only = follow(env, f"/assets/v1/collections/{root['id']}/contents/?object_types=collections")
    assert {i["id"] for i in only} == {c["id"] for c in root["collections"]}
    assert get(env, f"/assets/v1/collections/{root['id']}/contents/", params={"per_page": 1001}).status_code == 400
    assert get(env, "/assets/v1/collections/00000000-0000-0000-0000-000000000000/contents/").status_code == 404


def test_formats_by_name_file_sets_and_files_of_an_asset(env):
    seeded = env["admin"].seed({"assets": 1, "file_size": 300,
                                "formats": {"ORIGINAL": ["LL"], "PPRO_PROXY": ["LL", "B2"]}})
    aid = seeded["asset_ids"][0]
    fmt = get(env, f"/files/v1/assets/{aid}/formats/ORIGINAL/")
    assert fmt.status_code == 200 and fmt.json()["name"] == "ORIGINAL"
    missing = get(env, f"/files/v1/assets/{aid}/formats/EDIT_PROXY/")
    assert missing.status_code == 404 and missing.json() == {"errors": ["Format for this asset doesn't exist"]}
    formats = follow(env, f"/files/v1/assets/{aid}/formats/?per_page=1")
    assert sorted(f["name"] for f in formats) == ["ORIGINAL", "PPRO_PROXY"]
    ll = env["info"]["ll_storage_id"]
    sets = follow(env, f"/files/v1/assets/{aid}/formats/{fmt.json()['id']}/storages/{ll}/file_sets/?per_page=1")
    assert len(sets) == 1 and sets[0]["storage_id"] == ll and sets[0]["status"] == "ACTIVE"
    all_sets = follow(env, f"/files/v1/assets/{aid}/file_sets/?per_page=2")
    assert len(all_sets) == 3
    files = follow(env, f"/files/v1/assets/{aid}/files/?per_page=2")
    assert len(files) == 3 and all(f["status"] == "CLOSED" and f["size"] == 300 for f in files)
    orig = next(f for f in files if f["format_id"] == fmt.json()["id"])
    data = (env["ll"] / orig["directory_path"] / orig["name"]).read_bytes()
    assert data == content(aid, "ORIGINAL", 300) and orig["checksum"] == hashlib.md5(data).hexdigest()


# ---- bulk copies -------------------------------------------------------------------------------------------
def test_bulk_copy_of_a_nested_collection_really_copies_bytes_to_the_bucket(env):
    seeded = env["admin"].seed({"collections": [{"assets": 2, "collections": [{"assets": 2}]}], "file_size": 5000})
    job_id = bulk(env, env["info"]["b2_storage_id"], [seeded["collections"][0]["id"]], "collections")
    assert job(env, job_id)["status"] in ("READY", "STARTED", "FINISHED")
    assert env["admin"].wait_idle(30)
    j = job(env, job_id)
    assert j["status"] == "FINISHED" and j["progress_processed"] == j["progress_total"] == 4
    assert j["type"] == "TRANSFER" and j["progress"] == 100
    for aid in seeded["all_asset_ids"]:
        dump = env["admin"].asset(aid)
        b2 = [s for s in dump["file_sets"] if s["storage_id"] == env["info"]["b2_storage_id"]]
        assert len(b2) == 1 and b2[0]["format_name"] == "ORIGINAL"
        f = b2[0]["files"][0]
        assert f["status"] == "CLOSED" and f["size"] == f["blob_size"] == 5000
        body = s3_object(env, f"iconik/{f['directory_path']}/{f['name']}")
        assert body == content(aid, "ORIGINAL", 5000)
        assert f["checksum"] == hashlib.md5(body).hexdigest()
    # a second copy of the same assets is skipped, not duplicated
    again = bulk(env, env["info"]["b2_storage_id"], seeded["all_asset_ids"])
    env["admin"].wait_idle(30)
    assert job(env, again)["status"] == "FINISHED"
    assert sum(s["storage_id"] == env["info"]["b2_storage_id"]
               for s in env["admin"].asset(seeded["all_asset_ids"][0])["file_sets"]) == 1


def test_bulk_copy_validation_and_missing_format_fails_the_job(env):
    seeded = env["admin"].seed({"assets": 2, "formats": {"ORIGINAL": ["LL"]}})
    b2 = env["info"]["b2_storage_id"]
    for bad in ({"object_type": "assets"}, {"object_ids": [], "object_type": "assets"},
                {"object_ids": seeded["asset_ids"], "object_type": "things"}):
        r = requests.post(f"{env['api']}/files/v1/storages/{b2}/bulk/", headers=H, json=bad, timeout=10)
        assert r.status_code == 400 and "errors" in r.json()
    job_id = bulk(env, b2, seeded["asset_ids"], fmt="PPRO_PROXY")
    env["admin"].wait_idle(30)
    j = job(env, job_id)
    assert j["status"] == "FAILED" and "Format for this asset doesn't exist" in j["error_message"]


@pytest.mark.parametrize("fault,status", [("fail", "FAILED"), ("warn", "FINISHED_WITH_WARNING"),
                                          ("truncate", "FINISHED"), ("corrupt", "FINISHED"), ("open", "FINISHED"),
                                          ("no_file", "FINISHED")])
def test_copy_faults_for_chosen_assets(env, fault, status):
    seeded = env["admin"].seed({"assets": 2, "file_size": 1000})
    bad, good = seeded["asset_ids"]
    env["admin"].copy_faults({bad: fault})
    job_id = bulk(env, env["info"]["b2_storage_id"], seeded["asset_ids"])
    env["admin"].wait_idle(30)
    assert job(env, job_id)["status"] == status
    b2 = env["info"]["b2_storage_id"]
    good_b2 = [s for s in env["admin"].asset(good)["file_sets"] if s["storage_id"] == b2]
    assert good_b2[0]["files"][0]["size"] == 1000 and good_b2[0]["files"][0]["status"] == "CLOSED"
    bad_b2 = [s for s in env["admin"].asset(bad)["file_sets"] if s["storage_id"] == b2]
    if fault in ("fail", "warn"):
        assert bad_b2 == []
        return
    files = bad_b2[0]["files"]
    if fault == "no_file":
        assert files == []
    elif fault == "truncate":
        assert files[0]["size"] == files[0]["blob_size"] == 500
    elif fault == "corrupt":
        ll_file = next(s for s in env["admin"].asset(bad)["file_sets"] if s["storage_id"] != b2
                       and s["format_name"] == "ORIGINAL")["files"][0]
        assert files[0]["size"] == 1000 and files[0]["checksum"] != ll_file["checksum"]
    elif fault == "open":
        assert files[0]["status"] == "OPEN"


@pytest.mark.parametrize("forced", ["FINISHED_WITH_WARNING", "ABORTED", "PAUSED"])
def test_forced_bulk_job_status(env, forced):
    seeded = env["admin"].seed({"assets": 1})
    env["admin"].config(bulk_job_status=forced)
    job_id = bulk(env, env["info"]["b2_storage_id"], seeded["asset_ids"])
    env["admin"].wait_idle(30)
    assert job(env, job_id)["status"] == forced
    if forced == "PAUSED":  # a never-ending job can be finished by hand
        env["admin"].force_job(job_id, status="FINISHED")
        assert job(env, job_id)["status"] == "FINISHED"


# ---- delete and purge --------------------------------------------------------------------------------------
def test_delete_then_purge_removes_the_real_files(env):
    seeded = env["admin"].seed({"assets": 1, "formats": {"ORIGINAL": ["LL"]}})
    aid = seeded["asset_ids"][0]
    fs = follow(env, f"/files/v1/assets/{aid}/file_sets/")[0]
    f = follow(env, f"/files/v1/assets/{aid}/files/")[0]
    path = env["ll"] / f["directory_path"] / f["name"]
    assert path.exists()
    url = f"{env['api']}/files/v1/assets/{aid}/file_sets/{fs['id']}/"
    early = requests.delete(url + "purge/", headers=H, timeout=10)
    assert early.status_code == 400  # purge only after delete
    r = requests.delete(url, headers=H, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "DELETED"
    assert path.exists()  # marked deleted; bytes stay until the purge
    assert requests.delete(url + "purge/", headers=H, timeout=10).status_code == 204
    assert not path.exists() and not path.parent.exists()
    assert requests.delete(url + "purge/", headers=H, timeout=10).status_code == 404
    assert requests.delete(url, headers=H, timeout=10).status_code == 404
    assert follow(env, f"/files/v1/assets/{aid}/files/") == []


def test_delete_immediately_is_204_and_purges(env):
    seeded = env["admin"].seed({"assets": 1, "formats": {"ORIGINAL": ["B2"]}})
    aid = seeded["asset_ids"][0]
    fs = follow(env, f"/files/v1/assets/{aid}/file_sets/")[0]
    f = follow(env, f"/files/v1/assets/{aid}/files/")[0]
    key = f"iconik/{f['directory_path']}/{f['name']}"
    assert s3_object(env, key) is not None
    r = requests.delete(f"{env['api']}/files/v1/assets/{aid}/file_sets/{fs['id']}/?immediately=true", headers=H,
                        timeout=10)
    assert r.status_code == 204 and s3_object(env, key) is None


# ---- jobs and custom actions --------------------------------------------------------------------------------
def test_jobs_create_update_and_validation(env):
    r = requests.post(env["api"] + "/jobs/v1/jobs/", headers=H, timeout=10, json={
        "title": "Remove from LucidLink", "type": "CUSTOM", "status": "STARTED", "object_type": "assets",
        "progress_total": 10, "progress_processed": 0, "metadata": {"run_id": "r1"}})
    assert r.status_code == 201
    jid = r.json()["id"]
    assert r.json()["started_at"]
    r = requests.patch(f"{env['api']}/jobs/v1/jobs/{jid}/", headers=H, timeout=10,
                       json={"progress_processed": 5, "message": "half way"})
    assert r.json()["progress"] == 50 and r.json()["message"] == "half way"
    r = requests.patch(f"{env['api']}/jobs/v1/jobs/{jid}", headers=H, timeout=10, json={"status": "FINISHED"})
    assert r.status_code == 200 and r.json()["completed_at"]
    bad = requests.patch(f"{env['api']}/jobs/v1/jobs/{jid}/", headers=H, timeout=10, json={"status": "DONE"})
    assert bad.status_code == 400 and "status" in bad.json()["errors"]
    assert requests.post(env["api"] + "/jobs/v1/jobs/", headers=H, timeout=10, json={"title": "x"}).status_code == 400
    assert get(env, "/jobs/v1/jobs/00000000-0000-0000-0000-000000000000/").status_code == 404
    listed = get(env, "/jobs/v1/jobs/", params={"status": "FINISHED"}).json()
    assert [j["id"] for j in listed["objects"]] == [jid]


class _Receiver(BaseHTTPRequestHandler):
    seen: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.seen.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


def test_custom_actions_crud_and_callback_posts_like_iconik(env):
    port = free_port()
    server = HTTPServer(("127.0.0.1", port), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{port}/remove?b2_storage_id=b&ll_storage_id=l"
        r = requests.post(env["api"] + "/assets/v1/custom_actions/BULK/", headers=H, timeout=10, json={
            "type": "POST", "context": "BULK", "title": "Remove from LucidLink", "url": url,
            "headers": {"x-bz-secret": "s3cret"}, "app_id": APP_ID})
        assert r.status_code == 201
        act = r.json()
        assert get(env, "/assets/v1/custom_actions/").json()["objects"][0]["id"] == act["id"]
        assert get(env, "/assets/v1/custom_actions/ASSET/").json()["objects"] == []
        assert requests.post(env["api"] + "/assets/v1/custom_actions/NOPE/", headers=H, json={"title": "t", "url": "u"},
                             timeout=10).status_code == 400
        cb = requests.post(f"{env['api']}/assets/v1/custom_actions/BULK/{act['id']}/callback/", headers=H, timeout=20,
                           json={"asset_ids": ["a1"], "collection_ids": ["c1"]})
        assert cb.status_code == 200 and cb.json()["delivery"]["status"] == 200
        sent = _Receiver.seen[-1]
        assert sent["path"] == "/remove?b2_storage_id=b&ll_storage_id=l"
        assert sent["headers"]["x-bz-secret"] == "s3cret" and sent["headers"]["Content-Type"] == "application/json"
        body = sent["body"]
        assert set(body) == {"user_id", "system_domain_id", "context", "action_id", "asset_ids", "collection_ids",
                             "saved_search_ids", "metadata_view_id", "metadata_values", "date_created", "auth_token"}
        assert body["context"] == "BULK" and body["asset_ids"] == ["a1"] and body["action_id"] == act["id"]
        assert "+" not in body["date_created"] and not body["date_created"].endswith("Z")
        # the token iconik sent works against the API with the action's App-ID
        ok = get(env, "/users/v1/users/current/", headers={"App-ID": APP_ID, "Auth-Token": body["auth_token"]})
        assert ok.status_code == 200
        assert requests.delete(f"{env['api']}/assets/v1/custom_actions/BULK/{act['id']}", headers=H,
                               timeout=10).status_code == 204
        assert get(env, "/assets/v1/custom_actions/").json()["objects"] == []
    finally:
        server.shutdown()


# ---- knobs --------------------------------------------------------------------------------------------------
def test_latency_knob(env):
    env["admin"].config(latency_ms=150)
    started = time.monotonic()
    assert get(env, "/settings/v1/system/current/").status_code == 200
    assert time.monotonic() - started >= 0.15


def test_injected_429_with_and_without_retry_after_then_5xx(env):
    admin = env["admin"]
    admin.fault(status=429, count=1, retry_after=2)
    admin.fault(status=429, count=1)
    admin.fault(status=502, count=1, body="html", path="/storages/")
    sid = env["info"]["ll_storage_id"]
    first = get(env, f"/files/v1/storages/{sid}/")
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    second = get(env, f"/files/v1/storages/{sid}/")
    assert second.status_code == 429 and "Retry-After" not in second.headers
    third = get(env, f"/files/v1/storages/{sid}/")
    assert third.status_code == 502 and third.headers["Content-Type"].startswith("text/html")
    assert get(env, f"/files/v1/storages/{sid}/").status_code == 200
    stats = admin.stats()
    assert stats["total"] == 4 and stats["injected"] == 3 and stats["status_429"] == 2


def test_a_fault_scoped_to_a_token_leaves_other_callers_alone(env):
    admin = env["admin"]
    other = admin.token(APP_ID)
    rules = admin.fault(status=503, count=1, token=other)
    assert rules[0]["token"] == "set"  # the token itself is never echoed
    sid = env["info"]["ll_storage_id"]
    assert get(env, f"/files/v1/storages/{sid}/").status_code == 200  # another token: neither hit nor used up
    assert get(env, f"/files/v1/storages/{sid}/", headers={"App-ID": APP_ID, "Auth-Token": other}).status_code == 503
    assert admin.stats()["injected"] == 1


def test_rate_limit_answers_429_beyond_the_rate_with_retry_after(env):
    env["admin"].config(rate_limit=5, rate_burst=5)
    statuses = [get(env, "/settings/v1/system/current/") for _ in range(12)]
    codes = [r.status_code for r in statuses]
    assert codes[:5] == [200] * 5 and 429 in codes[5:]
    limited = next(r for r in statuses if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1 and limited.headers["RateLimit-Remaining"] == "0"
    assert env["admin"].stats()["rate_limited"] == codes.count(429)
    time.sleep(1.1)
    assert get(env, "/settings/v1/system/current/").status_code == 200


def test_counters_and_request_log(env):
    env["admin"].reset_stats()
    sid = env["info"]["ll_storage_id"]
    get(env, f"/files/v1/storages/{sid}/")
    get(env, f"/files/v1/storages/{sid}/")
    stats = env["admin"].stats()
    assert stats["by_route"] == {"GET /API/files/v1/storages/<storage_id>/": 2}
    log = env["admin"].requests(path="/storages/")
    assert len(log) == 2 and log[0]["app_id"] == APP_ID and log[0]["has_auth_token"] is True
    assert "contract-token" not in json.dumps(log)


def test_seeding_a_large_nested_tree_is_fast_and_paged(env):
    from localdev.iconik.seed import nested_tree

    started = time.monotonic()
    seeded = env["admin"].seed({**nested_tree(2500, depth=1, fanout=2), "formats": {"ORIGINAL": ["LL"]},
                                "file_size": 16})
    assert len(seeded["all_asset_ids"]) == 2500 and time.monotonic() - started < 30
    leaf = seeded["collections"][0]["collections"][0]
    page = get(env, f"/assets/v1/collections/{leaf['id']}/contents/", params={"per_page": 1000}).json()
    assert page["total"] == 1250 and page["pages"] == 2 and page["next_url"]


def test_a_replaced_fault_rule_counts_its_skips_afresh():
    """A rule's skip count belongs to that rule: a new rule (which may reuse a freed rule's memory) lets its own
    `skip` requests through first. Counting by id() once let a later test's rule inherit an earlier one's count."""
    from localdev.iconik.faults import Faults

    faults = Faults()
    for _ in range(50):
        faults.set([{"status": 503, "skip": 2, "path": "^/API/"}])
        picked = [faults.pick("GET", "/API/files/v1/storages/x/") for _ in range(3)]
        assert picked[:2] == [None, None] and picked[2] is not None and picked[2].status == 503

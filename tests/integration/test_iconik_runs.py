"""Runs end to end: recursion over paged collections, partial copy failures, duplicates and crashes, 429 storms,
job statuses and deadlines, iconik going away. Outcomes are checked on the real LucidLink folder and B2 bucket.

Real parts only (see test_iconik_handler.py): emulators, moto and the stand-in as processes, our entry points
under functions-framework; the stand-in's knobs inject the failures.
"""
from __future__ import annotations

import hashlib
import time

import pytest
import requests
from standins.iconik import SECRET, retune
from standins.tasks import headers as cloud_tasks_token

from localdev.iconik.seed import content

pytestmark = pytest.mark.timeout(120)


def body_for(ik, *, assets=(), collections=(), context="BULK", token=None, date="2024-01-02T03:04:05.123456"):
    return {"user_id": "7b5d4d8c-2ac3-4c1f-9d49-8d1c8c1e2a10", "system_domain_id": "0c4e9a4e-7a4b-4f0a-9b8e-2f3a4b5c6d7e",
            "context": context, "action_id": "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c", "asset_ids": list(assets),
            "collection_ids": list(collections), "saved_search_ids": [], "metadata_view_id": None,
            "metadata_values": None, "date_created": date, "auth_token": token or ik.admin.token("local-iconik-app")}


def post_action(ik, op, body, formats=None):
    resp = requests.post(ik.action_url(op, formats), json=body, headers={"x-bz-secret": SECRET}, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.headers["X-Run-Id"]


def ll_bytes_ok(ik, aid, size):
    """The asset's LucidLink ORIGINAL is still there, byte for byte."""
    files = [p for p in ik.ll_files(aid) if p.suffix == ".mov"]
    return len(files) == 1 and files[0].read_bytes() == content(aid, "ORIGINAL", size)


def b2_original_ok(ik, aid, size):
    objs = {k: v for k, v in ik.b2_objects(aid).items() if k.endswith(".mov")}
    if len(objs) != 1:
        return False
    body = ik.s3().get_object(Bucket="mam-local", Key=next(iter(objs)))["Body"].read()
    return body == content(aid, "ORIGINAL", size)


def per_path_counts(ik, method, suffix):
    counts: dict[str, int] = {}
    for r in ik.admin.requests():
        if r["method"] == method and r["path"].endswith(suffix) and r["status"] < 300:
            counts[r["path"]] = counts.get(r["path"], 0) + 1
    return counts


def deletes(ik):
    return {p: n for p, n in per_path_counts(ik, "DELETE", "/").items() if not p.endswith("/purge/")}


# ---- recursion -----------------------------------------------------------------------------------------------
def test_recursion_across_paged_collections_with_shared_assets_and_a_cycle(ik, monkeypatch):
    retune(monkeypatch, ICONIK_CONTENTS_PER_PAGE="2")
    s = ik.admin.seed({"collections": [{"title": "root", "assets": 3, "interleave": True, "collections": [
        {"assets": 3, "collections": [{"assets": 2}, {"assets": 0}]}, {"assets": 1}]}], "file_size": 300})
    root = s["collections"][0]
    child = root["collections"][0]
    grandchild = child["collections"][0]
    h = {"App-ID": "local-iconik-app", "Auth-Token": "x"}
    api = ik.iconik_url + "/API/assets/v1/collections"
    # the same asset in two collections, and a cycle grandchild -> root
    requests.post(f"{api}/{grandchild['id']}/contents/", headers=h, timeout=10,
                  json={"object_id": root["asset_ids"][0], "object_type": "assets"}).raise_for_status()
    requests.post(f"{api}/{grandchild['id']}/contents/", headers=h, timeout=10,
                  json={"object_id": root["id"], "object_type": "collections"}).raise_for_status()
    run = ik.wait_run(post_action(ik, "remove", body_for(ik, collections=[root["id"]], context="COLLECTION")))
    assert run["status"] == "succeeded", run["message"]
    assert run["summary"]["total"] == len(s["all_asset_ids"]) == 9
    assert run["expand"]["pages"] >= 8  # two items per page, several pages per collection
    pages = [r["query"] for r in ik.calls("GET", "/contents/")]
    assert any("page=2" in q for q in pages) and all("per_page=2" in q for q in pages)
    for aid in s["all_asset_ids"]:
        assert ik.ll_files(aid) == [] and b2_original_ok(ik, aid, 300)
    assert all(n == 1 for n in deletes(ik).values()) and len(deletes(ik)) == 18


# ---- partial failure: only confirmed assets lose their LucidLink copy ---------------------------------------
def test_partial_copy_failure_keeps_every_unconfirmed_master(ik):
    s = ik.admin.seed({"collections": [{"assets": 8}], "file_size": 1000})
    a = s["collections"][0]["asset_ids"]
    faults = {a[0]: "fail", a[1]: "truncate", a[2]: "corrupt", a[3]: "open", a[4]: "no_file"}
    ik.admin.copy_faults(faults)
    run = ik.wait_run(post_action(ik, "remove", body_for(ik, collections=[s["collections"][0]["id"]])))
    assert run["status"] == "partial"
    assert run["summary"]["done"] == 3 and run["summary"]["kept"] == 5
    states = ik.run_assets(run["id"])
    reasons = {aid: states[aid].get("reason", "") for aid in faults}
    assert "not on B2" in reasons[a[0]]
    assert "has 500 bytes" in reasons[a[1]]
    assert "checksum" in reasons[a[2]]
    assert "OPEN" in reasons[a[3]]
    assert "no files" in reasons[a[4]]
    for aid in faults:  # kept: the LucidLink master is untouched, on the real folder
        assert ll_bytes_ok(ik, aid, 1000) and len(ik.ll_files(aid)) == 2
    for aid in a[5:]:   # confirmed: gone from LucidLink, the right bytes are in the bucket
        assert ik.ll_files(aid) == [] and b2_original_ok(ik, aid, 1000)
    touched = {p.split("/")[5] for p in deletes(ik)}
    assert touched == set(a[5:])
    job = next(j for j in ik.admin.jobs() if j["id"] == run["iconik_job_id"])
    assert job["status"] == "FINISHED_WITH_WARNING"
    assert "3 of 8" in job["message"] and "5 kept on LucidLink" in job["message"]
    assert job["error_message"]


def test_remove_of_proxy_first_still_protects_the_original(ik):
    s = ik.admin.seed({"assets": 2, "file_size": 400})
    ik.admin.copy_faults({s["asset_ids"][0]: "truncate"})  # this asset's ORIGINAL copy will be short
    run = ik.wait_run(post_action(ik, "remove", body_for(ik, assets=s["asset_ids"]), formats=" PPRO_PROXY , ORIGINAL"))
    bulk = ik.calls("POST", "/bulk/")
    assert {r["json"]["format_name"] for r in bulk} == {"PPRO_PROXY", "ORIGINAL"}
    assert run["status"] == "partial"
    bad, good = s["asset_ids"]
    assert ll_bytes_ok(ik, bad, 400) and ik.ll_files(good) == [] and b2_original_ok(ik, good, 400)


# ---- idempotency ---------------------------------------------------------------------------------------------
def test_duplicate_deliveries_and_a_retried_custom_action_do_nothing_twice(ik, stack):
    from mam import settings as mam_settings
    from mam.iconik import machine

    s = ik.admin.seed({"assets": 4, "file_size": 200})
    body = body_for(ik, assets=s["asset_ids"])
    run_id = post_action(ik, "remove", body)
    assert post_action(ik, "remove", body) == run_id  # iconik retrying the same call: same run
    cfg = mam_settings.settings("iconik")
    for _ in range(2):  # the emulator does not reject duplicate names: two more deliveries of step 0
        machine.enqueue_step(cfg, run_id, 0, body["auth_token"])
    run = ik.wait_run(run_id)
    assert run["status"] == "succeeded"
    # and a late duplicate of every step, straight at the task entry (with the token Cloud Tasks would send)
    for seq in range(run["seq"]):
        task = {"run_id": run_id, "seq": seq, "token": body["auth_token"]}
        resp = requests.post(ik.tasks.url + "/step", json=task, headers=cloud_tasks_token(stack, ik.tasks.url),
                             timeout=30)
        assert resp.status_code == 200 and resp.json()["result"] == "finished"
    time.sleep(1)
    assert len(ik.calls("POST", "/bulk/")) == 1
    assert len(ik.calls("POST", "/jobs/v1/jobs/")) == 1
    assert len(deletes(ik)) == 8 and set(deletes(ik).values()) == {1}
    assert set(per_path_counts(ik, "DELETE", "/purge/").values()) == {1}


def test_forged_or_malformed_tasks_are_refused(ik, stack):
    step = {"run_id": "r", "seq": 0, "token": "t", "sig": "00"}
    assert requests.post(ik.tasks.url + "/step", json=step, timeout=10).status_code == 401
    forged = cloud_tasks_token(stack, ik.tasks.url, email="someone@example.com")
    assert requests.post(ik.tasks.url + "/step", json=step, headers=forged, timeout=10).status_code == 403
    good = cloud_tasks_token(stack, ik.tasks.url)
    assert requests.post(ik.tasks.url + "/step", json={"run_id": "r"}, headers=good, timeout=10).status_code == 400
    assert requests.post(ik.tasks.url + "/step", data="nope", headers={**good, "Content-Type": "application/json"},
                         timeout=10).status_code == 400
    # a step carrying the HMAC of tasks queued before task-route auth still reads (the run is unknown: a no-op)
    resp = requests.post(ik.tasks.url + "/step", json=step, headers=good, timeout=10)
    assert resp.status_code == 200 and resp.json()["result"] == "missing"


def test_a_step_failing_after_the_verdicts_resumes_without_deleting_twice(ik, monkeypatch):
    retune(monkeypatch, ICONIK_HTTP_ATTEMPTS="1")  # each failed purge fails the whole step
    s = ik.admin.seed({"assets": 5, "file_size": 200})
    # Every purge fails for a while: the process step ends abnormally after storing verdicts and deleting.
    token = ik.admin.token("local-iconik-app")
    ik.admin.fault(status=503, count=12, path="/purge/$", method="DELETE", token=token)
    run = ik.wait_run(post_action(ik, "remove", body_for(ik, assets=s["asset_ids"], token=token)))
    assert run["status"] == "succeeded", run
    assert run["steps"] > 5
    assert len(deletes(ik)) == 10 and set(deletes(ik).values()) == {1}  # never a second DELETE
    assert set(per_path_counts(ik, "DELETE", "/purge/").values()) == {1}
    assert all(ik.ll_files(a) == [] and b2_original_ok(ik, a, 200) for a in s["asset_ids"])


def test_a_crashed_invocation_holding_the_lease_is_taken_over_after_it_expires(ik):
    from mam import settings as mam_settings
    from mam.iconik import machine
    from mam.iconik.request import ActionQuery, parse_body
    from mam.iconik.run import new_run
    from mam.store import iconik_runs as runs

    s = ik.admin.seed({"assets": 2})
    body = parse_body(body_for(ik, assets=s["asset_ids"]), max_ids=100)
    query = ActionQuery(ik.b2, ik.ll, ("ORIGINAL", "PPRO_PROXY"))
    run_id = "5e1f0a3c-0000-4000-8000-00000000c0de"
    assert runs.create_run(new_run(run_id, "remove", query, body))
    assert runs.claim(run_id, 0, "crashed-invocation", 1.5)[0] == "claimed"
    machine.enqueue_step(mam_settings.settings("iconik"), run_id, 0, body.auth_token)
    run = ik.wait_run(run_id)
    assert run["status"] == "succeeded" and all(ik.ll_files(a) == [] for a in s["asset_ids"])


# ---- iconik pushing back --------------------------------------------------------------------------------------
def test_429_storm_is_ridden_out(ik):
    s = ik.admin.seed({"collections": [{"assets": 6}], "file_size": 100})
    ik.admin.config(rate_limit=40, rate_burst=4)  # we allow ourselves 500/s here, so iconik's limit bites
    token = ik.admin.token("local-iconik-app")
    ik.admin.fault(status=429, count=10, path="/files/v1/assets/", method="GET", token=token)  # no Retry-After
    run = ik.wait_run(post_action(ik, "remove", body_for(ik, collections=[s["collections"][0]["id"]], token=token)),
                      timeout=90)
    assert run["status"] == "succeeded", run["message"]
    stats = ik.admin.stats()
    assert stats["status_429"] >= 12 and stats["rate_limited"] > 0
    assert len(deletes(ik)) == 12 and set(deletes(ik).values()) == {1}
    assert all(ik.ll_files(a) == [] and b2_original_ok(ik, a, 100) for a in s["all_asset_ids"])


def test_job_finished_with_warning_is_finished_and_assets_are_still_verified(ik):
    s = ik.admin.seed({"assets": 3})
    ik.admin.config(bulk_job_status="FINISHED_WITH_WARNING")
    ik.admin.copy_faults({s["asset_ids"][0]: "warn"})
    run = ik.wait_run(post_action(ik, "remove", body_for(ik, assets=s["asset_ids"])))
    assert [j["status"] for j in run["copy_jobs"]] == ["FINISHED_WITH_WARNING"]
    assert run["status"] == "partial" and run["summary"]["kept"] == 1
    assert ll_bytes_ok(ik, s["asset_ids"][0], 256)
    assert all(ik.ll_files(a) == [] for a in s["asset_ids"][1:])


def test_a_never_ending_job_hits_the_deadline_and_nothing_is_deleted(ik, monkeypatch):
    retune(monkeypatch, ICONIK_JOB_DEADLINE_SECONDS="2")
    s = ik.admin.seed({"assets": 2})
    ik.admin.config(bulk_job_status="PAUSED")
    run = ik.wait_run(post_action(ik, "remove", body_for(ik, assets=s["asset_ids"])))
    assert run["wait"]["timed_out"] and run["status"] == "failed"
    assert "did not finish before the deadline" in run["message"]
    assert deletes(ik) == {} and all(ll_bytes_ok(ik, a, 256) for a in s["asset_ids"])
    job = next(j for j in ik.admin.jobs() if j["id"] == run["iconik_job_id"])
    assert job["status"] == "FAILED"


@pytest.mark.parametrize("when,path,skip,phase", [
    ("right after the reply", "^/API/", 2, "submit"),          # the two storage checks pass, then iconik is gone
    ("while verifying", "^/API/files/v1/assets/", 0, "process"),
])
def test_iconik_down_ends_the_run_reported_and_nothing_is_deleted(ik, monkeypatch, when, path, skip, phase):
    retune(monkeypatch, ICONIK_STEP_RETRIES="2", ICONIK_HTTP_ATTEMPTS="2")
    s = ik.admin.seed({"assets": 3})
    token = ik.admin.token("local-iconik-app")
    # Scoped to this run's token: a task of an earlier test still in flight must not use up the two skips.
    ik.admin.fault(status=503, skip=skip, path=path, token=token)
    run = ik.wait_run(post_action(ik, "remove", body_for(ik, assets=s["asset_ids"], token=token)), timeout=60)
    assert run["status"] == "failed", when
    assert f"gave up after 3 failed attempts in phase {phase}" in run["error"] and "503" in run["error"]
    assert "Stopped" in run["message"] and run["summary"]["done"] == 0
    assert ("Removed the LucidLink copies of 0 of 3" if phase == "process" else "Nothing was removed") in run["message"]
    if phase == "process":
        assert run["summary"]["pending"] == 3 and len(run["problems"]) == 3
        assert run["problems"][0]["reason"] == "not processed"
    assert [r for r in ik.admin.requests() if r["method"] == "DELETE"] == []
    assert all(ll_bytes_ok(ik, a, 256) for a in s["asset_ids"])


def test_an_expired_token_mid_run_ends_the_run_and_nothing_is_deleted(ik):
    s = ik.admin.seed({"assets": 2})
    ik.admin.config(bulk_job_status="PAUSED")
    token = ik.admin.token("local-iconik-app")
    run_id = post_action(ik, "remove", body_for(ik, assets=s["asset_ids"], token=token))
    from mam.store import iconik_runs as runs

    deadline = time.monotonic() + 20
    while (runs.get_run(run_id) or {}).get("phase") != "wait" and time.monotonic() < deadline:
        time.sleep(0.1)
    ik.admin.revoke(token)
    for job in ik.admin.jobs():
        ik.admin.force_job(job["id"], status="FINISHED")
    run = ik.wait_run(run_id)
    assert run["status"] == "failed" and "refused our credentials" in run["error"]
    assert deletes(ik) == {} and all(ll_bytes_ok(ik, a, 256) for a in s["asset_ids"])


# ---- add ----------------------------------------------------------------------------------------------------
def test_add_reports_assets_without_a_format_and_failed_copies(ik):
    s = ik.admin.seed({"assets": 3, "formats": {"ORIGINAL": ["B2"]}, "file_size": 321})
    more = ik.admin.seed({"assets": 1, "formats": {"ORIGINAL": ["B2"], "PPRO_PROXY": ["B2"]}, "file_size": 321})
    ik.admin.copy_faults({s["asset_ids"][0]: "fail"})
    ids = s["asset_ids"] + more["asset_ids"]
    run = ik.wait_run(post_action(ik, "add", body_for(ik, assets=ids)))
    assert run["status"] == "partial" and run["summary"]["done"] == 3 and run["summary"]["failed"] == 1
    states = ik.run_assets(run["id"])
    assert "not on LucidLink" in states[s["asset_ids"][0]]["reason"]
    assert "no PPRO_PROXY format" in states[s["asset_ids"][1]]["notes"]
    assert len(ik.ll_files(more["asset_ids"][0])) == 2
    data = next(iter(ik.ll_files(s["asset_ids"][1]))).read_bytes()
    assert hashlib.md5(data).hexdigest() == hashlib.md5(content(s["asset_ids"][1], "ORIGINAL", 321)).hexdigest()


def test_add_reports_short_or_different_copies_as_failed_with_the_reason(ik):
    s = ik.admin.seed({"assets": 4, "formats": {"ORIGINAL": ["B2"]}, "file_size": 1000})
    short, corrupt, *good = s["asset_ids"]
    ik.admin.copy_faults({short: "truncate", corrupt: "corrupt"})
    run = ik.wait_run(post_action(ik, "add", body_for(ik, assets=s["asset_ids"])))
    assert run["status"] == "partial" and run["summary"]["done"] == 2 and run["summary"]["failed"] == 2
    states = ik.run_assets(run["id"])
    assert states[short]["state"] == "failed" and "has 500 bytes, B2 has 1000" in states[short]["reason"]
    assert states[corrupt]["state"] == "failed" and "different checksum" in states[corrupt]["reason"]
    assert {states[a]["state"] for a in good} == {"done"}


def test_assets_are_removed_while_the_copy_job_still_runs(ik):
    s = ik.admin.seed({"collections": [{"assets": 12}], "file_size": 100})
    ik.admin.config(copy_delay_ms=250)  # a 3 s copy job
    ik.admin.copy_faults({s["all_asset_ids"][2]: "fail"})
    run = ik.wait_run(post_action(ik, "remove", body_for(ik, collections=[s["collections"][0]["id"]])))
    assert run["status"] == "partial" and run["summary"]["done"] == 11 and run["summary"]["kept"] == 1
    job = next(j for j in ik.admin.jobs() if j["type"] == "TRANSFER" and j["id"] != run["iconik_job_id"])
    import datetime as dt

    finished = dt.datetime.fromisoformat(job["completed_at"]).timestamp()
    first_delete = min(r["t"] for r in ik.admin.requests() if r["method"] == "DELETE")
    assert first_delete < finished - 1  # LucidLink space came back before the copy job was over
    assert ll_bytes_ok(ik, s["all_asset_ids"][2], 100)
    assert all(ik.ll_files(a) == [] for i, a in enumerate(s["all_asset_ids"]) if i != 2)


# ---- the stored record -----------------------------------------------------------------------------------------
def test_every_stored_state_of_a_run_reads_back_unchanged(ik):
    """The typed run record (mam.iconik.run) keeps the stored shape: each state a run passes through round-trips."""
    from mam.iconik.run import Run
    from mam.store import iconik_runs as runs

    s = ik.admin.seed({"collections": [{"assets": 6}], "file_size": 100})
    ik.admin.config(copy_delay_ms=150)  # the copy job runs while assets are processed: wait/process alternate
    ik.admin.copy_faults({s["all_asset_ids"][1]: "fail"})
    run_id = post_action(ik, "remove", body_for(ik, collections=[s["collections"][0]["id"]]))
    phases: list[str] = []
    doc: dict | None = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        doc = runs.get_run(run_id)
        if doc is not None:
            assert Run.from_doc(doc).to_doc() == doc, doc
            if not phases or phases[-1] != doc["phase"]:
                phases.append(doc["phase"])
            if doc["phase"] == "done":
                break
        time.sleep(0.05)
    assert doc is not None and phases[-1] == "done" and len(phases) >= 3, phases
    assert doc["final"] is True and doc["wait"]["checks"] >= 1 and "progress" in doc["wait"]
    assert all("seen_at" in j for j in doc["copy_jobs"]) and doc["status"] == "partial"

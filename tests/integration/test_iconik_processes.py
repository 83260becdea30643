"""The manifest's iconik functions as real functions-framework processes (what the local runner starts), driven by
the iconik stand-in delivering a custom action as iconik does, through the Cloud Tasks emulator."""
from __future__ import annotations

import pytest
import requests
from conftest import wait_for

from standins.iconik import SECRET, Admin

pytestmark = pytest.mark.timeout(120)


def test_remove_end_to_end_with_real_processes(firestore, cloud_tasks, s3, clean_firestore, start_standin, start_function, stack):
    iconik = Admin(start_standin("iconik"))
    handler = start_function("iconik_handler")
    start_function("iconik_tasks")
    iconik.reset(wipe_storage=True)
    info = iconik.info()
    seeded = iconik.seed({"collections": [{"assets": 3, "collections": [{"assets": 2}]}], "file_size": 2048})
    url = f"{handler}/remove?b2_storage_id={info['b2_storage_id']}&ll_storage_id={info['ll_storage_id']}"
    delivery = iconik.fire(url=url, headers={"x-bz-secret": SECRET}, context="COLLECTION",
                           collection_ids=[seeded["collections"][0]["id"]], app_id="local-iconik-app")
    assert delivery["status"] == 200 and delivery["body"] == "OK"
    run_id = delivery["headers"]["X-Run-Id"]

    def finished():
        r = requests.get(f"{handler}/runs/{run_id}", headers={"x-bz-secret": SECRET}, timeout=10)
        return r.json() if r.status_code == 200 and r.json()["phase"] == "done" else None
    run = wait_for(finished, timeout=90, interval=0.5, what="the run to finish")
    assert run["status"] == "succeeded" and run["summary"]["done"] == 5
    for aid in seeded["all_asset_ids"]:
        sets = iconik.asset(aid)["file_sets"]
        assert [(s["format_name"], s["storage_id"]) for s in sets] == [("ORIGINAL", info["b2_storage_id"])]
        assert sets[0]["files"][0]["blob_size"] == 2048
    assert requests.get(f"{handler}/health", timeout=5).json()["ok"] is True

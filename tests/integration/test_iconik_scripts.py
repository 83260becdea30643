"""scripts/iconik_actions.py against the iconik stand-in: six actions, idempotent, titles from the formats."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
from conftest import ROOT

from standins.iconik import Admin

pytestmark = pytest.mark.timeout(120)
ENDPOINT = "https://us-central1-proj.cloudfunctions.net/iconik_handler"


@pytest.fixture
def iconik(start_standin, stack_env, monkeypatch):
    url = start_standin("iconik")
    Admin(url).reset(wipe_storage=False)
    monkeypatch.setenv("ICONIK_URL", url)
    monkeypatch.setenv("ICONIK_TOKEN", "admin-app-token")
    monkeypatch.setenv("BZ_SHARED_SECRET", "the-shared-secret")
    return url


def script(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "iconik_actions.py"), *args], cwd=ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=60, check=False)


def actions(url):
    return requests.get(f"{url}/API/assets/v1/custom_actions/", timeout=10,
                        headers={"App-ID": os.environ["ICONIK_APP_ID"], "Auth-Token": "x"}).json()["objects"]


def test_create_is_idempotent_and_delete_matches_formats(iconik):
    info = Admin(iconik).info()
    b2, ll = info["b2_storage_id"], info["ll_storage_id"]
    first = script("create", ENDPOINT, b2, ll)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("created") == 6 and "the-shared-secret" not in first.stdout
    again = script("create", ENDPOINT, b2, ll)
    assert again.returncode == 0 and again.stdout.count("unchanged") == 6
    with_formats = script("create", ENDPOINT, b2, ll, "ORIGINAL, PPRO_PROXY")
    assert with_formats.stdout.count("created") == 6
    acts = actions(iconik)
    assert len(acts) == 12
    plain = [a for a in acts if "formats=" not in a["url"]]
    assert sorted((a["context"], a["title"]) for a in plain) == sorted(
        (c, t) for c in ("ASSET", "COLLECTION", "BULK") for t in ("Add to LucidLink", "Remove from LucidLink"))
    for a in acts:
        assert a["type"] == "POST" and a["headers"] == {"x-bz-secret": "the-shared-secret"}
        assert a["app_id"] == os.environ["ICONIK_APP_ID"] and a["url"].startswith(ENDPOINT + "/")
        assert f"b2_storage_id={b2}" in a["url"] and f"ll_storage_id={ll}" in a["url"]
    titled = {a["title"] for a in acts if "formats=" in a["url"]}
    assert titled == {"Add original, Premiere Pro proxy file(s) to LucidLink",
                      "Remove original, Premiere Pro proxy file(s) from LucidLink"}
    # a changed secret is corrected in place, not duplicated
    os.environ["BZ_SHARED_SECRET"] = "rotated"
    assert script("create", ENDPOINT, b2, ll).stdout.count("updated") == 6
    assert len(actions(iconik)) == 12
    gone = script("delete", ENDPOINT)
    assert gone.returncode == 0 and gone.stdout.count("deleted") == 6
    assert len(actions(iconik)) == 6 and all("formats=" in a["url"] for a in actions(iconik))
    assert script("delete", ENDPOINT, "ORIGINAL,PPRO_PROXY").stdout.count("deleted") == 6
    assert actions(iconik) == []


def test_create_refuses_unknown_storages(iconik):
    result = script("create", ENDPOINT, "00000000-0000-4000-8000-000000000000", Admin(iconik).info()["ll_storage_id"])
    assert result.returncode == 1 and "iconik error" in result.stderr
    assert actions(iconik) == []

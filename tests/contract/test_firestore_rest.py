"""The local Firestore's REST port: documents:batchGet as Firestore answers it, and a clear answer for the rest."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

DB = "projects/mam-local/databases/(default)"


def _post(host: str, path: str, body: bytes) -> tuple[int, object]:
    request = urllib.request.Request(f"http://{host}{path}", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_batch_get_answers_found_and_missing_in_proto3_json(firestore, clean_firestore, monkeypatch):
    from google.cloud import firestore as fs

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore)  # contract modules run without the stack's settings
    fs.Client(project="mam-local").collection("rest").document("a").set({"n": 2**40, "s": "x", "skip": True})
    docs = [f"{DB}/documents/rest/a", f"{DB}/documents/rest/nope"]
    status, answer = _post(firestore, f"/v1/{DB}/documents:batchGet",
                           json.dumps({"documents": docs, "mask": {"fieldPaths": ["n", "s"]}}).encode())
    assert status == 200 and len(answer) == 2
    found, missing = answer
    assert found["found"]["name"] == docs[0]
    assert found["found"]["fields"] == {"n": {"integerValue": str(2**40)}, "s": {"stringValue": "x"}}
    assert found["found"]["updateTime"].endswith("Z") and found["readTime"].endswith("Z")
    assert missing["missing"] == docs[1]


@pytest.mark.parametrize("path, body, code, status", [
    (f"/v1/{DB}/documents:batchGet", b"not json", 400, "INVALID_ARGUMENT"),
    (f"/v1/{DB}/documents:batchGet", b'{"documents": "a"}', 400, "INVALID_ARGUMENT"),
    (f"/v1/{DB}/documents:batchGet", b'{"documents": [], "transaction": "dA=="}', 501, "UNIMPLEMENTED"),
    (f"/v1/{DB}/documents:runQuery", b"{}", 501, "UNIMPLEMENTED"),
], ids=["bad-json", "documents-not-a-list", "transaction", "other-method"])
def test_what_it_does_not_serve_gets_a_google_json_error(firestore, path, body, code, status):
    got, answer = _post(firestore, path, body)
    assert got == code and answer["error"]["status"] == status and answer["error"]["message"]


def test_every_version_of_a_document_has_its_own_update_time(firestore, clean_firestore, monkeypatch):
    """As in Firestore: readers may keep what they decoded per updateTime, so no two versions may share one (the
    emulator's clock has milliseconds; writes closer together than that still get distinct times)."""
    from google.cloud import firestore as fs

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore)
    ref = fs.Client(project="mam-local").collection("rest").document("v")
    seen = []
    for n in range(30):
        ref.set({"n": n})
        status, answer = _post(firestore, f"/v1/{DB}/documents:batchGet",
                               json.dumps({"documents": [f"{DB}/documents/rest/v"]}).encode())
        assert status == 200 and answer[0]["found"]["fields"] == {"n": {"integerValue": str(n)}}
        seen.append(answer[0]["found"]["updateTime"])
    assert len(set(seen)) == len(seen) and seen == sorted(seen)
    _, again = _post(firestore, f"/v1/{DB}/documents:batchGet", json.dumps({"documents": [f"{DB}/documents/rest/v"]}).encode())
    assert again[0]["found"]["updateTime"] == seen[-1]  # an unchanged document keeps its time

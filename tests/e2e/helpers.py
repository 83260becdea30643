"""What the browser tests check behind the page: the bucket (boto3 on the local S3), the Twelve Labs stand-in (the
official `twelvelabs` SDK), Firestore (mam.store), the functions' HTTP API for set-up and clean-up, and a
recorder of what the page showed over time (statuses, test ids), installed before any page script runs."""
from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import requests

from localdev.processes import poll
from localdev.stack import BUCKET, LOCAL_SECRETS, Stack

INDEX_NAME = "mam-library"  # TWELVELABS_INDEX_NAME of the local stack (localdev/stack.py)


# ---- B2 (local S3) ----------------------------------------------------------------------------------------------
def s3(stack: Stack):
    """boto3 S3 client on the stack's local B2 with the stack's key, configured as functions/mam/clients/b2.py's clients."""
    from localdev.b2.client import for_stack

    return for_stack(stack)


def object_versions(stack: Stack, prefix: str) -> list[str]:
    """Keys of every object version and delete marker under `prefix` (a hidden version still counts)."""
    out: list[str] = []
    for page in s3(stack).get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=prefix):
        out += [v["Key"] for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    return out


def put_file(stack: Stack, key: str, path: Path, content_type: str = "video/mp4") -> None:
    s3(stack).upload_file(str(path), BUCKET, key, ExtraArgs={"ContentType": content_type})


def get_bytes(stack: Stack, key: str) -> bytes:
    return s3(stack).get_object(Bucket=BUCKET, Key=key)["Body"].read()


def delete_prefix(stack: Stack, prefix: str) -> None:
    """Remove every version under `prefix` (test clean-up)."""
    client = s3(stack)
    for page in client.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=prefix):
        objs = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if objs:
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": objs, "Quiet": True})


# ---- Twelve Labs stand-in ----------------------------------------------------------------------------------------
def twelvelabs(stack: Stack):
    """The official SDK against the stand-in, with the stack's API key."""
    from twelvelabs import TwelveLabs

    return TwelveLabs(api_key=LOCAL_SECRETS["TWELVELABS_API_KEY"], base_url=f"{stack.url('twelvelabs')}/v1.3",
                      timeout=30)


def index_id(stack: Stack) -> str | None:
    """Id of the library's index on the stand-in (None before anything was indexed)."""
    for idx in twelvelabs(stack).indexes.list(index_name=INDEX_NAME):
        if idx.index_name == INDEX_NAME:
            return idx.id
    return None


def index_entry_exists(stack: Stack, index: str, tl_video_id: str) -> bool:
    """True if the stand-in's index still holds the video (404 from the SDK = gone)."""
    from twelvelabs.errors import NotFoundError

    try:
        twelvelabs(stack).indexes.videos.retrieve(index, tl_video_id)
        return True
    except NotFoundError:
        return False


def set_index_seconds(stack: Stack, seconds: float) -> float:
    """Change the stand-in's indexing time for tasks created from now on (its /_admin control plane)."""
    resp = requests.put(f"{stack.url('twelvelabs')}/_admin/config", json={"index_seconds": seconds}, timeout=10)
    resp.raise_for_status()
    return float(resp.json()["index_seconds"])


@contextlib.contextmanager
def index_seconds(stack: Stack, seconds: float):
    """The stand-in's indexing time set to `seconds` inside the block, back to the stack's setting after it (the
    stand-in reads TWELVELABS_INDEX_SECONDS, default 10, at start; a developer's .env may change it)."""
    set_index_seconds(stack, seconds)
    try:
        yield
    finally:
        set_index_seconds(stack, float(stack.env().get("TWELVELABS_INDEX_SECONDS", "10")))


# ---- the functions' API (set-up and clean-up only; the journeys themselves go through the page) ------------------
class Api:
    """Bearer-token calls to the public functions, as the front end makes them."""

    def __init__(self, stack: Stack, token: str):
        self.stack, self.headers = stack, {"Authorization": f"Bearer {token}"}

    def post(self, function: str, path: str, body: dict | None = None) -> dict:
        resp = requests.post(f"{self.stack.url(function)}{path}", json=body or {}, headers=self.headers, timeout=60)
        assert resp.status_code < 300, f"{function} {path}: {resp.status_code} {resp.text[:300]}"
        return resp.json()

    def delete(self, *ids: str) -> dict:
        return self.post("library", "/videos/delete", {"ids": list(ids)}) if ids else {}


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5):
    """Poll `predicate` until truthy (returned) or raise AssertionError naming `what`."""
    value = poll(predicate, timeout, interval)
    if not value:
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
    return value


# ---- what the page showed over time ------------------------------------------------------------------------------
_RECORDER = """
(() => {
  const log = window.__e2e = { statuses: {}, seen: [], texts: {} };
  const TEXTS = ['upload-status'];  // test ids whose every text is kept (short-lived progress messages)
  const keepText = (node) => {
    const el = node instanceof Element ? node : node.parentElement;
    const owner = el && el.closest('[data-testid]');
    const t = owner && owner.getAttribute('data-testid');
    if (!t || !TEXTS.includes(t)) return;
    const seq = (log.texts[t] ||= []), text = owner.textContent.trim();
    if (text && seq[seq.length - 1] !== text) seq.push(text);
  };
  const visit = (el) => {
    const t = el.getAttribute('data-testid');
    if (!t) return;
    if (!log.seen.includes(t)) log.seen.push(t);
    const id = el.getAttribute('data-video-id'), st = el.getAttribute('data-status');
    if (id && st) {
      const seq = (log.statuses[t + ':' + id] ||= []);
      if (seq[seq.length - 1] !== st) seq.push(st);
    }
  };
  const note = (node) => {
    if (!(node instanceof Element)) return;
    visit(node);
    node.querySelectorAll('[data-testid]').forEach(visit);
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') visit(r.target);
      else { r.addedNodes.forEach(note); keepText(r.target); }
    }
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true,
                         attributeFilter: ['data-status'] });
})();
"""


def record_page(page) -> None:
    """From now on, every document of `page` records each test id shown, each status sequence of elements with
    data-video-id (tiles, the video page) and the texts of the upload status line. Call before the first goto."""
    page.add_init_script(_RECORDER)


def seen_testids(page) -> list[str]:
    return page.evaluate("() => window.__e2e.seen")


def text_history(page, testid: str) -> list[str]:
    """Every text an element with `testid` showed, in order (only the test ids the recorder keeps texts of)."""
    return page.evaluate("t => window.__e2e.texts[t] || []", testid)


def status_history(page, testid: str, video_id: str) -> list[str]:
    """Statuses the element `testid` of `video_id` went through, in order, without repeats."""
    return page.evaluate("k => window.__e2e.statuses[k] || []", f"{testid}:{video_id}")


# ---- issue 14: indexed videos with their insights, frames of a video ---------------------------------------------
def index_and_wait_ready(stack: Stack, api: Api, ids: list[str], timeout: float = 150) -> None:
    """Sync the bucket (adds the files put there), send `ids` for indexing, wait until each is Ready."""
    from mam import store

    api.post("library", "/sync")
    queued = api.post("index_videos", "/index", {"ids": ids})["queued"]
    assert sorted(queued) == sorted(ids), queued

    def settled() -> dict | None:
        got = {i: store.get_video(i) for i in ids}
        return got if all(v and v.status in ("ready", "failed") for v in got.values()) else None

    got = wait_until(settled, timeout, f"{ids} to be indexed")
    failed = {i: v.status_reason for i, v in got.items() if v.status != "ready"}
    assert not failed, f"indexing failed: {failed}"


def insights(stack: Stack, token: str, video_id: str) -> dict:
    """GET /videos/{id}/insights as the front end reads it."""
    resp = requests.get(f"{stack.url('library')}/videos/{video_id}/insights",
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert resp.status_code == 200, f"insights of {video_id}: {resp.status_code} {resp.text[:300]}"
    return resp.json()


def wait_insights_ready(stack: Stack, token: str, video_id: str, timeout: float = 180) -> dict:
    """Wait until the video's insights are made (enqueued when it became Ready); fails on failed/skipped."""
    def settled() -> dict | None:
        got = insights(stack, token, video_id)
        return got if got["state"] in ("ready", "failed", "skipped") else None

    got = wait_until(settled, timeout, f"the insights of {video_id}", interval=1.0)
    assert got["state"] == "ready", f"insights of {video_id}: {got['state']}: {got.get('message')}"
    return got


def extract_frame(video: Path, at: float, out: Path, size: str | None = None) -> Path:
    """The frame of `video` at `at` seconds as a JPEG or PNG (by `out`'s suffix), optionally scaled to `size` (WxH)."""
    scale = ["-vf", f"scale={size.replace('x', ':')}"] if size else []
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1",
                    *scale, str(out)], check=True, capture_output=True, timeout=60)
    return out


def demo_video(out_dir: Path, name: str) -> Path:
    """One of localdev/demo's videos (made with ffmpeg and espeak-ng, as the local stack seeds them) as a file."""
    from localdev import demo

    found = next((d for d in demo.DEMOS if d.name == name), None)
    assert found is not None, f"localdev/demo has no demo named {name}"
    return demo.make_video(found, out_dir / f"{found.name}.mp4")


def still_picture(out: Path, size: str) -> Path:
    """A still picture (ffmpeg's test pattern) of `size` (WxH) as JPEG or PNG by `out`'s suffix."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}",
                    "-frames:v", "1", str(out)], check=True, capture_output=True, timeout=60)
    return out


def multi_scene_demo(out_dir: Path) -> Path:
    """localdev/demo's multi-scene video (three visually distinct scenes, each with its caption and narration)."""
    from localdev import demo

    return demo.make_multi_scene(out_dir)

"""Contract: the real @uppy/transloadit (the front end's pinned npm version) in Debian's Chromium against the stand-in.

The test bundles @uppy/core + @uppy/transloadit from frontend/node_modules with the front end's own bundler
(rolldown, part of Vite) into a page served from another origin (so CORS is exercised), then uploads a real
ffmpeg-made video through Uppy's tus client with SSE on and off and with/without waitForEncoding.
"""
from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from localdev.transloadit.config import Settings
from localdev.transloadit.server import StandinServer
from standins.transloadit import (
    LocalS3,
    NotifyReceiver,
    expires_in,
    make_test_video,
    parse_form,
    quiet_werkzeug,
    signed_params,
)

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "frontend" / "node_modules"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
KEY, SECRET = "local-transloadit-key", "local-transloadit-secret"
STEPS = json.loads((ROOT / "functions" / "mam" / "transloadit_template.json").read_text())["steps"]

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not (MODULES / "@uppy" / "transloadit").is_dir() or not (MODULES / ".bin" / "rolldown").exists(),
                       reason="front-end npm packages not installed (scripts/setup.sh)"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed"),
]

ENTRY = """
import Uppy from '@uppy/core'
import Transloadit from '@uppy/transloadit'
window.uppyVersion = Transloadit.VERSION
window.runUpload = async ({ service, params, signature, fields, b64, name, waitForEncoding }) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
  const uppy = new Uppy({ autoProceed: false })
  uppy.use(Transloadit, { service, waitForEncoding, errorReporting: false,
                          assemblyOptions: async () => ({ params, signature, fields }) })
  uppy.addFile({ name, type: 'video/mp4', data: new Blob([bytes], { type: 'video/mp4' }) })
  const events = []
  uppy.on('transloadit:assembly-created', (a) => events.push('created'))
  uppy.on('transloadit:upload', () => events.push('upload'))
  uppy.on('transloadit:result', (step) => events.push('result:' + step))
  uppy.on('transloadit:complete', (a) => events.push('complete:' + a.ok))
  let result, thrown = ''
  try { result = await uppy.upload() } catch (e) { thrown = String(e && e.message) }
  const file = uppy.getFiles()[0]
  return { events, thrown, successful: result ? result.successful.length : 0,
           failed: result ? result.failed.length : 0, error: String(file.error || ''),
           uploadURL: file.uploadURL || null, assembly: file.transloadit ? file.transloadit.assembly : null,
           last: result && result.transloadit && result.transloadit[0] ? result.transloadit[0].ok : null }
}
"""


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    """A page with the real Uppy bundle, served on its own origin."""
    site = tmp_path_factory.mktemp("uppy-site")
    (site / "node_modules").symlink_to(MODULES)
    (site / "entry.js").write_text(ENTRY)
    (site / "index.html").write_text('<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script src="bundle.js"></script>')
    subprocess.run([str(MODULES / ".bin" / "rolldown"), "entry.js", "--format", "iife", "--platform", "browser",
                    "--file", "bundle.js"], cwd=site, check=True, capture_output=True, timeout=120)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()


@pytest.fixture(scope="module")
def s3_endpoint():
    with LocalS3() as local:
        yield local.endpoint


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def clip_b64(tmp_path_factory) -> str:
    path = make_test_video(str(tmp_path_factory.mktemp("uppy-clip") / "clip.mp4"), seconds=1.0)
    return base64.b64encode(Path(path).read_bytes()).decode()


def _run(browser, page_url, service: str, params: str, signature: str, video_id: str, b64: str, wait: bool):
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(page_url)
    out = page.evaluate("(args) => window.runUpload(args)", {
        "service": service, "params": params, "signature": signature, "fields": {"video_id": video_id},
        "b64": b64, "name": "clip.mp4", "waitForEncoding": wait})
    out["version"] = page.evaluate("window.uppyVersion")
    page.close()
    return out, problems


@pytest.mark.parametrize("sse, wait", [(True, True), (False, True), (True, False)],
                         ids=["sse-waitForEncoding", "polling-waitForEncoding", "sse-no-wait"])
def test_real_uppy_uploads_through_the_stand_in(browser, page_url, s3_endpoint, clip_b64, sse, wait):
    quiet_werkzeug()
    with NotifyReceiver() as rx, StandinServer(Settings(s3_endpoint=s3_endpoint, sse=sse)) as srv:
        vid = f"uppy-{int(sse)}{int(wait)}"
        params, sig = signed_params(SECRET, KEY, STEPS, notify_url=rx.url, fields={"video_id": vid})
        out, problems = _run(browser, page_url, srv.url, params, sig, vid, clip_b64, wait)
        assert (out["successful"], out["failed"], out["thrown"]) == (1, 0, ""), out
        assert problems == [], problems  # no CORS or network errors in the console
        assert out["uploadURL"].startswith(srv.url + "/resumable/files/")
        if wait:
            # Uppy followed the assembly (SSE or polling), matched its upload by tus_upload_url, got every result.
            assert out["last"] == "ASSEMBLY_COMPLETED" and out["events"][-1] == "complete:ASSEMBLY_COMPLETED"
            assert "upload" in out["events"]
            assert {"result:web", "result:thumbnail", "result:store_web"} <= set(out["events"])
        else:  # Uppy stops following the assembly once the bytes are up; the notification carries the rest
            assert out["events"][0] == "created" and not any(e.startswith("complete") for e in out["events"])
        [note] = rx.wait(1, timeout=60)
        status = json.loads(parse_form(note)["transloadit"])
        assert status["ok"] == "ASSEMBLY_COMPLETED" and status["assembly_id"] == out["assembly"]
        assert status["uploads"][0]["tus_upload_url"] == out["uploadURL"]
        assert status["transloadit_client"].startswith("uppy-core:")
        assert status["fields"]["video_id"] == vid


def test_real_uppy_reports_transloadit_error_codes(browser, page_url, s3_endpoint, clip_b64):
    """The front end turns these codes into readable messages: they must reach Uppy's error text."""
    quiet_werkzeug()
    with StandinServer(Settings(s3_endpoint=s3_endpoint)) as srv:
        expired, sig = signed_params(SECRET, KEY, STEPS, expires=expires_in(-60), fields={"video_id": "x"})
        out, _ = _run(browser, page_url, srv.url, expired, sig, "x", clip_b64, False)
        assert "AUTH_EXPIRED" in out["thrown"] + out["error"], out
        params, _ = signed_params(SECRET, KEY, STEPS, fields={"video_id": "x"})
        out, _ = _run(browser, page_url, srv.url, params, "sha384:" + "0" * 96, "x", clip_b64, False)
        assert "INVALID_SIGNATURE" in out["thrown"] + out["error"], out

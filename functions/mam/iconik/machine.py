"""The run state machine: one custom-action call = one run, advanced by Cloud Tasks in bounded steps.

    submit   create the visible iconik job; ask iconik for the bulk copies (all formats to LucidLink for /add;
             the first format, plus ORIGINAL when it is being removed, to B2 for /remove)
    expand   walk the selected collections recursively, one contents page at a time, recording every asset
    wait     follow the copy jobs with scheduled re-checks (never a sleeping function) until done or the deadline
    process  per asset, in batches: verify (remove: the copy on B2; add: the copy on LucidLink), persist the verdict,
             then (remove, confirmed only) delete + purge that asset's LucidLink file sets. While the jobs still
             run, wait and process alternate: assets whose copy has landed are handled at once, the others stay
             pending; once the jobs are over, a final pass from the start gives every asset its verdict
    finish   count outcomes, report them on the run and on the iconik job

Every task carries (run_id, seq). A step runs only if the run's seq equals the task's and it wins the lease in a
Firestore transaction; it commits with seq+1 and only then enqueues the next task (deterministic name). So a
duplicate delivery is acknowledged without effect, a crash after the commit is repaired by the retried task
re-enqueueing the next one, and a per-asset verdict is stored before anything is deleted.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import hmac
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mam import log
from mam.iconik import jobs, runs, verify
from mam.iconik.client import (
    AuthRejected,
    BadAnswer,
    IconikClient,
    IconikError,
    NotFound,
    Unavailable,
    shared_limiter,
)
from mam.iconik.config import Tuning
from mam.iconik.config import tuning as load_tuning
from mam.iconik.request import ActionBody, ActionQuery, is_uuid, plan_formats

if TYPE_CHECKING:  # typing only: mam.tasks imports flask and the Cloud Tasks client lazily
    from mam.tasks import Enqueued

QUEUE = "iconik"
TASKS_FUNCTION = "iconik_tasks"
STEP_PATH = "/step"
MAX_PROBLEMS = 50
MAX_STEP_DELAY = 300.0


# ---- task payloads -------------------------------------------------------------------------------------------
def sign(secret: str, run_id: str, seq: int, token: str) -> str:
    """HMAC of a step task's payload with BZ_SHARED_SECRET: defence in depth for the private task entry."""
    msg = f"{run_id}\x1f{seq}\x1f{token}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def enqueue_step(settings, run_id: str, seq: int, token: str, delay: float = 0.0, extra: tuple = ()) -> Enqueued:
    """Schedule step `seq` of a run. The task name is derived from (run, seq[, extra]): created once."""
    from mam import tasks

    payload = {"run_id": run_id, "seq": seq, "token": token, "sig": sign(settings.bz_shared_secret, run_id, seq, token)}
    return tasks.enqueue(QUEUE, TASKS_FUNCTION, STEP_PATH, payload, key=(run_id, seq, *extra),
                         delay_seconds=max(0.0, delay), deadline_seconds=180)


# ---- starting a run ----------------------------------------------------------------------------------------
def new_run(run_id: str, op: str, query: ActionQuery, body: ActionBody) -> dict[str, Any]:
    """The initial Firestore record of a run."""
    copy_formats, verify_formats = plan_formats(op, query.formats)
    now = time.time()
    return {
        "id": run_id, "op": op, "status": "running", "phase": "submit", "seq": 0, "lease_owner": None,
        "lease_until": 0, "next_at": now, "created_at": now, "updated_at": now, "finished_at": None,
        "context": body.context, "b2_storage_id": query.b2_storage_id, "ll_storage_id": query.ll_storage_id,
        "formats": list(query.formats), "copy_formats": list(copy_formats), "verify_formats": list(verify_formats),
        "asset_ids": list(body.asset_ids), "collection_ids": list(body.collection_ids),
        "user_id": body.user_id, "action_id": body.action_id, "date_created": body.date_created,
        "saved_searches_ignored": len(body.saved_search_ids),
        "iconik_job_id": None, "copy_jobs": [], "expand": None, "wait": None, "cursor": None,
        "assets_total": None, "chunks": 0, "processed": 0, "step_failures": 0, "last_error": None, "error": None,
        "summary": None, "problems": [], "message": None, "steps": 0,
    }


def start_run(settings, op: str, query: ActionQuery, body: ActionBody, run_id: str) -> tuple[str, bool]:
    """Record the run and schedule its first step; (run_id, created). A replayed call re-schedules step 0 only
    while the run has not started, so the chain is repaired if the first attempt died before enqueueing."""
    created = runs.create_run(new_run(run_id, op, query, body))
    if not created:
        existing = runs.get_run(run_id) or {}
        if existing.get("phase") == "done" or int(existing.get("seq", 0)) != 0:
            return run_id, False
    enqueue_step(settings, run_id, 0, body.auth_token)
    return run_id, created


# ---- one step -------------------------------------------------------------------------------------------------
class StepFailed(Exception):
    """Ends the run as failed with a reason the user can read."""


@dataclass
class Outcome:
    """What a task delivery did (the HTTP answer of the task entry)."""

    status: int
    body: dict[str, Any]


class Step:
    """One invocation's work on a claimed run: its iconik client, time budget and pending record updates."""

    def __init__(self, run: dict[str, Any], token: str, settings, tune: Tuning, owner: str,
                 client_factory: Callable[..., IconikClient] | None = None):
        self.run, self.settings, self.tune, self.owner, self.token = run, settings, tune, owner, token
        self.started = time.monotonic()
        self.budget_end = self.started + tune.step_seconds
        factory = client_factory or IconikClient
        # Calls may run a little past the budget (one in flight), never past budget + 15 s.
        self.client = factory(settings.iconik_url, settings.iconik_app_id, token,
                              limiter=shared_limiter(float(settings.iconik_rate_limit or 0)),
                              timeout=tune.http_timeout, attempts=tune.http_attempts,
                              deadline=self.budget_end + 15.0, max_retry_after=tune.max_retry_after)
        self.updates: dict[str, Any] = {}

    def time_left(self) -> float:
        return self.budget_end - time.monotonic()

    def set(self, **fields: Any) -> None:
        self.updates.update(fields)
        self.run.update(fields)


def handle_step(payload: dict[str, Any], settings, *, client_factory=None) -> Outcome:
    """Run one delivery of a step task. Answers 200 unless Cloud Tasks should retry (an unexpected crash)."""
    run_id, seq, token = payload.get("run_id"), payload.get("seq"), payload.get("token")
    if not isinstance(run_id, str) or not isinstance(seq, int) or not isinstance(token, str) or not token:
        return Outcome(400, {"error": {"code": "bad_task", "message": "run_id, seq and token are required"}})
    expected = sign(settings.bz_shared_secret, run_id, seq, token)
    if not hmac.compare_digest(str(payload.get("sig", "")), expected):
        return Outcome(403, {"error": {"code": "bad_signature", "message": "task signature does not match"}})
    tune = load_tuning()
    owner = uuid.uuid4().hex
    state, run = runs.claim(run_id, seq, owner, tune.lease_seconds)
    if state in ("missing", "finished"):
        return Outcome(200, {"run_id": run_id, "result": state})
    if state == "stale":
        # The step after this one may never have been enqueued (a crash between commit and enqueue): do it now.
        if run and int(run.get("seq", 0)) == seq + 1:
            enqueue_step(settings, run_id, seq + 1, token, float(run.get("next_at") or 0) - time.time())
        return Outcome(200, {"run_id": run_id, "result": "duplicate"})
    if state == "busy":
        # Another delivery holds the lease (or crashed holding it): look again once the lease has expired.
        until = float(run.get("lease_until") or 0)
        enqueue_step(settings, run_id, seq, token, until - time.time() + 1, extra=("busy", int(until)))
        return Outcome(200, {"run_id": run_id, "result": "busy"})
    return _run_claimed(run, seq, token, settings, tune, owner, client_factory)


def _run_claimed(run, seq, token, settings, tune, owner, client_factory) -> Outcome:
    step = Step(run, token, settings, tune, owner, client_factory)
    phase = run["phase"]
    next_phase, delay, terminal = phase, 0.0, False
    try:
        next_phase, delay = PHASES[phase](step)
        step.set(step_failures=0, last_error=None)
        terminal = next_phase == "done"
        if not terminal:
            _report_progress(step, next_phase)
    except AuthRejected as exc:
        _fail(step, f"iconik refused our credentials (the custom action's auth token may have expired): {exc}")
        terminal, next_phase = True, "done"
    except StepFailed as exc:
        _fail(step, str(exc))
        terminal, next_phase = True, "done"
    except Exception as exc:  # noqa: BLE001 - iconik down, a Firestore hiccup, a bug: bounded retries with backoff, then fail
        failures = int(run.get("step_failures") or 0) + 1
        transient = isinstance(exc, (Unavailable, IconikError))
        detail = str(exc)[:300] if transient else f"{type(exc).__name__}: {str(exc)[:200]}"
        log.warning("iconik step failed", run_id=run["id"], seq=seq, phase=phase, failures=failures, error=detail,
                    **({} if transient else {"stack": traceback.format_exc()[-3000:]}))
        if failures > tune.step_retries:
            _fail(step, f"gave up after {failures} failed attempts in phase {phase}: {detail}")
            terminal, next_phase = True, "done"
        else:
            step.set(step_failures=failures, last_error=detail)
            retry_after = getattr(exc, "retry_after", None) or 0.0
            delay = min(MAX_STEP_DELAY, max(retry_after, tune.step_retry_base_seconds * 2 ** (failures - 1)))
    step.set(phase=next_phase, seq=seq + 1, next_at=time.time() + delay, steps=int(run.get("steps") or 0) + 1)
    elapsed = round(time.monotonic() - step.started, 2)
    if not runs.commit(run["id"], owner, step.updates):
        log.warning("iconik step lost its lease", run_id=run["id"], seq=seq, phase=phase)
        return Outcome(200, {"run_id": run["id"], "result": "lease lost"})
    log.info("iconik step", run_id=run["id"], seq=seq, phase=phase, next_phase=next_phase, seconds=elapsed,
             delay=round(delay, 1), **step.client.stats.as_dict())
    if not terminal:
        enqueue_step(settings, run["id"], seq + 1, token, delay)
    return Outcome(200, {"run_id": run["id"], "phase": phase, "next_phase": next_phase, "seconds": elapsed,
                         **step.client.stats.as_dict()})


# ---- phases ---------------------------------------------------------------------------------------------------
def _chunks(items: list[str], size: int):
    for i in range(0, len(items), max(1, size)):
        yield i // max(1, size), items[i:i + size]


def _title(run: dict[str, Any]) -> str:
    verb = "Add to LucidLink" if run["op"] == "add" else "Remove from LucidLink"
    parts = []
    if run["asset_ids"]:
        parts.append(f"{len(run['asset_ids'])} asset{'s' if len(run['asset_ids']) != 1 else ''}")
    if run["collection_ids"]:
        n = len(run["collection_ids"])
        parts.append(f"{n} collection{'s' if n != 1 else ''}")
    return f"{verb}: {', '.join(parts) or 'nothing selected'} ({', '.join(run['formats'])})"


def phase_submit(step: Step) -> tuple[str, float]:
    """Create the visible job, then request the bulk copies (resumable: done keys are skipped)."""
    run, client = step.run, step.client
    if not run.get("iconik_job_id") and not run.get("iconik_job_error"):
        try:
            job = client.create_job(title=_title(run), type="TRANSFER", status="STARTED", object_type="assets",
                                    progress_total=0, progress_processed=0, message="Starting",
                                    metadata={"run_id": run["id"], "operation": run["op"],
                                              "b2_storage_id": run["b2_storage_id"],
                                              "ll_storage_id": run["ll_storage_id"]})
            step.set(iconik_job_id=job.get("id"))
            runs.save_while_leased(run["id"], step.owner, {"iconik_job_id": job.get("id")})
        except BadAnswer as exc:  # the run goes on; only the progress display in iconik is lost
            step.set(iconik_job_error=str(exc)[:300])
    target = run["ll_storage_id"] if run["op"] == "add" else run["b2_storage_id"]
    done = {j["key"] for j in run.get("copy_jobs") or []}
    copy_jobs = list(run.get("copy_jobs") or [])
    for fmt in run["copy_formats"]:
        for object_type, ids in (("assets", run["asset_ids"]), ("collections", run["collection_ids"])):
            for n, chunk in _chunks(list(ids), step.tune.bulk_chunk):
                key = f"{fmt}/{object_type}/{n}"
                if key in done:
                    continue
                if step.time_left() <= 0:
                    return "submit", 0.0
                entry = {"key": key, "format": fmt, "object_type": object_type, "count": len(chunk)}
                try:
                    entry.update(id=client.bulk_copy(target, object_type, chunk, fmt), status="READY", error=None)
                except (BadAnswer, NotFound) as exc:
                    entry.update(id=None, status="REFUSED", error=str(exc)[:300])
                copy_jobs.append(entry)
                step.set(copy_jobs=copy_jobs)
    return "expand", 0.0


def phase_expand(step: Step) -> tuple[str, float]:
    """Record the selected assets and walk the selected collections, one contents page per call."""
    run, client, tune = step.run, step.client, step.tune
    # Chunks written by an interrupted earlier attempt are loaded too: re-read pages add no duplicates.
    index = runs.AssetIndex.load(run["id"])
    ex = run.get("expand")
    if not ex:
        index.add(run["asset_ids"])
        index.flush()
        ex = {"frontier": [{"c": c, "p": 1} for c in run["collection_ids"]], "seen": list(run["collection_ids"]),
              "pages": 0, "missing": [], "odd_ids": 0}
        step.set(expand=ex)
    seen = set(ex["seen"])
    while ex["frontier"]:
        if step.time_left() <= 0:
            return "expand", 0.0
        item = ex["frontier"][0]
        try:
            objects, more = client.collection_page(item["c"], item["p"], tune.contents_per_page)
        except NotFound:
            ex["missing"].append(item["c"])
            ex["frontier"].pop(0)
            step.set(expand=ex)
            continue
        found: list[str] = []
        for obj in objects:
            oid, kind = obj.get("id"), obj.get("object_type")  # object_type, not type (plugin v1.1.0 fix)
            if not is_uuid(oid):  # an id goes into iconik URLs later: only well-formed ones
                ex["odd_ids"] = int(ex.get("odd_ids") or 0) + 1
                continue
            if kind == "assets":
                found.append(oid)
            elif kind == "collections" and oid not in seen:
                if len(seen) >= tune.max_collections:
                    raise StepFailed(f"the selection holds more than {tune.max_collections} collections")
                seen.add(oid)
                ex["seen"].append(oid)
                ex["frontier"].append({"c": oid, "p": 1})
        if index.add(found):
            index.flush()
        if more:
            item["p"] += 1
        else:
            ex["frontier"].pop(0)
        ex["pages"] += 1
        step.set(expand=ex)
    total = index.total
    now = time.time()
    step.set(assets_total=total, chunks=len(index.chunks), wait={"started": now, "deadline": now + tune.job_deadline_seconds, "checks": 0,
                                       "timed_out": False})
    return "wait", 0.0


def phase_wait(step: Step) -> tuple[str, float]:
    """Check the copy jobs; re-check later with growing gaps, or move on when all are done or time is up."""
    run, client, tune = step.run, step.client, step.tune
    copy_jobs = list(run.get("copy_jobs") or [])
    eta = 0.0
    progress: int | None = None
    for job in copy_jobs:
        if not job.get("id") or jobs.is_done(job.get("status")):
            continue
        if step.time_left() <= 0:
            break
        try:
            info = client.get_job(job["id"])
            job["status"] = info.get("status") or job.get("status")
            job["error"] = (info.get("error_message") or None) and str(info["error_message"])[:300]
            eta = max(eta, _eta(job, info))
            if isinstance(info.get("progress_processed"), int):
                progress = (progress or 0) + info["progress_processed"]
        except NotFound:
            job["status"], job["error"] = jobs.MISSING, "job no longer exists in iconik"
        except BadAnswer as exc:
            job["status"], job["error"] = jobs.MISSING, str(exc)[:300]
        step.set(copy_jobs=copy_jobs)
    wait = dict(run.get("wait") or {})
    if all(not j.get("id") or jobs.is_done(j.get("status")) for j in copy_jobs):
        return _final_pass(step)
    if time.time() >= float(wait.get("deadline") or 0):
        wait["timed_out"] = True
        step.set(wait=wait)
        return _final_pass(step)  # verification decides per asset; an unfinished copy is simply not confirmed
    wait["checks"] = int(wait.get("checks") or 0) + 1
    moved = progress is None or progress != wait.get("progress")
    wait["progress"] = progress
    step.set(wait=wait)
    if tune.overlap and run.get("assets_total") and moved and not wait.get("overlap_done"):
        return "process", 0.0  # meanwhile, handle the assets whose copy has already landed
    backoff = tune.job_poll_min_seconds * 1.6 ** (wait["checks"] - 1)
    # A job that reports progress is looked at again about when it should be done, not a backoff later.
    delay = eta if eta > 0 else backoff
    return "wait", max(tune.job_poll_min_seconds, min(tune.job_poll_max_seconds, delay))


def _final_pass(step: Step) -> tuple[str, float]:
    """All copy jobs are over (or out of time): one last pass over every asset gives each its verdict."""
    if not step.run.get("final"):
        step.set(final=True, cursor={"chunk": 0, "pos": 0})
    return "process", 0.0


def _eta(job: dict[str, Any], info: dict[str, Any]) -> float:
    """Seconds until the job should finish, from its progress since our last look (0 = unknown)."""
    now = time.time()
    done, total = info.get("progress_processed"), info.get("progress_total")
    previous, seen_at = job.get("seen_done"), job.get("seen_at")
    job["seen_done"], job["seen_at"] = done, now
    if not isinstance(done, int) or not isinstance(total, int) or total <= 0 or previous is None or not seen_at:
        return 0.0
    rate = (done - previous) / max(1e-3, now - seen_at)
    return (total - done) / rate if rate > 0 else 0.0


def phase_process(step: Step) -> tuple[str, float]:
    """Verify (and for /remove delete) asset by asset, page by page, until the time budget is spent."""
    run, tune = step.run, step.tune
    final = bool(run.get("final"))
    cursor = dict(run.get("cursor") or {"chunk": 0, "pos": 0})
    wait = dict(run.get("wait") or {})
    chunk: dict[str, Any] | None = None
    with cf.ThreadPoolExecutor(max_workers=max(1, tune.concurrency)) as pool:
        while step.time_left() > 0:
            if cursor["chunk"] >= int(run.get("chunks") or 0):
                if final:
                    return "finish", 0.0
                wait["overlap_done"] = True  # every asset seen while copying; the rest waits for the final pass
                step.set(wait=wait)
                return "wait", 0.0
            if chunk is None or chunk["n"] != cursor["chunk"]:
                chunk = runs.load_chunk(run["id"], cursor["chunk"]) or runs.new_chunk(cursor["chunk"])
            page = chunk["ids"][cursor["pos"]:cursor["pos"] + max(1, tune.page_size)]
            todo = [(a, runs.asset_record(chunk, a)) for a in page]
            todo = [(a, d) for a, d in todo if d.get("state") not in runs.TERMINAL]
            if todo:
                unconfirmed = _process_batch(step, pool, todo, chunk, final=final)
                if not final and unconfirmed * 2 >= len(todo):
                    # Caught up with the copy: most of this page has not landed yet. Look again later, from here.
                    wait["caught_up"] = int(wait.get("caught_up") or 0) + 1
                    step.set(wait=wait)
                    return "wait", min(tune.job_poll_max_seconds,
                                       tune.job_poll_min_seconds * 1.6 ** (wait["caught_up"] - 1))
            cursor["pos"] += len(page)
            if cursor["pos"] >= len(chunk["ids"]):
                cursor = {"chunk": cursor["chunk"] + 1, "pos": 0}
            step.set(cursor=dict(cursor))
    return ("process" if final else "wait"), 0.0  # while copying, re-check the jobs between bounded steps


def _inspect(client: IconikClient, asset_id: str) -> tuple[list[dict], list[dict], list[dict]]:
    return client.asset_formats(asset_id), client.asset_file_sets(asset_id), client.asset_files(asset_id)


def _save_records(step: Step, chunk: dict[str, Any], records: dict[str, dict[str, Any]]) -> None:
    if records:
        chunk["assets"].update(records)
        runs.save_chunk(step.run["id"], chunk)


def _process_batch(step: Step, pool: cf.ThreadPoolExecutor, todo: list[tuple[str, dict]],
                   chunk: dict[str, Any], *, final: bool = True) -> int:
    """Verify, store the verdicts, then delete what was confirmed. Before the final pass (copies still running)
    an unconfirmed asset gets no verdict: it stays pending. Returns how many stayed pending that way."""
    run, client = step.run, step.client
    ll, b2 = run["ll_storage_id"], run["b2_storage_id"]
    removing = run["op"] == "remove"

    def check(asset_id: str) -> verify.Check:
        formats, sets, files = _inspect(client, asset_id)
        if removing:
            return verify.check_remove(formats, sets, files, ll=ll, b2=b2, verify_formats=run["verify_formats"],
                                       delete_formats=run["formats"])
        return verify.check_add(formats, sets, files, ll=ll, add_formats=run["formats"])

    pending = [a for a, d in todo if d.get("state") == runs.PENDING]
    # (delete then purge, purge only) per confirmed asset; "resumed" ones were confirmed by an earlier attempt
    # that may have deleted some sets already, so those are purged first and deleted only if iconik insists.
    confirmed = {a: (list(d.get("delete_ids") or []), list(d.get("purge_ids") or []))
                 for a, d in todo if d.get("state") == runs.CONFIRMED}
    resumed = set(confirmed)
    verdicts: dict[str, dict[str, Any]] = {}
    transient: Exception | None = None
    auth: AuthRejected | None = None
    waiting = 0
    for asset_id, result in zip(pending, _map(pool, check, pending)):
        if isinstance(result, AuthRejected):
            auth = result
        elif isinstance(result, NotFound):
            verdicts[asset_id] = {"state": runs.KEPT if removing else runs.FAILED,
                                  "reason": "asset no longer exists in iconik"}
        elif isinstance(result, BadAnswer) and not final:
            waiting += 1
        elif isinstance(result, BadAnswer):
            verdicts[asset_id] = {"state": runs.KEPT if removing else runs.FAILED,
                                  "reason": f"could not check the asset: {result}"[:300]}
        elif isinstance(result, Exception):
            transient = result
        elif result.ok and removing:
            verdicts[asset_id] = {"state": runs.CONFIRMED, "delete_ids": list(result.delete_ids),
                                  "purge_ids": list(result.purge_ids), "notes": list(result.notes),
                                  "checked_at": time.time()}
            confirmed[asset_id] = (list(result.delete_ids), list(result.purge_ids))
        elif result.ok:
            verdicts[asset_id] = {"state": runs.DONE, "notes": list(result.notes), "checked_at": time.time()}
        elif not final:
            waiting += 1  # its copy may still be on its way
        else:
            verdicts[asset_id] = {"state": runs.KEPT if removing else runs.FAILED, "reason": result.reason,
                                  "checked_at": time.time()}
    # The verdicts are stored BEFORE any delete: a crash from here on resumes deleting exactly what was confirmed.
    _save_records(step, chunk, verdicts)
    finished = sum(1 for v in verdicts.values() if v["state"] in runs.TERMINAL)

    def remove(item: tuple[str, tuple[list[str], list[str]]]) -> int:
        asset_id, (delete_ids, purge_ids) = item
        n = 0
        for fs_id in purge_ids:
            n += int(client.purge_file_set(asset_id, fs_id))
        for fs_id in delete_ids:
            if asset_id in resumed:
                try:
                    n += int(client.purge_file_set(asset_id, fs_id))  # 404 = purged before the interruption
                    continue
                except BadAnswer as exc:
                    if exc.status != 400:  # 400: not deleted yet, so delete it now
                        raise
            client.delete_file_set(asset_id, fs_id)
            n += int(client.purge_file_set(asset_id, fs_id))
        return n

    done: dict[str, dict[str, Any]] = {}
    items = list(confirmed.items()) if auth is None else []
    for (asset_id, (delete_ids, purge_ids)), result in zip(items, _map(pool, remove, items)):
        if isinstance(result, AuthRejected):
            auth = result
        elif isinstance(result, (BadAnswer, NotFound)):
            done[asset_id] = {"state": runs.FAILED, "reason": f"B2 copy confirmed but deleting from LucidLink failed: "
                                                              f"{result}"[:300]}
        elif isinstance(result, Exception):
            transient = result
        else:
            done[asset_id] = {"state": runs.DONE, "purged": result, "file_sets": len(delete_ids) + len(purge_ids),
                              "done_at": time.time()}
    _save_records(step, chunk, done)
    finished += len(done)
    step.set(processed=int(run.get("processed") or 0) + finished)
    if auth is not None:
        raise auth
    if transient is not None:
        raise transient
    return waiting


def _map(pool: cf.ThreadPoolExecutor, fn, items: list) -> list:
    """fn over items in the pool; each result is the value or the exception it raised."""
    def safe(item):
        try:
            return fn(item)
        except Exception as exc:  # noqa: BLE001 - returned, so one asset's failure never hides another's result
            return exc
    return list(pool.map(safe, items))


def phase_finish(step: Step) -> tuple[str, float]:
    """Count the per-asset outcomes and report them on the run and on the iconik job."""
    _summarise(step, failed_reason=None)
    return "done", 0.0


def _summarise(step: Step, failed_reason: str | None) -> None:
    run = step.run
    counts = {s: 0 for s in (runs.PENDING, runs.CONFIRMED, runs.DONE, runs.KEPT, runs.FAILED)}
    problems: list[dict[str, str]] = []
    try:
        for asset_id, data in runs.iter_assets(run["id"]):
            state = data.get("state", runs.PENDING)
            counts[state] = counts.get(state, 0) + 1
            if state != runs.DONE and len(problems) < MAX_PROBLEMS:
                problems.append({"asset_id": asset_id, "state": state,
                                 "reason": data.get("reason") or "not processed"})
    except Exception as exc:  # noqa: BLE001 - reporting must not keep a failed run from ending
        log.warning("iconik run summary incomplete", run_id=run["id"], error=type(exc).__name__)
    total = sum(counts.values())
    ok = counts[runs.DONE]
    removing = run["op"] == "remove"
    notes = []
    ex = run.get("expand") or {}
    if ex.get("missing"):
        notes.append(f"{len(ex['missing'])} collection(s) not found")
    if ex.get("odd_ids"):
        notes.append(f"{ex['odd_ids']} item(s) with a malformed id skipped")
    if (run.get("wait") or {}).get("timed_out"):
        notes.append("copy jobs did not finish before the deadline")
    bad_jobs = [j for j in run.get("copy_jobs") or [] if jobs.outcome(j.get("status"), step.tune.warning_is_success)
                in ("failure", "warning") or j.get("status") == "REFUSED"]
    if bad_jobs:
        notes.append(f"{len(bad_jobs)} iconik copy job(s) ended {', '.join(sorted({str(j['status']) for j in bad_jobs}))}")
    if run.get("saved_searches_ignored"):
        notes.append("saved searches are not supported and were ignored")
    if failed_reason:
        status = "failed"
    elif total == 0 or ok == total:
        status = "succeeded"
    elif ok == 0:
        status = "failed"
    else:
        status = "partial"
    if run.get("assets_total") is None and failed_reason:
        message = f"Nothing was {'removed from' if removing else 'copied to'} LucidLink"
    elif removing:
        message = f"Removed the LucidLink copies of {ok} of {total} assets"
        if total - ok:
            message += f"; {total - ok} kept on LucidLink (B2 copy not confirmed or not processed)"
    else:
        message = f"Copied {ok} of {total} assets to LucidLink"
        if total - ok:
            message += f"; {total - ok} not copied"
    if failed_reason:
        message = f"{message}. Stopped: {failed_reason}"
    if notes:
        message += ". " + "; ".join(notes)
    error_message = "; ".join(f"{p['asset_id']}: {p['reason']}" for p in problems[:5]) or failed_reason
    step.set(status=status, summary={**counts, "total": total}, problems=problems, message=message[:1500],
             finished_at=time.time(), error=failed_reason)
    job_id = run.get("iconik_job_id")
    if job_id:
        job_status = {"succeeded": jobs.FINISHED, "partial": jobs.FINISHED_WITH_WARNING}.get(status, jobs.FAILED)
        try:
            client = step.client
            if client.deadline is not None and client.deadline - time.monotonic() < 10:
                client.deadline = time.monotonic() + 10  # the final report gets a short grace period of its own
            client.update_job(job_id, status=job_status, progress_total=total, progress_processed=total,
                              message=message[:1000], error_message=(error_message or None) and error_message[:1000])
        except IconikError as exc:
            log.warning("iconik job report failed", run_id=run["id"], error=str(exc)[:200])


def _fail(step: Step, reason: str) -> None:
    log.warning("iconik run failed", run_id=step.run["id"], reason=reason[:300])
    _summarise(step, failed_reason=reason[:500])


def _report_progress(step: Step, phase: str) -> None:
    """Show where the run is on its iconik job (best effort: only a refused token fails the step)."""
    run = step.run
    job_id = run.get("iconik_job_id")
    if not job_id:
        return
    total = run.get("assets_total") or 0
    text = {"submit": "Requesting copies", "expand": "Listing collections",
            "wait": f"Copying to {'LucidLink' if run['op'] == 'add' else 'B2'}",
            "process": "Verifying copies" + (" and removing LucidLink files" if run["op"] == "remove" else ""),
            }.get(phase, phase)
    try:
        step.client.update_job(job_id, progress_total=int(total), progress_processed=int(run.get("processed") or 0),
                               message=text)
    except AuthRejected:
        raise
    except IconikError as exc:
        log.info("iconik job progress not updated", run_id=run["id"], error=str(exc)[:200])


PHASES: dict[str, Callable[[Step], tuple[str, float]]] = {
    "submit": phase_submit, "expand": phase_expand, "wait": phase_wait, "process": phase_process,
    "finish": phase_finish,
}


def run_status(run_id: str) -> dict[str, Any] | None:
    """What an operator (or the fire script) sees of a run: never the token, never internal lease fields."""
    run = runs.get_run(run_id)
    if run is None:
        return None
    keys = ("id", "op", "status", "phase", "context", "formats", "copy_formats", "verify_formats", "b2_storage_id",
            "ll_storage_id", "iconik_job_id", "assets_total", "processed", "summary", "problems", "message", "error",
            "last_error", "step_failures", "steps", "created_at", "updated_at", "finished_at")
    out = {k: run.get(k) for k in keys}
    out["copy_jobs"] = [{k: j.get(k) for k in ("id", "format", "object_type", "count", "status", "error")}
                        for j in run.get("copy_jobs") or []]
    return out

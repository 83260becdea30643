"""process: per asset, in pages of `page_size` with `concurrency` parallel calls: list its formats, file sets and
files (3 calls); verify (remove: the copy on B2; add: the copy on LucidLink); store the verdict; then (remove,
confirmed only) delete + purge that asset's LucidLink file sets. Before the final pass (copies still running) an
unconfirmed asset stays pending and is looked at again later; the final pass gives every asset its verdict."""
from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable
from typing import Any, TypeVar

from mam.clients.iconik import AuthRejected, BadAnswer, IconikClient, NotFound
from mam.iconik import verify
from mam.iconik.run import REMOVE, Cursor
from mam.iconik.step import PhaseResult, Step, StepFailed
from mam.store import iconik_runs as runs

T = TypeVar("T")


def advance(step: Step) -> PhaseResult:
    """Verify (and for /remove delete) asset by asset, page by page, until the time budget is spent."""
    run, tune = step.run, step.tune
    final = run.final
    wait = run.wait
    if wait is None:  # expand always sets it before this phase
        raise StepFailed("internal error: the run has no wait state")
    cursor = Cursor(run.cursor.chunk, run.cursor.pos) if run.cursor else Cursor()
    chunk: dict[str, Any] | None = None
    with cf.ThreadPoolExecutor(max_workers=max(1, tune.concurrency)) as pool:
        while step.time_left() > 0:
            if cursor.chunk >= run.chunks:
                if final:
                    return "finish", 0.0
                wait.overlap_done = True  # every asset seen while copying; the rest waits for the final pass
                return "wait", 0.0
            if chunk is None or chunk["n"] != cursor.chunk:
                chunk = runs.load_chunk(run.id, cursor.chunk) or runs.new_chunk(cursor.chunk)
            page = chunk["ids"][cursor.pos:cursor.pos + max(1, tune.page_size)]
            todo = [(a, runs.asset_record(chunk, a)) for a in page]
            todo = [(a, d) for a, d in todo if d.get("state") not in runs.TERMINAL]
            if todo:
                unconfirmed = _process_batch(step, pool, todo, chunk, final=final)
                if not final and unconfirmed * 2 >= len(todo):
                    # Caught up with the copy: most of this page has not landed yet. Look again later, from here.
                    wait.caught_up += 1
                    return "wait", min(tune.job_poll_max_seconds,
                                       tune.job_poll_min_seconds * 1.6 ** (wait.caught_up - 1))
            cursor.pos += len(page)
            if cursor.pos >= len(chunk["ids"]):
                cursor = Cursor(cursor.chunk + 1, 0)
            run.cursor = Cursor(cursor.chunk, cursor.pos)
    return ("process" if final else "wait"), 0.0  # while copying, re-check the jobs between bounded steps


def _inspect(client: IconikClient, asset_id: str) -> tuple[list[dict], list[dict], list[dict]]:
    return client.asset_formats(asset_id), client.asset_file_sets(asset_id), client.asset_files(asset_id)


def _save_records(step: Step, chunk: dict[str, Any], records: dict[str, dict[str, Any]]) -> None:
    if records:
        chunk["assets"].update(records)
        runs.save_chunk(step.run.id, chunk)


def _process_batch(step: Step, pool: cf.ThreadPoolExecutor, todo: list[tuple[str, dict]],
                   chunk: dict[str, Any], *, final: bool = True) -> int:
    """Verify, store the verdicts, then delete what was confirmed. Before the final pass (copies still running)
    an unconfirmed asset gets no verdict: it stays pending. Returns how many stayed pending that way."""
    run, client = step.run, step.client
    ll, b2 = run.ll_storage_id, run.b2_storage_id
    removing = run.op == REMOVE

    def check(asset_id: str) -> verify.Check:
        formats, sets, files = _inspect(client, asset_id)
        if removing:
            return verify.check_remove(formats, sets, files, ll=ll, b2=b2, verify_formats=run.verify_formats,
                                       delete_formats=run.formats)
        return verify.check_add(formats, sets, files, ll=ll, b2=b2, add_formats=run.formats)

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
    run.processed += finished
    if auth is not None:
        raise auth
    if transient is not None:
        raise transient
    return waiting


def _map(pool: cf.ThreadPoolExecutor, fn: Callable[[T], Any], items: list[T]) -> list[Any]:
    """fn over items in the pool; each result is the value or the exception it raised."""
    def safe(item: T) -> Any:
        try:
            return fn(item)
        except Exception as exc:  # noqa: BLE001 - returned, so one asset's failure never hides another's result
            return exc
    return list(pool.map(safe, items))

"""expand: record the selected assets, then walk the selected collections recursively, one contents page per
call (`object_type` tells assets from sub-collections), recording every asset once. At most `max_collections`."""
from __future__ import annotations

import time

from mam.clients.iconik import NotFound
from mam.iconik.request import is_uuid
from mam.iconik.run import Expansion, Frontier, WaitState
from mam.iconik.step import PhaseResult, Step, StepFailed
from mam.store import iconik_runs as runs


def advance(step: Step) -> PhaseResult:
    """Record the selected assets and walk the selected collections, one contents page per call."""
    run, client, tune = step.run, step.client, step.tune
    # Chunks written by an interrupted earlier attempt are loaded too: re-read pages add no duplicates.
    index = runs.AssetIndex.load(run.id)
    if not run.expand:
        index.add(run.asset_ids)
        index.flush()
        run.expand = Expansion(frontier=[Frontier(c) for c in run.collection_ids], seen=list(run.collection_ids))
    ex = run.expand
    seen = set(ex.seen)
    while ex.frontier:
        if step.time_left() <= 0:
            return "expand", 0.0
        item = ex.frontier[0]
        try:
            objects, more = client.collection_page(item.collection_id, item.page, tune.contents_per_page)
        except NotFound:
            ex.missing.append(item.collection_id)
            ex.frontier.pop(0)
            continue
        found: list[str] = []
        for obj in objects:
            oid, kind = obj.get("id"), obj.get("object_type")  # object_type, not type (plugin v1.1.0 fix)
            if not is_uuid(oid):  # an id goes into iconik URLs later: only well-formed ones
                ex.odd_ids += 1
                continue
            if kind == "assets":
                found.append(oid)
            elif kind == "collections" and oid not in seen:
                if len(seen) >= tune.max_collections:
                    raise StepFailed(f"the selection holds more than {tune.max_collections} collections")
                seen.add(oid)
                ex.seen.append(oid)
                ex.frontier.append(Frontier(oid))
        if index.add(found):
            index.flush()
        if more:
            item.page += 1
        else:
            ex.frontier.pop(0)
        ex.pages += 1
    now = time.time()
    run.assets_total = index.total
    run.chunks = len(index.chunks)
    run.wait = WaitState(started=now, deadline=now + tune.job_deadline_seconds)
    return "wait", 0.0

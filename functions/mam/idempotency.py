"""How a task delivery stays harmless when it comes twice: the one rule, and the two helpers it needs.

Cloud Tasks delivers at least once (and a retried caller may queue the same hop again); webhooks are retried and
replayed. Every handler of ours follows these three rules:

1. Every hop has a name of its own. `TaskRoute.enqueue(key=...)` names the task from its key, so queuing the same
   hop again is refused as ALREADY_QUEUED (`mam.tasks`), and the next hop carries its number in the key.
2. Every record change is a guarded transition in a Firestore transaction (`transition`, or `store.update_video`
   with a mutate that says whether to write): a replay finds the state already moved on and writes nothing.
3. Work outside Firestore that must not be done twice for one hop (creating or polling a Twelve Labs task) runs only
   after `claim_once` of the hop's key. The first delivery creates the claim document and owns the hop; another
   delivery of the hop gets False and does nothing, except a Cloud Tasks retry (retry count > 0), which takes the
   hop over: the delivery that claimed it may have crashed after claiming, and refusing its retry would end the
   chain for good. Rules 1 and 2 keep the record right if a duplicate and such a retry both run.

Uploads need rules 1 and 2 (the safety check only reads TransloadIt); indexing needs all three. iconik runs hold a
lease on their run document instead (`mam.store.iconik_runs`, by step sequence number): a lease that expires lets any
later delivery take over a crashed step, where rule 3 waits for the crashed task's own retry.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mam import store
from mam.store import claims
from mam.tasks import TaskContext
from mam.videos import Video

UNCHANGED = "unchanged"  # the label of a transition that never ran (the video is gone)


def claim_once(collection: str, key: str, ctx: TaskContext, data: dict[str, Any]) -> bool:
    """True if this delivery owns hop `key` (rule 3): it claimed it first, or it is a Cloud Tasks retry.

    The claim document in `collection` holds `data` and the delivering task's name. Pass `expire_at` in a literal
    dict: the collection needs a TTL policy, and tests/deploy finds expiring collections by reading these calls.
    """
    if claims.claim_once(collection, key, {"task": ctx.name, **data}):
        return True
    return ctx.retry_count > 0


def transition(video_id: str, change: Callable[[Video], tuple[bool, str]]) -> tuple[Video | None, str]:
    """Run `change` on the video in one transaction (rule 2): (video after, or None if gone; the change's label).

    `change` edits the video in place and returns (write?, label); it may run more than once (transaction retries).
    """
    label = UNCHANGED

    def mutate(video: Video) -> bool:
        nonlocal label
        write, label = change(video)
        return write

    return store.update_video(video_id, mutate), label

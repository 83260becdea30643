"""The `insights/{video_id}` collection (a video's generated summary, chapters, transcript...) and the daily cap's
counters `insight_budget/{YYYY-MM-DD}`. Video lists never read these: `videos/{id}` stays light."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from mam.insights.record import Insight
from mam.store.db import client
from mam.videos import utcnow

INSIGHTS = "insights"
BUDGET = "insight_budget"


def get(video_id: str) -> Insight | None:
    """One video's insights, or None when never asked for."""
    snap = client().collection(INSIGHTS).document(video_id).get()
    return Insight.from_doc(snap.id, snap.to_dict() or {}) if snap.exists else None


def get_many(video_ids: Iterable[str], fields: list[str] | None = None) -> dict[str, Insight]:
    """Many videos' insights in ONE batched read (only `fields` when given); absent ones are left out."""
    db = client()
    refs = [db.collection(INSIGHTS).document(i) for i in dict.fromkeys(video_ids)]
    if not refs:
        return {}
    return {s.id: Insight.from_doc(s.id, s.to_dict() or {}) for s in db.get_all(refs, field_paths=fields) if s.exists}


def update(video_id: str, mutate: Callable[[Insight], bool]) -> Insight:
    """Read-modify-write one record in a transaction (a missing one starts as state "none"); `mutate` changes it
    in place and says whether to write. Returns the record as it now stands."""
    from google.cloud import firestore

    db = client()
    ref = db.collection(INSIGHTS).document(video_id)

    @firestore.transactional
    def run(tx) -> Insight:
        snap = ref.get(transaction=tx)
        insight = Insight.from_doc(video_id, snap.to_dict() or {}) if snap.exists else Insight(video_id)
        if mutate(insight):
            insight.version += 1
            insight.updated_at = utcnow()
            tx.set(ref, insight.to_doc())
        return insight

    return run(db.transaction())


def delete(video_id: str) -> None:
    """Forget a video's insights (the video was deleted)."""
    client().collection(INSIGHTS).document(video_id).delete()


def find_by_task(task_id: str) -> Insight | None:
    """The record waiting for analysis task `task_id` (one equality query, limit 1), or None."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = client().collection(INSIGHTS).where(filter=FieldFilter("analyze_task_id", "==", task_id)).limit(1)
    for snap in query.stream():
        return Insight.from_doc(snap.id, snap.to_dict() or {})
    return None


def take_budget(day: str, limit: int) -> bool:
    """Count one analysis against `day`; False (nothing counted) when `limit` are already counted."""
    from google.cloud import firestore

    db = client()
    ref = db.collection(BUDGET).document(day)

    @firestore.transactional
    def run(tx) -> bool:
        snap = ref.get(transaction=tx)
        used = int((snap.to_dict() or {}).get("count", 0)) if snap.exists else 0
        if used >= limit:
            return False
        tx.set(ref, {"count": used + 1, "updated_at": utcnow()})
        return True

    return run(db.transaction())


def budget_used(day: str) -> int:
    """How many analyses were counted against `day`."""
    snap = client().collection(BUDGET).document(day).get()
    return int((snap.to_dict() or {}).get("count", 0)) if snap.exists else 0


def set_budget_used(day: str, count: int) -> None:
    """Set a day's count (operators and tests: e.g. to let more run today)."""
    client().collection(BUDGET).document(day).set({"count": int(count), "updated_at": utcnow()})

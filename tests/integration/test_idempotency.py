"""mam.idempotency against the Firestore emulator: hop claims with the retry takeover, and guarded transitions."""
from __future__ import annotations

import datetime as dt
import uuid

from mam.tasks import TaskContext


def delivery(name: str = "t-1", retry: int = 0) -> TaskContext:
    return TaskContext(name=name, queue="index", retry_count=retry, execution_count=retry)


def test_a_hop_is_owned_by_its_first_delivery_or_a_cloud_tasks_retry(firestore, clean_firestore):
    from mam import idempotency, store
    from mam.indexing import worker

    key = f"{uuid.uuid4().hex}.task.0"
    expire_at = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert idempotency.claim_once(worker.HOPS, key, delivery("t-first"), {"expire_at": expire_at}) is True
    assert idempotency.claim_once(worker.HOPS, key, delivery("t-dup"), {"expire_at": expire_at}) is False
    # a retry of a task that may have crashed after claiming takes the hop over, so the chain goes on
    assert idempotency.claim_once(worker.HOPS, key, delivery("t-first", retry=1), {"expire_at": expire_at}) is True
    assert idempotency.claim_once(worker.HOPS, f"{key}x", delivery("t-other", retry=3), {"expire_at": expire_at})
    # what is stored is what indexing always stored: when, which task, and when the TTL policy may drop it
    doc = store.client().collection("index_hops").document(key).get().to_dict()
    assert set(doc) == {"at", "task", "expire_at"} and doc["task"] == "t-first" and doc["expire_at"] == expire_at


def test_the_indexing_claim_uses_the_index_hops_collection_with_its_ttl(firestore, clean_firestore):
    from mam import store
    from mam.indexing import worker

    key = f"{uuid.uuid4().hex}.s1.abcd.0"
    before = dt.datetime.now(dt.UTC)
    assert worker.claim(key, delivery("t-9")) is True and worker.claim(key, delivery("t-9")) is False
    doc = store.client().collection("index_hops").document(key).get().to_dict()
    assert doc["task"] == "t-9" and doc["expire_at"] - before >= worker.HOP_TTL - dt.timedelta(minutes=1)


def test_a_transition_writes_only_when_its_change_says_so_and_reports_its_label(firestore, clean_firestore):
    from mam import idempotency, store
    from mam.videos import FAILED, UPLOADING, Video

    vid = uuid.uuid4().hex[:20]
    store.create_video(Video(id=vid, title="t", status=UPLOADING))

    def fail_once(video: Video) -> tuple[bool, str]:
        if video.status == FAILED:
            return False, "already"
        video.status = FAILED
        return True, "recorded"

    after, label = idempotency.transition(vid, fail_once)
    assert label == "recorded" and after is not None and after.status == FAILED and after.version == 1
    again, label = idempotency.transition(vid, fail_once)  # a replay changes nothing
    assert label == "already" and again is not None and again.version == 1
    assert idempotency.transition("no-such-video", fail_once) == (None, idempotency.UNCHANGED)


def test_unchanged_is_the_label_uploads_report_for_a_missing_video():
    from mam import idempotency
    from mam.uploads import states

    assert idempotency.UNCHANGED == states.UNCHANGED


def test_a_transition_does_not_bring_back_a_video_deleted_after_its_read(firestore, clean_firestore):
    """The race behind a flaky discard: the cancel notification's transaction read the upload, the discard deleted
    it, and the transaction's write recreated it. The write now requires the record to still exist."""
    from mam import idempotency, store
    from mam.videos import FAILED, UPLOADING, Video

    vid = uuid.uuid4().hex[:20]
    store.create_video(Video(id=vid, title="t", status=UPLOADING, attempts={"a": 1, "b": 2}))

    def fail_after_a_delete(video: Video) -> tuple[bool, str]:
        store.delete_video(vid)  # what the discard does between the notification's read and its commit
        video.status = FAILED
        return True, "recorded"

    assert idempotency.transition(vid, fail_after_a_delete)[0] is None
    assert store.get_video(vid) is None

    # An update still replaces a map field whole, as the full write it replaced did.
    store.create_video(Video(id=vid, title="t", status=UPLOADING, attempts={"a": 1, "b": 2}))

    def one_attempt(video: Video) -> tuple[bool, str]:
        video.attempts = {"a": 3}
        return True, "recorded"

    after, _ = idempotency.transition(vid, one_attempt)
    assert after is not None and store.get_video(vid).attempts == {"a": 3}

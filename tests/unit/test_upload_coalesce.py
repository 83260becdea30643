"""Coalesced status reads: shared under concurrency, never stale, errors reach every caller."""
from __future__ import annotations

import threading
import time

import pytest
from mam.uploads.coalesce import BatchReader


def test_idle_reader_reads_once_per_call_and_filters_to_the_callers_ids():
    calls = []
    reader = BatchReader(lambda ids: calls.append(list(ids)) or {i: {"v": i} for i in ids if i != "gone"})
    assert reader.get(["a", "gone"]) == {"a": {"v": "a"}}
    assert reader.get(["b"]) == {"b": {"v": "b"}}
    assert calls == [["a", "gone"], ["b"]] and reader.reads == 2
    assert reader.get([]) == {} and reader.reads == 2


def test_concurrent_callers_share_reads_that_started_after_they_arrived():
    started = threading.Event()
    release = threading.Event()
    log = []  # (read start time, ids)

    def fetch(ids):
        log.append((time.monotonic(), sorted(ids)))
        started.set()
        release.wait(5)
        return {i: {"at": time.monotonic()} for i in ids}

    reader = BatchReader(fetch)
    arrivals, results = {}, {}

    def call(name, ids):
        arrivals[name] = time.monotonic()
        results[name] = reader.get(ids)

    first = threading.Thread(target=call, args=("first", ["a"]))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=call, args=(f"c{i}", ["a", f"x{i}"])) for i in range(6)]
    for t in others:
        t.start()
    time.sleep(0.2)
    release.set()
    for t in [first, *others]:
        t.join(5)
    assert reader.reads == 2, log  # the running read, then ONE read for all six that queued behind it
    assert log[1][1] == sorted({"a", *(f"x{i}" for i in range(6))})
    for i in range(6):
        assert set(results[f"c{i}"]) == {"a", f"x{i}"}
        assert log[1][0] >= arrivals[f"c{i}"]  # their read started after they arrived: never stale


def test_an_error_reaches_every_caller_of_the_batch_and_the_reader_recovers():
    gate = threading.Event()
    fail = {"on": True}

    def fetch(ids):
        gate.wait(5)
        if fail["on"]:
            raise RuntimeError("firestore down")
        return {i: {} for i in ids}

    reader = BatchReader(fetch)
    errors = []

    def call():
        try:
            reader.get(["a"])
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    gate.set()
    for t in threads:
        t.join(5)
    assert errors == ["firestore down"] * 4
    fail["on"] = False
    assert reader.get(["a"]) == {"a": {}}


def test_oversized_union_reads_alone_instead_of_growing_the_batch():
    gate = threading.Event()
    sizes = []

    def fetch(ids):
        sizes.append(len(ids))
        gate.wait(5)
        return {}

    reader = BatchReader(fetch, max_ids=5)
    threads = [threading.Thread(target=reader.get, args=([f"{n}-{i}" for i in range(4)],)) for n in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join(5)
    assert sorted(sizes) == [4, 4, 4]


@pytest.mark.parametrize("n", [1, 16])
def test_every_caller_gets_exactly_its_rows(n):
    reader = BatchReader(lambda ids: {i: {"id": i} for i in ids})
    out = {}
    threads = [threading.Thread(target=lambda k=k: out.__setitem__(k, reader.get([f"v{k}"]))) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert out == {k: {f"v{k}": {"id": f"v{k}"}} for k in range(n)}

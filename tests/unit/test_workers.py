"""The worker pool survives hanging, crashing, failing and memory-hungry items."""

from __future__ import annotations

import time

from exoref.services.workers import WorkerPool
from tests.unit.pool_jobs import job


def test_every_item_gets_an_outcome_and_bad_items_do_not_stop_the_rest() -> None:
    pool: WorkerPool[str, str] = WorkerPool(job, processes=2, timeout=1.5,
                                            memory_limit=512 * 1024**2)
    items = ["a", "hang", "b", "crash", "c", "fail", "d", "e"]
    started = time.monotonic()
    outcomes = dict(pool.run(items))
    elapsed = time.monotonic() - started
    assert set(outcomes) == set(items)
    for ok in "abcde":
        assert outcomes[ok].value == ok.upper()
    assert "gave up after 1.5 s" in (outcomes["hang"].error or "")
    assert "crashed" in (outcomes["crash"].error or "")
    assert outcomes["fail"].error == "ValueError: bad item"
    assert elapsed < 15


def test_a_memory_hog_is_stopped_by_the_limit_not_the_clock() -> None:
    # A generous clock: on a busy machine filling 512 MB can take more than a second.
    pool: WorkerPool[str, str] = WorkerPool(job, processes=1, timeout=30,
                                            memory_limit=512 * 1024**2)
    outcomes = dict(pool.run(["hog", "after"]))
    assert "memory" in (outcomes["hog"].error or "")
    assert outcomes["after"].value == "AFTER"


def test_empty_input_starts_nothing() -> None:
    pool: WorkerPool[str, str] = WorkerPool(job, processes=2)
    assert list(pool.run([])) == []

"""The collector policy of a worker (runtime.server.gc_policy): garbage is never frozen, a
settle after a reload releases cycles that were frozen before it, young collections are
spaced out."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.server import gc_policy
from runtime.server.loader import load
from tests.runtime.test_loader import build


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_freezes_what_lives_and_collects_what_does_not() -> None:
    kept, dropped = Node(), Node()
    gone = weakref.ref(dropped)
    del dropped
    gc_policy.settle()
    assert gone() is None
    assert gc.get_freeze_count() > 0
    assert all(o is not kept for o in gc.get_objects())  # frozen: no generation walks it


def test_a_cycle_frozen_earlier_is_freed_by_the_next_settle() -> None:
    """A reload settles again: what the previous artifact left in cycles is collected then."""
    old = Node()
    gone = weakref.ref(old)
    gc_policy.settle()
    del old
    gc.collect()
    assert gone() is not None  # frozen: full collections leave it alone
    gc_policy.settle()
    assert gone() is None


def test_a_replaced_snapshot_is_freed_without_the_collector(tmp_path: Path) -> None:
    """Freezing at each swap is safe because a snapshot holds no reference cycle: the old
    one goes the moment its last user drops it, frozen or not."""
    build(tmp_path)
    first = load(tmp_path)
    gone = weakref.ref(first)
    gc.disable()
    try:
        load(tmp_path)
        del first
        assert gone() is None
    finally:
        gc.enable()


def test_young_collections_wait_for_ten_thousand_allocations() -> None:
    gc_policy.settle()
    assert gc.get_threshold()[0] == gc_policy.YOUNG_THRESHOLD == 10_000
    gc.collect()
    before = gc.get_stats()[0]["collections"]
    # 5,000 containers: 7 young collections at CPython's 700
    held: list[list[int]] = [[] for _ in range(5_000)]
    assert gc.get_stats()[0]["collections"] == before
    del held

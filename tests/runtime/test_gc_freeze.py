"""What a worker freezes for the collector (runtime.server.gc_freeze): garbage is never
frozen, and a settle after a reload releases cycles that were frozen before it."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.server import gc_freeze
from runtime.server.loader import load
from tests.runtime.test_loader import build


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_settle_freezes_what_lives_and_collects_what_does_not() -> None:
    kept, dropped = Node(), Node()
    gone = weakref.ref(dropped)
    del dropped
    gc_freeze.settle()
    assert gone() is None
    assert gc.get_freeze_count() > 0
    assert all(o is not kept for o in gc.get_objects())  # frozen: no generation walks it


def test_a_cycle_frozen_earlier_is_freed_by_the_next_settle() -> None:
    """A reload settles again: what the previous artifact left in cycles is collected then."""
    old = Node()
    gone = weakref.ref(old)
    gc_freeze.settle()
    del old
    gc.collect()
    assert gone() is not None  # frozen: full collections leave it alone
    gc_freeze.settle()
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

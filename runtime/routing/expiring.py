"""A bounded map whose entries expire: what conversation affinity and thinking signatures'
owners both remember per worker. Past `capacity` the least recently written (or touched) entry
goes first; an entry written `ttl` seconds ago or more reads as absent and is removed. Time is
the caller's (`now`), so the policy is tested with an injected clock."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Expiring(Generic[K, V]):
    __slots__ = ("_entries", "capacity", "ttl")

    def __init__(self, capacity: int, ttl: float) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()

    def get(self, key: K, now: float, *, touch: bool = False) -> V | None:
        """The live value; `touch` makes it the most recently used (it still expires from when
        it was written)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now - entry[1] >= self.ttl:
            del self._entries[key]
            return None
        if touch:
            self._entries.move_to_end(key)
        return entry[0]

    def peek(self, key: K) -> V | None:
        """The value as written, expired or not."""
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def put(self, key: K, value: V, now: float) -> None:
        entries = self._entries
        entries[key] = (value, now)
        entries.move_to_end(key)
        while len(entries) > self.capacity:
            entries.popitem(last=False)

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

"""Conversation affinity: send a conversation back to the provider and key it started on.

Prompt caches are per provider (often per key) and thinking signatures are only valid where
they were made, so a conversation moves only when its candidate cannot serve. Entries are
bounded (least recently used go first) and expire, so the map cannot grow without limit.
"""

from __future__ import annotations

from collections import OrderedDict

CAPACITY = 50_000
TTL = 3600.0
"""Prompt caches live minutes, not hours: an hour-old conversation has nothing warm left."""


class AffinityMap:
    """Affinity key → (provider name, key slot) of its last successful attempt."""

    __slots__ = ("_entries", "capacity", "ttl")

    def __init__(self, capacity: int = CAPACITY, ttl: float = TTL) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._entries: OrderedDict[str, tuple[str, str, float]] = OrderedDict()

    def get(self, key: str, now: float) -> tuple[str, str] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now - entry[2] >= self.ttl:
            del self._entries[key]
            return None
        return entry[0], entry[1]

    def remember(self, key: str, provider: str, slot: str, now: float) -> None:
        entries = self._entries
        entries[key] = (provider, slot, now)
        entries.move_to_end(key)
        while len(entries) > self.capacity:
            entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

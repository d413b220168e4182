"""Memos on the request path whose keys a client can choose (a model name, an upstream's
status): bounded by starting over when full, which costs one rebuild per entry and keeps no
order to maintain on every hit."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(memo: dict[K, V], key: K, value: V, limit: int) -> V:
    """`memo[key] = value`, the memo emptied first when it holds `limit` entries."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value

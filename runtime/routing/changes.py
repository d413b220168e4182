"""State changes the routing state reports the moment they happen, for an operator's event
stream: a plain callback, so routing knows nothing of who listens (`runtime.ops`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple

ChangeKind = Literal[
    "cooldown_started",
    "breaker_opened",
    "breaker_closed",
    "key_marked_bad",
    "redis_degraded",
    "redis_recovered",
]


class Change(NamedTuple):
    kind: ChangeKind
    provider: str | None = None
    slot: str | None = None
    """The key's id (or the provider's name for a keyless one); None for the provider itself."""
    fingerprint: str | None = None
    until: float | None = None
    """On the routing state's clock; None when the change has no end of its own."""
    reason: str = ""


Hook = Callable[[Change], None]


def ignore(change: Change) -> None:
    """The hook when nobody listens."""

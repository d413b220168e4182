"""Time sources. Every time-based part takes a `Clock` so tests drive time by hand."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds; only differences and comparisons between readings mean anything."""

    def __call__(self) -> float: ...


monotonic: Clock = time.monotonic
"""The production clock."""


class FakeClock:
    """A clock that moves only when told to, for deterministic tests of windows and cooldowns."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

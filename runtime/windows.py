"""Per-key quota accounting: exact sliding windows for configured limits, and learned counters.

A `SlidingWindow` keeps one entry per reservation, so it is exact: a key admitted only when
`fits()` never has more than `limit` units inside any span-long interval. Entries are
mutable pairs so a token estimate reserved before sending can be corrected to the usage
the upstream reported. A `LearnedQuota` is what the upstream's own headers last said,
counted down locally until its reset, because the upstream sees traffic this process does not.
"""

from __future__ import annotations

import math
from collections import deque

Entry = list[float]
"""`[time, amount]` of one reservation; mutable so `SlidingWindow.adjust` can reconcile it."""


class SlidingWindow:
    """Units (requests or tokens) reserved in the last `span` seconds, against `limit`."""

    __slots__ = ("_log", "_used", "configured", "limit", "span")

    def __init__(self, span: float, limit: int) -> None:
        self.span = span
        self.configured = limit
        self.limit = limit
        """Effective limit: the configured one, lowered by what the upstream says (`cap`)."""
        self._log: deque[Entry] = deque()
        self._used = 0.0

    def used(self, now: float) -> float:
        log = self._log
        cutoff = now - self.span
        while log and log[0][0] <= cutoff:
            self._used -= log.popleft()[1]
        return self._used

    def next_expiry(self) -> float:
        """When the oldest reservation leaves the window (inf if empty): the next free-up."""
        return self._log[0][0] + self.span if self._log else math.inf

    def room(self, now: float) -> float:
        return self.limit - self.used(now)

    def add(self, now: float, amount: float) -> Entry:
        entry = [now, amount]
        self._log.append(entry)
        self._used += amount
        return entry

    def adjust(self, entry: Entry, amount: float) -> None:
        """Replace a reservation's amount, if it is still inside the window."""
        if self._log and entry[0] >= self._log[0][0]:
            self._used += amount - entry[1]
        entry[1] = amount

    def free_at(self, now: float, need: float) -> float | None:
        """Earliest time `need` more units fit, assuming nothing else is reserved; None if never."""
        if need > self.limit:
            return None
        excess = self.used(now) + need - self.limit
        if excess <= 0:
            return now
        for stamp, amount in self._log:
            excess -= amount
            if excess <= 0:
                return stamp + self.span
        return now  # only reachable through float drift; a fresh look will tell

    def cap(self, learned: int | None) -> None:
        """Lower the limit to what the upstream reports; never above what was configured."""
        self.limit = self.configured if learned is None else min(self.configured, learned)

    def reconfigure(self, limit: int) -> None:
        self.configured = limit
        self.limit = min(self.limit, limit)


class LearnedQuota:
    """Remaining units the upstream last reported, valid until its reset."""

    __slots__ = ("limit", "remaining", "reset_at")

    DEFAULT_TTL = 60.0
    """How long a count without a reset time is believed: long enough to act, short enough to recheck."""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: float | None = None
        self.reset_at = 0.0

    def learn(self, now: float, limit: int | None, remaining: int | None, reset_at: float | None) -> None:
        if remaining is None:
            if reset_at is not None and self.remaining is not None:
                self.reset_at = reset_at
            return
        self.limit = limit
        self.remaining = float(remaining)
        self.reset_at = reset_at if reset_at is not None else now + self.DEFAULT_TTL

    def left(self, now: float) -> float | None:
        """Units believed left, or None when nothing current is known."""
        if self.remaining is None or now >= self.reset_at:
            return None
        return self.remaining

    def spend(self, amount: float) -> None:
        if self.remaining is not None:
            self.remaining -= amount

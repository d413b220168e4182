"""Per-key quota accounting: bucketed sliding windows for configured limits, and learned counters.

A `SlidingWindow` counts units in BUCKETS buckets per span, each counted until it has wholly
left the window, exactly as the Redis backend does (`runtime.routing.redis_backend`): memory is fixed
per key (a day window at 100 req/s holds 61 buckets, not 8.6 million entries), the local view
and the shared one agree, and the guarantee stays exact in the safe direction: a unit is
counted for at least `span` and at most `span + span/BUCKETS` seconds, so a key admitted only
when `room()` allows never has more than `limit` units inside any span-long interval.
A reservation's `Entry` points at its bucket so an estimate reserved before sending can be
corrected to the usage the upstream reported. A `LearnedQuota` is what the upstream's own
headers last said, counted down locally until its reset, because the upstream sees traffic
this process does not.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

BUCKETS = 60
"""Buckets per span: the Redis backend's resolution, so both views admit the same requests."""


Entry = list[Any]
"""`[bucket, amount]` of one reservation: the `[index, total]` bucket it was counted in (shared
with others) and its own share, so `SlidingWindow.adjust` can reconcile exactly that share."""


class SlidingWindow:
    """Units (requests or tokens) reserved in the last `span` seconds, against `limit`."""

    __slots__ = ("_buckets", "_expiry", "_used", "configured", "limit", "size", "span")

    def __init__(self, span: float, limit: int) -> None:
        self.span = span
        self.size = span / BUCKETS
        self.configured = limit
        self.limit = limit
        """Effective limit: the configured one, lowered by what the upstream says (`cap`)."""
        self._buckets: deque[list[float]] = deque()
        """`[index, total]` per non-empty bucket, oldest first; bucket i covers [i·size, (i+1)·size)."""
        self._used = 0.0
        self._expiry = math.inf
        """When the oldest bucket stops counting: once all of it is more than `span` old."""

    def used(self, now: float) -> float:
        if now >= self._expiry:
            buckets = self._buckets
            size = self.size
            while buckets and (buckets[0][0] + BUCKETS + 1) * size <= now:
                self._used -= buckets.popleft()[1]
            self._expiry = (buckets[0][0] + BUCKETS + 1) * size if buckets else math.inf
        return self._used

    def next_expiry(self) -> float:
        """When the oldest bucket leaves the window (inf if empty): the next free-up."""
        return self._expiry

    def room(self, now: float) -> float:
        return self.limit - self.used(now)

    def add(self, now: float, amount: float) -> Entry:
        index = now // self.size
        buckets = self._buckets
        if buckets and buckets[-1][0] >= index:
            bucket = buckets[-1]
            bucket[1] += amount
        else:
            bucket = [index, amount]
            buckets.append(bucket)
            if len(buckets) == 1:
                self._expiry = (index + BUCKETS + 1) * self.size
        self._used += amount
        return [bucket, amount]

    def adjust(self, entry: Entry, amount: float) -> None:
        """Replace a reservation's amount, if its bucket still counts."""
        bucket, before = entry
        buckets = self._buckets
        if buckets and bucket[0] >= buckets[0][0]:
            bucket[1] += amount - before
            self._used += amount - before
        entry[1] = amount

    def free_at(self, now: float, need: float) -> float | None:
        """Earliest time `need` more units fit, assuming nothing else is reserved; None if never."""
        if need > self.limit:
            return None
        excess = self.used(now) + need - self.limit
        if excess <= 0:
            return now
        for index, amount in self._buckets:
            excess -= amount
            if excess <= 0:
                return (index + BUCKETS + 1) * self.size
        return now  # only reachable through float drift; a fresh look will tell

    def cap(self, learned: int | None) -> None:
        """Lower the limit to what the upstream reports; never above what was configured."""
        self.limit = self.configured if learned is None else min(self.configured, learned)

    def reconfigure(self, limit: int) -> None:
        self.configured = limit
        self.limit = min(self.limit, limit)


class LearnedQuota:
    """Remaining units the upstream last reported, valid until its reset, counted down locally.

    `reported` is what the upstream said; `remaining` is that minus what this process spent
    since, an estimate: the upstream's own window may have freed units meanwhile."""

    __slots__ = ("limit", "remaining", "reported", "reset_at")

    DEFAULT_TTL = 60.0
    """How long a count without a reset time is believed: long enough to act, short enough to recheck."""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: float | None = None
        self.reported: float | None = None
        self.reset_at = 0.0

    def learn(self, now: float, limit: int | None, remaining: int | None, reset_at: float | None) -> None:
        if remaining is None:
            if reset_at is not None and self.remaining is not None:
                self.reset_at = reset_at
            return
        self.limit = limit
        self.remaining = self.reported = float(remaining)
        self.reset_at = reset_at if reset_at is not None else now + self.DEFAULT_TTL

    def adopt(self, remaining: float, reset_at: float, reported: float | None) -> None:
        """Take the shared view (state backends): the countdown of every process, and the count
        the upstream last reported to any of them; `remaining <= reported` holds."""
        if reported is not None:
            self.reported = reported
        self.remaining = remaining if self.reported is None else min(remaining, self.reported)
        self.reset_at = reset_at

    def left(self, now: float) -> float | None:
        """Units believed left, or None when nothing current is known."""
        if self.remaining is None or now >= self.reset_at:
            return None
        return self.remaining

    def stated_left(self, now: float) -> float | None:
        """Units the upstream itself last said were left, or None when nothing current is known."""
        if self.reported is None or now >= self.reset_at:
            return None
        return self.reported

    def spend(self, amount: float) -> None:
        if self.remaining is not None:
            self.remaining -= amount

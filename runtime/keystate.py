"""Everything relay knows about one upstream key: windows, learned quota, cooldown, concurrency.

`usable()` is the hot path (called for every key of every planned step): it answers from a
cached verdict that is exact until the key's next mutation or its `stale_at` instant, so
planning over a hundred keys costs a comparison each; `blocked()` explains a refusal and
runs only for keys that are skipped. Keyless providers get one state under the provider's name.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from runtime.artifact import Breaker, Limits
from runtime.breaker import CircuitBreaker
from runtime.ratelimit import RateInfo
from runtime.windows import Entry, LearnedQuota, SlidingWindow

MINUTE, DAY = 60.0, 86400.0
BLOCKED = -1.0


class Reservation(NamedTuple):
    """What one attempt holds on a key, so `release` can undo or reconcile exactly that."""

    tokens: int
    request_entries: tuple[tuple[SlidingWindow, Entry], ...]
    token_entries: tuple[tuple[SlidingWindow, Entry], ...]
    shared: object = None
    """What a shared state backend needs to undo its side of the reservation."""


def _windows(pairs: tuple[tuple[float, int | None], ...]) -> tuple[SlidingWindow, ...]:
    return tuple(SlidingWindow(span, limit) for span, limit in pairs if limit is not None)


class KeyState:
    __slots__ = (
        "blocked_until",
        "breaker",
        "cooldown_reason",
        "cooldown_until",
        "fingerprint",
        "inflight",
        "max_inflight",
        "provider",
        "request_quota",
        "request_windows",
        "score",
        "slot",
        "stale_at",
        "strikes",
        "token_quota",
        "token_room",
        "token_windows",
    )

    def __init__(self, slot: str, provider: str, fingerprint: str, limits: Limits, breaker: Breaker) -> None:
        self.slot = slot
        self.provider = provider
        self.fingerprint = fingerprint
        self.request_windows = _windows(((MINUTE, limits.rpm), (DAY, limits.rpd)))
        self.token_windows = _windows(((MINUTE, limits.tpm), (DAY, limits.tpd)))
        self.max_inflight = limits.concurrency
        self.request_quota = LearnedQuota()
        self.token_quota = LearnedQuota()
        self.inflight = 0
        self.cooldown_until = 0.0
        self.cooldown_reason = ""
        self.strikes = 0
        """Consecutive rate-limit/overload failures, for exponential backoff."""
        self.breaker = CircuitBreaker(breaker)
        self.blocked_until = 0.0
        """Cached verdict (see `refresh`): blocked while now < this (inf: until some event)."""
        self.score = 1.0
        self.token_room = math.inf
        self.stale_at = -math.inf

    def reconfigure(self, limits: Limits, breaker: Breaker) -> None:
        """Adopt a rebuilt artifact's limits, keeping the history of windows that still exist."""
        self.breaker.config = breaker
        old = {(w.span, "r"): w for w in self.request_windows} | {
            (w.span, "t"): w for w in self.token_windows
        }

        def keep(kind: str, pairs: tuple[tuple[float, int | None], ...]) -> tuple[SlidingWindow, ...]:
            kept = []
            for span, limit in pairs:
                if limit is None:
                    continue
                window = old.get((span, kind)) or SlidingWindow(span, limit)
                window.reconfigure(limit)
                kept.append(window)
            return tuple(kept)

        self.request_windows = keep("r", ((MINUTE, limits.rpm), (DAY, limits.rpd)))
        self.token_windows = keep("t", ((MINUTE, limits.tpm), (DAY, limits.tpd)))
        self.max_inflight = limits.concurrency
        self.invalidate()

    def usable(self, now: float, tokens: int) -> float:
        """Headroom (fraction of the tightest limit left) if this key can take a request of
        `tokens` now, else BLOCKED (< 0). Exact, yet usually one comparison: see `refresh`."""
        if now >= self.stale_at:
            self.refresh(now)
        if now < self.blocked_until or self.token_room < tokens:
            return BLOCKED
        return self.score

    def invalidate(self) -> None:
        self.stale_at = -math.inf

    def refresh(self, now: float) -> None:
        """Recompute the cached verdict and the next instant it can change by itself.

        Between two mutations of this key, its state changes only when a window entry expires,
        a cooldown, breaker or learned quota runs out: `stale_at` is the first of those, so the
        cache stays exact while planning touches each key with a single comparison."""
        blocked, changes, score, token_room = 0.0, math.inf, 1.0, math.inf
        if now < self.cooldown_until:
            blocked = changes = self.cooldown_until
        breaker = self.breaker
        if breaker.tripped:
            if now < breaker.open_until:
                blocked = max(blocked, breaker.open_until)
                changes = min(changes, breaker.open_until)
            elif breaker.probing:
                blocked = math.inf
        for window in self.request_windows:
            room = window.room(now) - 1
            changes = min(changes, window.next_expiry())
            if room < 0:
                blocked = max(blocked, window.free_at(now, 1) or math.inf)
            score = min(score, room / window.limit)
        for window in self.token_windows:
            room = window.room(now)
            changes = min(changes, window.next_expiry())
            token_room = min(token_room, room)
            score = min(score, room / window.limit)
        if self.max_inflight is not None:
            room = self.max_inflight - self.inflight - 1
            if room < 0:
                blocked = math.inf
            score = min(score, room / self.max_inflight)
        for quota, need in ((self.request_quota, 1), (self.token_quota, 0)):
            left = quota.left(now)
            if left is None:
                continue
            changes = min(changes, quota.reset_at)
            if left < need:
                blocked = max(blocked, quota.reset_at)
            if need == 0:
                token_room = min(token_room, left)
            score = min(score, (left - need) / max(quota.limit or 0, left, 1))
        self.blocked_until = blocked
        self.stale_at = changes
        self.score = max(score, 0.0)
        self.token_room = token_room

    def blocked(self, now: float, tokens: int) -> tuple[str, float | None] | None:
        """Why this key cannot take the request now, and from when it could (None: unknown/never)."""
        if now < self.cooldown_until:
            return self.cooldown_reason or "cooldown", self.cooldown_until
        if not self.breaker.allows(now):
            if self.breaker.probing:
                return "key breaker half-open (probe in flight)", None
            return "key breaker open", self.breaker.open_until
        for window in self.request_windows:
            if window.room(now) < 1:
                return f"key exhausted ({window.limit} requests per {window.span:g}s)", window.free_at(now, 1)
        for window in self.token_windows:
            if window.room(now) < tokens:
                return f"no capacity for ~{tokens} tokens", window.free_at(now, tokens)
        if self.max_inflight is not None and self.inflight >= self.max_inflight:
            return f"at concurrency limit {self.max_inflight}", None
        left = self.request_quota.left(now)
        if left is not None and left < 1:
            return "key exhausted (upstream reports 0 left)", self.request_quota.reset_at
        left = self.token_quota.left(now)
        if left is not None and left < tokens:
            return f"no capacity for ~{tokens} tokens", self.token_quota.reset_at
        return None

    def reserve(self, now: float, tokens: int) -> Reservation | None:
        """Count one attempt against every limit, unless it no longer fits (lost a race)."""
        if self.usable(now, tokens) < 0:
            return None
        self.invalidate()
        self.inflight += 1
        self.request_quota.spend(1)
        self.token_quota.spend(tokens)
        return Reservation(
            tokens,
            tuple((w, w.add(now, 1)) for w in self.request_windows),
            tuple((w, w.add(now, tokens)) for w in self.token_windows),
        )

    def release(self, reservation: Reservation, tokens_used: int | None) -> None:
        self.invalidate()
        self.inflight = max(0, self.inflight - 1)
        if tokens_used is None or tokens_used == reservation.tokens:
            return
        for window, entry in reservation.token_entries:
            window.adjust(entry, tokens_used)

    def cancel(self, reservation: Reservation) -> None:
        """Undo a reservation that was never used (a shared backend refused it)."""
        self.release(reservation, 0)
        for window, entry in reservation.request_entries:
            window.adjust(entry, 0)
        self.request_quota.spend(-1)
        self.token_quota.spend(-reservation.tokens)

    def learn(self, now: float, info: RateInfo) -> None:
        """Believe the upstream's counters; its limits may lower configured windows, never raise them."""
        self.invalidate()
        self.request_quota.learn(now, info.limit_requests, info.remaining_requests, info.reset_requests_at)
        self.token_quota.learn(now, info.limit_tokens, info.remaining_tokens, info.reset_tokens_at)
        for windows, limit, span in (
            (self.request_windows, info.limit_requests, info.requests_window),
            (self.token_windows, info.limit_tokens, info.tokens_window),
        ):
            if limit is not None and span is not None:
                for window in windows:
                    if window.span == span:
                        window.cap(limit)

    def cool(self, until: float, reason: str) -> None:
        """Extend the cooldown; an earlier hint never shortens a longer one already in force."""
        self.invalidate()
        if until > self.cooldown_until:
            self.cooldown_until = until
            self.cooldown_reason = reason

    def snapshot(self, now: float) -> dict[str, object]:
        windows = {
            f"{'requests' if kind == 'r' else 'tokens'}/{w.span:g}s": {"used": w.used(now), "limit": w.limit}
            for kind, group in (("r", self.request_windows), ("t", self.token_windows))
            for w in group
        }
        return {
            "provider": self.provider,
            "fingerprint": self.fingerprint,
            "inflight": self.inflight,
            "cooldown_s": round(max(0.0, self.cooldown_until - now), 3),
            "cooldown_reason": self.cooldown_reason if now < self.cooldown_until else None,
            "breaker": self.breaker.snapshot(now),
            "windows": windows,
            "upstream_requests_left": self.request_quota.left(now),
            "upstream_tokens_left": self.token_quota.left(now),
        }

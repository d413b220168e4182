"""Everything relay knows about one upstream key: windows, learned quota, cooldown, concurrency.

`usable()` is the hot path (called for every key of every planned step): it answers from a
cached verdict that is exact until the key's next mutation or its `stale_at` instant, so
planning over a hundred keys costs a comparison each. A reservation (and its release) on a
key that nothing counts, no window, concurrency limit or known quota, leaves the verdict as
it was, so such a key is not recomputed on every request. `blocked()` explains a refusal and
runs only for keys that are skipped. Keyless providers get one state under the provider's name.

A refusal is one of three kinds (`Block.kind`), which decide what the client is told and
whether the panic rule may override it: "never" (the request cannot fit this key at all),
"limited" (a limit the upstream or the operator stated: a 429's cooldown, a reported 0 left,
a configured window or concurrency) and "unavailable" (relay's own inference: a backoff after
5xx, a breaker, a rejected key, the local countdown of a reported quota).

Token cost is `tokens` (input estimate + expected output) of which `prompt` is the input:
a request bigger than a token window is reserved at that window's whole limit when its input
fits (it needs an empty window, and its usage is reconciled afterwards), so a long
`max_tokens` never keeps a request out for good; only an input over the limit can never fit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

from runtime.artifact import Breaker, Limits
from runtime.routing.breaker import CircuitBreaker
from runtime.routing.plan import SkipKind
from runtime.routing.ratelimit import RateInfo
from runtime.routing.windows import Entry, LearnedQuota, SlidingWindow

MINUTE, DAY = 60.0, 86400.0
BLOCKED = -1.0


class Block(NamedTuple):
    """Why a key cannot take a request now, and from when it could (None: unknown or never)."""

    reason: str
    until: float | None
    kind: SkipKind


class Reservation(NamedTuple):
    """What one attempt holds on a key, so `release` can undo or reconcile exactly that."""

    tokens: float
    """Tokens spent from the learned token quota (the windows' amounts are in their entries)."""
    request_entries: tuple[tuple[SlidingWindow, Entry], ...]
    token_entries: tuple[tuple[SlidingWindow, Entry], ...]
    shared: object = None
    """What a shared state backend needs to undo its side of the reservation."""


def _windows(pairs: tuple[tuple[float, int | None], ...]) -> tuple[SlidingWindow, ...]:
    return tuple(SlidingWindow(span, limit) for span, limit in pairs if limit is not None)


def token_need(limit: float | None, tokens: float, prompt: float | None) -> float:
    """What a request costs against a token limit: all of it if it fits, else the whole limit
    when its input does (`prompt` None: all of `tokens` is input)."""
    if limit is None or tokens <= limit:
        return tokens
    return max(tokens if prompt is None else prompt, limit)


class KeyState:
    __slots__ = (
        "auth_strikes",
        "backoff_reason",
        "backoff_until",
        "blocked_until",
        "breaker",
        "cooldown_reason",
        "cooldown_until",
        "counted",
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
        "token_limit",
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
        self.counted = self._counts_reservations()
        self.request_quota = LearnedQuota()
        self.token_quota = LearnedQuota()
        self.inflight = 0
        self.cooldown_until = 0.0
        """Until when a limit the upstream stated keeps this key out (a 429, retry-after, a bill)."""
        self.cooldown_reason = ""
        self.backoff_until = 0.0
        """Until when relay's own inference keeps it out (backoff after 5xx, a rejected key)."""
        self.backoff_reason = ""
        self.strikes = 0
        """Consecutive rate-limit/overload failures, for exponential backoff."""
        self.auth_strikes = 0
        """Consecutive rejections (401/403) with no success between."""
        self.breaker = CircuitBreaker(breaker)
        self.blocked_until = 0.0
        """Cached verdict (see `refresh`): blocked while now < this (inf: until some event)."""
        self.score = 1.0
        self.token_room = math.inf
        self.token_limit = math.inf
        """Smallest token limit in force: requests above it take the slow, clamping check."""
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
        self.counted = self._counts_reservations()
        self.invalidate()

    def _counts_reservations(self) -> bool:
        """Whether a reservation or its release moves the cached verdict by itself: some window
        or a concurrency limit counts it (a known quota does too, checked when it is)."""
        return bool(self.request_windows or self.token_windows) or self.max_inflight is not None

    def usable(self, now: float, tokens: int, prompt: int | None = None) -> float:
        """Headroom (fraction of the tightest limit left) if this key can take a request of
        `tokens` (of which `prompt` input) now, else BLOCKED (< 0). Exact, yet usually one
        comparison: see `refresh`."""
        if now >= self.stale_at:
            self.refresh(now)
        if now < self.blocked_until:
            return BLOCKED
        if self.token_room < tokens and (tokens <= self.token_limit or not self._fits(now, tokens, prompt)):
            return BLOCKED
        return self.score

    def _fits(self, now: float, tokens: int, prompt: int | None) -> bool:
        """The token check for a request bigger than some limit, clamped per limit."""
        for window in self.token_windows:
            if window.room(now) < token_need(window.limit, tokens, prompt):
                return False
        left = self.token_quota.left(now)
        return left is None or left >= token_need(self.token_quota.limit, tokens, prompt)

    def invalidate(self) -> None:
        self.stale_at = -math.inf

    def refresh(self, now: float) -> None:
        """Recompute the cached verdict and the next instant it can change by itself.

        Between two mutations of this key, its state changes only when a window entry expires,
        a cooldown, breaker or learned quota runs out: `stale_at` is the first of those, so the
        cache stays exact while planning touches each key with a single comparison."""
        blocked, changes, score, token_room, token_limit = 0.0, math.inf, 1.0, math.inf, math.inf
        for until in (self.cooldown_until, self.backoff_until):
            if now < until:
                blocked = max(blocked, until)
                changes = min(changes, until)
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
            token_limit = min(token_limit, window.limit)
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
                token_limit = min(token_limit, quota.limit or math.inf)
            score = min(score, (left - need) / max(quota.limit or 0, left, 1))
        self.blocked_until = blocked
        self.stale_at = changes
        self.score = max(score, 0.0)
        self.token_room = token_room
        self.token_limit = token_limit

    def blocked(self, now: float, tokens: int, prompt: int | None = None) -> Block | None:
        """Why this key cannot take the request now: a stated limit if there is one, else relay's
        inference; None when it can."""
        return self.stated_block(now, tokens, prompt) or self._inferred_block(now, tokens, prompt)

    def stated_block(self, now: float, tokens: int, prompt: int | None = None) -> Block | None:
        """What keeps the key out that the upstream or the operator stated; the panic rule
        overrides everything else."""
        least = tokens if prompt is None else prompt
        for window in self.token_windows:
            if least > window.limit:
                return Block(f"request of ~{least} input tokens exceeds {_per(window)}", None, "never")
        limit = self.token_quota.limit
        if limit is not None and least > limit and self.token_quota.stated_left(now) is not None:
            return Block(
                f"request of ~{least} input tokens exceeds the upstream's limit of {limit}", None, "never"
            )
        if now < self.cooldown_until:
            return Block(self.cooldown_reason or "cooldown", self.cooldown_until, "limited")
        for window in self.request_windows:
            if window.room(now) < 1:
                return Block(f"key exhausted ({_per(window, 'requests')})", window.free_at(now, 1), "limited")
        for window in self.token_windows:
            need = token_need(window.limit, tokens, prompt)
            if window.room(now) < need:
                return Block(f"no capacity for ~{tokens} tokens", window.free_at(now, need), "limited")
        if self.max_inflight is not None and self.inflight >= self.max_inflight:
            return Block(f"at concurrency limit {self.max_inflight}", None, "limited")
        reported = self.request_quota.stated_left(now)
        if reported is not None and reported < 1:
            return Block("key exhausted (upstream reports 0 left)", self.request_quota.reset_at, "limited")
        reported = self.token_quota.stated_left(now)
        if reported is not None and reported < least:
            return Block(
                f"no capacity for ~{least} tokens (upstream reports {reported:.0f} left)",
                self.token_quota.reset_at,
                "limited",
            )
        return None

    def _inferred_block(self, now: float, tokens: int, prompt: int | None) -> Block | None:
        if now < self.backoff_until:
            return Block(self.backoff_reason or "backoff", self.backoff_until, "unavailable")
        if not self.breaker.allows(now):
            if self.breaker.probing:
                return Block("key breaker half-open (probe in flight)", None, "unavailable")
            return Block("key breaker open", self.breaker.open_until, "unavailable")
        left = self.request_quota.left(now)
        if left is not None and left < 1:
            return Block(
                "key exhausted (by local count since the upstream's last report)",
                self.request_quota.reset_at,
                "unavailable",
            )
        left = self.token_quota.left(now)
        if left is not None and left < token_need(self.token_quota.limit, tokens, prompt):
            return Block(f"no capacity for ~{tokens} tokens", self.token_quota.reset_at, "unavailable")
        return None

    def reserve(
        self, now: float, tokens: int, prompt: int | None = None, *, force: bool = False
    ) -> Reservation | None:
        """Count one attempt against every limit, unless it no longer fits (lost a race).
        `force` (the panic rule) admits a key that only relay's inference keeps out."""
        if force:
            if self.stated_block(now, tokens, prompt) is not None:
                return None
        elif self.usable(now, tokens, prompt) < 0:
            return None
        whole = not force and tokens <= self.token_limit  # no limit to clamp to: the common case
        quoted = self.request_quota.remaining is not None or self.token_quota.remaining is not None
        if self.counted or quoted:
            self.invalidate()
        self.inflight += 1
        quota = tokens if whole else token_need(self.token_quota.limit, tokens, prompt)
        if quoted:
            self.request_quota.spend(1)
            self.token_quota.spend(quota)
        if not (self.request_windows or self.token_windows):
            return Reservation(quota, (), ())  # no configured window to count in
        return Reservation(
            quota,
            tuple((w, w.add(now, 1)) for w in self.request_windows),
            tuple(
                (w, w.add(now, tokens if whole else token_need(w.limit, tokens, prompt)))
                for w in self.token_windows
            ),
        )

    def release(self, reservation: Reservation, tokens_used: int | None) -> None:
        if self.counted:
            self.invalidate()
        self.inflight = max(0, self.inflight - 1)
        if tokens_used is None:
            return
        for window, entry in reservation.token_entries:
            window.adjust(entry, tokens_used)

    def cancel(self, reservation: Reservation) -> None:
        """Undo a reservation that was never used (a shared backend refused it)."""
        self.invalidate()
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

    def cool(self, until: float, reason: str, *, stated: bool = True) -> None:
        """Extend the cooldown (`stated`: the upstream's word) or the backoff (relay's inference);
        an earlier hint never shortens a longer one already in force."""
        self.invalidate()
        if stated:
            if until > self.cooldown_until:
                self.cooldown_until = until
                self.cooldown_reason = reason
        elif until > self.backoff_until:
            self.backoff_until = until
            self.backoff_reason = reason

    def forgive(self) -> None:
        """End the backoff: the key just answered, so the inference behind it was wrong."""
        self.invalidate()
        self.backoff_until = 0.0
        self.backoff_reason = ""

    def windows(self) -> Iterator[tuple[str, SlidingWindow]]:
        """Every configured window with its kind: "r" (requests) or "t" (tokens)."""
        for window in self.request_windows:
            yield "r", window
        for window in self.token_windows:
            yield "t", window

    def out_until(self) -> float:
        """When both the cooldown and the backoff are over."""
        return max(self.cooldown_until, self.backoff_until)

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
            "cooldown_s": round(max(0.0, self.out_until() - now), 3),
            "cooldown_reason": self._out_reason(now),
            "breaker": self.breaker.snapshot(now),
            "windows": windows,
            "upstream_requests_left": self.request_quota.left(now),
            "upstream_tokens_left": self.token_quota.left(now),
        }

    def _out_reason(self, now: float) -> str | None:
        if now < self.cooldown_until and self.cooldown_until >= self.backoff_until:
            return self.cooldown_reason
        return self.backoff_reason if now < self.backoff_until else None


def _per(window: SlidingWindow, unit: str = "tokens") -> str:
    return f"{window.limit} {unit} per {window.span:g}s"

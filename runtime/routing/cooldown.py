"""What a failed attempt costs the key that made it: the waterfall's penalty table.

| kind                           | key cooldown                                           | stated  | health |
|--------------------------------|--------------------------------------------------------|---------|--------|
| rate_limited                   | exhausted reset, else retry-after, else backoff        | if 0 left | no   |
| overloaded                     | exhausted reset or retry-after, else backoff (shorter) | if 0 left | yes  |
| auth (401/403), logged loudly  | 60 s, x8 per confirmation (8 min, 64 min, 8.5 h), 24 h | no      | no     |
| payment (402, quota)           | PAYMENT_COOLDOWN, logged loudly                        | yes     | no     |
| server_error, connect, timeout | none                                                   | -       | yes    |
| context, client_error          | none                                                   | -       | no     |

*Stated* cooldowns are limits the upstream said hold for everyone (a counter reported at 0
with its reset, a bill): they hold even when nothing else can serve. A 429 or 529 without
such a counter, even with a `retry-after`, refuses one request, not every request: upstreams
send them to a share of requests while the rest succeed. Relay honours its `retry-after` by
moving traffic to other keys and steps for that long, but as inference: with nothing else
left, the key is still tried, as a caller going direct would (issue 18: one `retry-after: 2`
on 30 % of requests made a one-key chain fail 97 % of requests where direct failed 30 %). The others are relay's own inference, and the
planner sends to such a key anyway when every candidate is out only by inference (the panic
rule, `RoutingState.plan`), so relay is never less available than calling the upstream
directly. A rejected key is such an inference: one 401 may be a blip of the upstream's auth
service, so it keeps the key out of rotation briefly and lets the next try confirm it; each
confirmation (another 401 with no success between) makes the wait eight times longer, up to
a day, and a success forgets them. Only a rebuild with a new key value starts a fresh state.

Backoff uses "equal jitter" (half fixed, half random) so a pool of keys that failed together
does not come back together, yet a key never retries sooner than half its due delay.
"""

from __future__ import annotations

import random
from typing import Literal, NamedTuple

import msgspec

from runtime.routing.ratelimit import RateInfo

FailureKind = Literal[
    "rate_limited",
    "overloaded",
    "server_error",
    "connect",
    "timeout",
    "auth",
    "payment",
    "context",
    "client_error",
]

AUTH_FIRST = 60.0
"""Cooldown after a key's first 401/403; confirmed (or forgotten) by the next try."""
AUTH_GROWTH = 8.0
AUTH_CAP = 24 * 3600.0
PAYMENT_COOLDOWN = 3600.0
BACKOFF_BASE = 1.0
BACKOFF_CAP: dict[str, float] = {"rate_limited": 300.0, "overloaded": 60.0}
HEALTH_KINDS = frozenset({"overloaded", "server_error", "connect", "timeout"})


class Penalty(NamedTuple):
    seconds: float | None
    """Key cooldown length; None leaves the key usable."""
    reason: str
    stated: bool
    """The upstream stated this limit, so it holds even when no other candidate is left."""
    alert: bool
    """Worth a loud log line: an operator has to fix something (a key, a bill)."""


def backoff(strikes: int, rng: random.Random, base: float = BACKOFF_BASE, cap: float = 60.0) -> float:
    """Delay after `strikes` consecutive failures: min(cap, base·2^strikes), half of it jittered."""
    due = min(cap, base * 2.0 ** min(strikes, 62))
    return due / 2.0 + rng.random() * due / 2.0


def hinted_wait(retry_after: float | None, info: RateInfo | None, now: float) -> float | None:
    """Seconds the upstream asked for: `retry-after` wins, else the reset of an exhausted counter."""
    if retry_after is not None:
        return retry_after
    if info is None:
        return None
    if info.retry_after is not None:
        return info.retry_after
    resets = [
        reset - now
        for remaining, reset in (
            (info.remaining_requests, info.reset_requests_at),
            (info.remaining_tokens, info.reset_tokens_at),
        )
        if remaining == 0 and reset is not None
    ]
    return max(0.0, *resets) if resets else None


def _counters(info: RateInfo | None) -> RateInfo | None:
    """The reported counters without `retry-after`: what says a quota is gone for everyone."""
    if info is None or info.retry_after is None:
        return info
    return msgspec.structs.replace(info, retry_after=None)


def auth_cooldown(strikes: int) -> float:
    """Cooldown after the (`strikes` + 1)-th consecutive rejection of a key."""
    return min(AUTH_CAP, AUTH_FIRST * AUTH_GROWTH ** min(strikes, 16))


def penalty(
    kind: FailureKind,
    *,
    strikes: int,
    retry_after: float | None,
    info: RateInfo | None,
    now: float,
    rng: random.Random,
) -> Penalty:
    """`strikes`: consecutive failures of this key of the same family (rate/overload, or auth)."""
    if kind in ("rate_limited", "overloaded"):
        label = kind.replace("_", " ")
        exhausted = hinted_wait(None, _counters(info), now)
        if exhausted is not None:
            wait = max(exhausted, retry_after or 0.0)
            return Penalty(wait, f"{label} (upstream quota exhausted for {wait:.3g}s)", True, False)
        hinted = hinted_wait(retry_after, info, now)
        if hinted is not None:
            return Penalty(hinted, f"{label} (upstream asked {hinted:.3g}s)", False, False)
        delay = backoff(strikes, rng, cap=BACKOFF_CAP[kind])
        return Penalty(delay, f"{label} (backoff {delay:.3g}s)", False, False)
    if kind == "auth":
        return Penalty(auth_cooldown(strikes), "key rejected by upstream (401/403)", False, True)
    if kind == "payment":
        return Penalty(PAYMENT_COOLDOWN, "payment required (402)", True, True)
    return Penalty(None, kind.replace("_", " "), False, False)

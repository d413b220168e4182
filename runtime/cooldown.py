"""What a failed attempt costs the key that made it: the waterfall's penalty table.

| kind                          | key cooldown                                   | provider health |
|-------------------------------|------------------------------------------------|-----------------|
| rate_limited                  | retry-after, else exhausted reset, else backoff | no              |
| overloaded                    | retry-after, else backoff (shorter cap)        | yes             |
| auth (401/403)                | AUTH_BAD_FOR, logged loudly                    | no              |
| payment (402)                 | PAYMENT_COOLDOWN                               | no              |
| server_error, connect, timeout| none                                           | yes             |
| context, client_error         | none                                           | no              |

Backoff uses "equal jitter" (half fixed, half random) so a pool of keys that failed together
does not come back together, yet a key never retries sooner than half its due delay.
"""

from __future__ import annotations

import random
from typing import Literal, NamedTuple

from runtime.ratelimit import RateInfo

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

AUTH_BAD_FOR = 24 * 3600.0
"""A rejected key stays out until a rebuild: a new key value has a new fingerprint and a fresh state."""
PAYMENT_COOLDOWN = 3600.0
BACKOFF_BASE = 1.0
BACKOFF_CAP: dict[str, float] = {"rate_limited": 300.0, "overloaded": 60.0}
HEALTH_KINDS = frozenset({"overloaded", "server_error", "connect", "timeout"})


class Penalty(NamedTuple):
    seconds: float | None
    """Key cooldown length; None leaves the key usable."""
    reason: str
    counts_for_health: bool
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


def penalty(
    kind: FailureKind,
    *,
    strikes: int,
    retry_after: float | None,
    info: RateInfo | None,
    now: float,
    rng: random.Random,
) -> Penalty:
    health = kind in HEALTH_KINDS
    if kind in ("rate_limited", "overloaded"):
        hinted = hinted_wait(retry_after, info, now)
        if hinted is not None:
            return Penalty(hinted, f"{kind.replace('_', ' ')} (upstream asked {hinted:.3g}s)", health, False)
        delay = backoff(strikes, rng, cap=BACKOFF_CAP[kind])
        return Penalty(delay, f"{kind.replace('_', ' ')} (backoff {delay:.3g}s)", health, False)
    if kind == "auth":
        return Penalty(AUTH_BAD_FOR, "key rejected by upstream (401/403)", False, True)
    if kind == "payment":
        return Penalty(PAYMENT_COOLDOWN, "payment required (402)", False, True)
    return Penalty(None, kind.replace("_", " "), health, False)

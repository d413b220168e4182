"""The one error a client gets when every step of a chain failed or was skipped.

Its message lists every attempt and skip, so a user can see from the client alone what
happened; its status is chosen in the client's own terms from what the failures were.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from runtime.errors import (
    BadGateway,
    BadRequest,
    ContextOverflow,
    GatewayTimeout,
    Overloaded,
    RateLimited,
    RelayError,
)
from runtime.routing.state import Plan


class _Attempt(Protocol):
    provider: str
    model: str
    outcome: str
    status: int | None
    detail: str
    cooldown_left: float | None


def _describe(a: _Attempt) -> str:
    status = f"{a.status} " if a.status is not None else ""
    cool = f", cooling {math.ceil(a.cooldown_left)}s" if a.cooldown_left else ""
    detail = f": {a.detail[:160]}" if a.detail and a.outcome not in ("rate_limited",) else ""
    return f"{a.provider}/{a.model} ({status}{a.outcome}{cool}){detail}"


RATE_OUTCOMES = frozenset({"rate_limited", "full"})
"""Attempt outcomes that are rate limits: a 429, or a key that filled up since the plan."""


def _rate_like(a: _Attempt) -> bool:
    return a.outcome in RATE_OUTCOMES or (a.outcome == "payment" and a.status == 429)


def _retry_after(attempts: Sequence[_Attempt], plan: Plan, now: float) -> float:
    """The soonest any attempted or skipped step may serve again, at least a second."""
    waits = [a.cooldown_left for a in attempts if a.cooldown_left]
    waits += [s.until - now for s in plan.skipped if s.kind != "never" and s.until is not None]
    return max(min(waits, default=1.0), 1.0)


def all_failed(chain: str, attempts: Sequence[_Attempt], plan: Plan, now: float) -> RelayError:
    """The status says what a retry can achieve: 400 when nothing ever could (every step
    disabled, keyless, lacking a capability, or too small for the input; or every step said
    the prompt is too long), 429 with `retry-after` only when every attempt was a rate limit
    and no step is out for another reason than a stated limit, 529/503 when steps are only
    temporarily out or overloaded (a mix of overloaded and rate-limited attempts too, with
    `retry-after`), 504 for timeouts, 502 otherwise. A breaker, a backoff or a
    rejected key is never reported as a rate limit, and neither is an empty set of attempts."""
    parts = [_describe(a) for a in attempts]
    for skip in plan.skipped:
        until = f" for {math.ceil(skip.until - now)}s" if skip.until is not None and skip.until > now else ""
        parts.append(f"{skip.step.provider}/{skip.step.model} (skipped: {skip.reason}{until})")
    listing = "; ".join(parts) or "the chain has no usable step"
    outcomes = {a.outcome for a in attempts}
    kinds = {s.kind for s in plan.skipped}
    if outcomes == {"context"}:
        return BadRequest(f"prompt is too long for every step of chain {chain!r}: {listing}")
    if not attempts and kinds <= {"never"}:
        return BadRequest(f"no step of chain {chain!r} can take this request: {listing}")
    rate_limited = any(_rate_like(a) for a in attempts) or "limited" in kinds
    if rate_limited and all(_rate_like(a) for a in attempts) and (attempts or kinds <= {"never", "limited"}):
        return RateLimited(
            f"every step of chain {chain!r} is rate limited: {listing}",
            retry_after=_retry_after(attempts, plan, now),
        )
    if "overloaded" in outcomes and outcomes <= {"overloaded", *RATE_OUTCOMES}:
        # overloaded, or rate limited / filled up meanwhile: all of it passes, so a retry helps
        if outcomes == {"overloaded"}:
            return Overloaded(f"every step of chain {chain!r} is overloaded: {listing}")
        return Overloaded(
            f"every step of chain {chain!r} is overloaded or rate limited: {listing}",
            retry_after=_retry_after(attempts, plan, now),
        )
    if outcomes and outcomes <= {"timeout"}:
        return GatewayTimeout(f"every step of chain {chain!r} timed out: {listing}")
    if not attempts:
        return Overloaded(f"no step of chain {chain!r} is available: {listing}")
    return BadGateway(f"every step of chain {chain!r} failed: {listing}")


def too_long(chain: str, plan: Plan, need: int) -> ContextOverflow | None:
    """The 400 that makes Claude Code compact, before any call, when no step's context window
    can hold the request. A step out for another reason (disabled, lacking a capability, busy)
    is not helped by a shorter prompt, so then the queue and the all-failed answer decide."""
    if plan.candidates:
        return None
    windows = [s.window for s in plan.skipped if s.window is not None]
    if not windows or len(windows) < len(plan.skipped):
        return None
    listing = "; ".join(f"{s.step.provider}/{s.step.model} ({s.reason})" for s in plan.skipped)
    return ContextOverflow(
        f"prompt is too long: {need} tokens > {max(windows)} maximum "
        f"(relay's floor estimate of input plus output; chain {chain!r}: {listing})"
    )

"""The one error a client gets when every step of a chain failed or was skipped.

Its message lists every attempt and skip, so a user can see from the client alone what
happened; its status is chosen in the client's own terms from what the failures were.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from runtime.errors import BadGateway, BadRequest, GatewayTimeout, Overloaded, RateLimited, RelayError
from runtime.routing_state import Plan


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


def all_failed(chain: str, attempts: Sequence[_Attempt], plan: Plan, now: float) -> RelayError:
    parts = [_describe(a) for a in attempts]
    for skip in plan.skipped:
        until = f" for {math.ceil(skip.until - now)}s" if skip.until is not None and skip.until > now else ""
        parts.append(f"{skip.step.provider}/{skip.step.model} (skipped: {skip.reason}{until})")
    listing = "; ".join(parts) or "the chain has no usable step"
    outcomes = {a.outcome for a in attempts}
    rate_like = outcomes <= {"rate_limited", "full", "payment"}
    if outcomes == {"context"}:
        return BadRequest(f"prompt is too long for every step of chain {chain!r}: {listing}")
    if rate_like and (attempts or plan.soonest_recovery is not None):
        soonest = plan.soonest_recovery
        lefts = [a.cooldown_left for a in attempts if a.cooldown_left]
        candidates = [x for x in [*lefts, (soonest - now) if soonest is not None else None] if x is not None]
        retry = min(candidates) if candidates else 1.0
        return RateLimited(
            f"every step of chain {chain!r} is rate limited: {listing}", retry_after=max(retry, 1.0)
        )
    if outcomes and outcomes <= {"overloaded"}:
        return Overloaded(f"every step of chain {chain!r} is overloaded: {listing}")
    if outcomes and outcomes <= {"timeout"}:
        return GatewayTimeout(f"every step of chain {chain!r} timed out: {listing}")
    if not attempts and plan.skipped and all(s.reason.startswith("lacks capability") for s in plan.skipped):
        return BadRequest(f"no step of chain {chain!r} can take this request: {listing}")
    if not attempts:
        return Overloaded(f"no step of chain {chain!r} is available: {listing}")
    return BadGateway(f"every step of chain {chain!r} failed: {listing}")

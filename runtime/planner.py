"""Pure pieces of planning one step: may it serve at all, and which of its keys, in what order."""

from __future__ import annotations

from runtime.artifact import Provider, Step
from runtime.breaker import CircuitBreaker
from runtime.keystate import KeyState
from runtime.plan import Candidate, Skip
from runtime.strategies import StepView


def step_refusal(
    index: int,
    step: Step,
    provider: Provider,
    breaker: CircuitBreaker,
    now: float,
    capabilities: frozenset[str],
) -> Skip | None:
    """Why the whole step is out regardless of its keys, or None."""
    if not provider.enabled:
        return Skip(index, step, f"disabled: {provider.disabled_reason or 'provider disabled'}", None)
    if capabilities and step.capabilities is not None:
        missing = sorted(capabilities.difference(step.capabilities))
        if missing:
            return Skip(index, step, f"lacks capability {', '.join(missing)}", None)
    if not breaker.allows(now):
        if breaker.probing:
            return Skip(index, step, "breaker half-open (probe in flight)", None)
        return Skip(index, step, "breaker open", breaker.open_until)
    return None


def pool_view(
    index: int,
    step: Step,
    candidates: tuple[Candidate, ...],
    states: tuple[KeyState, ...],
    start: int,
    now: float,
    tokens: int,
) -> StepView | Skip:
    """Usable keys of a step: the one with most headroom first, the rest in pool order from
    `start` (so equally free keys take turns); a Skip when none is usable."""
    count = len(candidates)
    if count == 1:
        room = states[0].usable(now, tokens)
        if room < 0:
            return skip_step(index, step, states, now, tokens)
        return StepView(index, step, list(candidates), room)
    usable: list[Candidate] = []
    best, best_room = 0, -1.0
    start %= count
    for position in (*range(start, count), *range(start)):
        room = states[position].usable(now, tokens)
        if room >= 0:
            if room > best_room:
                best, best_room = len(usable), room
            usable.append(candidates[position])
    if not usable:
        return skip_step(index, step, states, now, tokens)
    if best:
        usable.insert(0, usable.pop(best))
    return StepView(index, step, usable, best_room)


def skip_step(index: int, step: Step, states: tuple[KeyState, ...], now: float, tokens: int) -> Skip:
    """The step's reason is its soonest-recovering key's; `until` is when that key recovers."""
    reasons = [state.blocked(now, tokens) for state in states]
    known = [r for r in reasons if r is not None]
    if not known:  # usable() and blocked() disagree only through float drift
        return Skip(index, step, "no usable key", now)
    timed = [r for r in known if r[1] is not None]
    reason, until = min(timed, key=lambda r: r[1] or 0.0) if timed else known[0]
    if len(states) > 1:
        reason = f"{reason} (all {len(states)} keys)"
    return Skip(index, step, reason, until)

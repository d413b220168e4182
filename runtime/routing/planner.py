"""Pure pieces of planning one step: may it serve at all, and which of its keys, in what order.

Also the panic rule's pick: when no step can serve, the best candidate that only relay's own
inference keeps out (an open breaker, a backoff after 5xx, a rejected key, a local countdown),
since sending it is never worse for the client than the upstream called directly.
"""

from __future__ import annotations

import math

import msgspec

from runtime.artifact import Provider, Step
from runtime.routing.breaker import CircuitBreaker
from runtime.routing.keystate import KeyState
from runtime.routing.plan import Candidate, Skip, SkipKind
from runtime.routing.strategies import StepView


def step_refusal(
    index: int,
    step: Step,
    provider: Provider,
    breaker: CircuitBreaker,
    now: float,
    capabilities: frozenset[str],
    context_need: int = 0,
) -> Skip | None:
    """Why the whole step is out regardless of its keys, or None. `context_need` is the
    request's input floor plus its expected output (`runtime.translate.tokens.input_floor`):
    a model whose window is known to be smaller cannot take it from any key."""
    if not provider.enabled:
        reason = f"disabled: {provider.disabled_reason or 'provider disabled'}"
        return Skip(index, step, reason, None, "never")
    if step.context is not None and context_need > step.context:
        reason = f"context window {step.context} < ~{context_need} tokens"
        return Skip(index, step, reason, None, "never", window=step.context)
    if capabilities and step.capabilities is not None:
        missing = sorted(capabilities.difference(step.capabilities))
        if missing:
            return Skip(index, step, f"lacks capability {', '.join(missing)}", None, "never")
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
    prompt: int | None = None,
) -> StepView | Skip:
    """Usable keys of a step: the one with most headroom first, the rest in pool order from
    `start` (so equally free keys take turns); a Skip when none is usable."""
    count = len(candidates)
    if count == 1:
        room = states[0].usable(now, tokens, prompt)
        if room < 0:
            return skip_step(index, step, states, now, tokens, prompt)
        return StepView(index, step, candidates, room)
    usable: list[Candidate] = []
    best, best_room = 0, -1.0
    start %= count
    for position in (*range(start, count), *range(start)):
        room = states[position].usable(now, tokens, prompt)
        if room >= 0:
            if room > best_room:
                best, best_room = len(usable), room
            usable.append(candidates[position])
    if not usable:
        return skip_step(index, step, states, now, tokens, prompt)
    if best:
        usable.insert(0, usable.pop(best))
    return StepView(index, step, usable, best_room)


def skip_step(
    index: int, step: Step, states: tuple[KeyState, ...], now: float, tokens: int, prompt: int | None = None
) -> Skip:
    """The step's reason is its soonest-recovering key's; `until` is when that key recovers.
    Its kind is the mildest of its keys': one key only relay's inference keeps out makes the
    step "unavailable" (the panic rule may use it), all keys "never" make it "never"."""
    blocks = [b for b in (state.blocked(now, tokens, prompt) for state in states) if b is not None]
    if not blocks:  # usable() and blocked() disagree only through float drift
        return Skip(index, step, "no usable key", now)
    kinds = {b.kind for b in blocks}
    kind: SkipKind = next(k for k in ("unavailable", "limited", "never") if k in kinds)
    timed = [b for b in blocks if b.until is not None and b.kind == kind]
    reason, until, _ = (
        min(timed, key=lambda b: b.until or 0.0) if timed else next(b for b in blocks if b.kind == kind)
    )
    if len(states) > 1:
        reason = f"{reason} (all {len(states)} keys)"
    return Skip(index, step, reason, until, kind)


def panic_pick(
    candidates: tuple[Candidate, ...],
    states: tuple[KeyState, ...],
    now: float,
    tokens: int,
    prompt: int | None,
) -> Candidate | None:
    """The step's key that no stated limit keeps out, the one whose inferred exclusion ends
    first, marked as a panic candidate; None when every key is out by a stated limit."""
    best: Candidate | None = None
    best_until = math.inf
    for cand, state in zip(candidates, states, strict=True):
        if state.stated_block(now, tokens, prompt) is not None:
            continue
        block = state.blocked(now, tokens, prompt)
        until = now if block is None or block.until is None else block.until
        if best is None or until < best_until:
            best, best_until = cand, until
    return None if best is None else msgspec.structs.replace(best, panic=True)

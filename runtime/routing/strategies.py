"""Chain strategies: pure policies that order a chain's usable steps.

Each takes the steps that can serve now (skipped ones are already gone) and returns all of
them, preferred first, so a failed attempt always falls through to the rest.

| strategy    | use it when                                                                   |
|-------------|-------------------------------------------------------------------------------|
| failover    | steps are in order of preference: the first that can serve, always             |
| round-robin | equivalent steps should share the load evenly                                  |
| shuffle     | equivalent steps should share the load in proportion to their `weight`         |
| latency     | time to first byte matters most; the fastest recently measured step goes first |
| cost        | the cheapest step with capacity should serve (needs `models:` costs)           |
| usage       | free quotas should drain evenly: the step with most quota left goes first      |
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from runtime.artifact import Step, Strategy
from runtime.routing.plan import Candidate

EXPLORE = 0.05
"""Share of `latency` requests sent to a random other step, so a recovered step is measured again."""
OUTPUT_SHARE = 0.5
"""`cost` assumes this share of the estimated tokens is output when the caller gives no split."""


class StepView:
    """A step that can serve now, with its usable candidates (best key first)."""

    __slots__ = ("candidates", "headroom", "index", "step")

    def __init__(self, index: int, step: Step, candidates: Sequence[Candidate], headroom: float) -> None:
        self.index = index
        self.step = step
        self.candidates = candidates
        self.headroom = headroom
        """Fraction of the best key's tightest limit left after this request (1.0 = unlimited)."""


class Context:
    """What a strategy may look at beyond the steps themselves."""

    __slots__ = ("est_output", "est_tokens", "latency", "rng", "turn")

    def __init__(
        self,
        rng: random.Random,
        *,
        turn: int = 0,
        est_tokens: int = 0,
        est_output: int | None = None,
        latency: Callable[[Step], float | None] = lambda _: None,
    ) -> None:
        self.rng = rng
        self.turn = turn
        """How many requests this chain has planned; round-robin rotates by it."""
        self.est_tokens = est_tokens
        self.est_output = est_output
        self.latency = latency
        """Moving average time to first byte of a step, None if never measured."""


def failover(views: Sequence[StepView], ctx: Context) -> list[StepView]:
    return list(views)


def round_robin(views: Sequence[StepView], ctx: Context) -> list[StepView]:
    if not views:
        return []
    start = ctx.turn % len(views)
    return [*views[start:], *views[:start]]


def shuffle(views: Sequence[StepView], ctx: Context) -> list[StepView]:
    """Weighted random order without replacement (Efraimidis–Spirakis keys u^(1/w)).

    The first pick is `weight`-proportional; zero-weight steps come last, in order."""
    rng = ctx.rng

    def key(view: StepView) -> float:
        weight = view.step.weight
        return rng.random() ** (1.0 / weight) if weight > 0 else -1.0

    return sorted(views, key=key, reverse=True)


def latency(views: Sequence[StepView], ctx: Context) -> list[StepView]:
    """Unmeasured steps first (to measure them), then fastest; sometimes explore another."""
    measured = [(ctx.latency(v.step), position, v) for position, v in enumerate(views)]
    ordered = [v for ewma, _, v in sorted(measured, key=lambda m: (m[0] is not None, m[0] or 0.0, m[1]))]
    if len(ordered) > 1 and ctx.rng.random() < EXPLORE:
        ordered.insert(0, ordered.pop(ctx.rng.randrange(1, len(ordered))))
    return ordered


def cost(views: Sequence[StepView], ctx: Context) -> list[StepView]:
    """Cheapest estimated price first; steps without a known price after priced ones, in order."""
    output = ctx.est_output if ctx.est_output is not None else int(ctx.est_tokens * OUTPUT_SHARE)
    prompt = max(0, ctx.est_tokens - output)

    def price(view: StepView) -> tuple[bool, float]:
        step = view.step
        if step.cost_input is None and step.cost_output is None:
            return True, 0.0
        return False, (step.cost_input or 0.0) * prompt + (step.cost_output or 0.0) * output

    return sorted(views, key=price)


def usage(views: Sequence[StepView], ctx: Context) -> list[StepView]:
    return sorted(views, key=lambda v: -v.headroom)


Policy = Callable[[Sequence[StepView], Context], list[StepView]]
STRATEGIES: dict[Strategy, Policy] = {
    "failover": failover,
    "round-robin": round_robin,
    "shuffle": shuffle,
    "latency": latency,
    "cost": cost,
    "usage": usage,
}


def order(strategy: Strategy, views: Sequence[StepView], ctx: Context) -> list[StepView]:
    return STRATEGIES[strategy](views, ctx)

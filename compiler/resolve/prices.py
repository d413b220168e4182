"""Prices into the artifact: each step's own price and its reference price, as plain numbers.

A step's price comes from its alias (`models.<alias>.cost`, or the provider's own `{id,
cost}`); a raw model id is unpriced. Its reference is the chain's entry under `references:`,
else its alias's, so the runtime prices a request with one multiply-add per token kind and
never looks anything up. A reference that names neither a chain nor a logical model is an
error (R225) with a "did you mean".
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from compiler import codes
from compiler.context import Context
from compiler.language.model import CostDef, ReferenceDef
from compiler.source.validate import did_you_mean
from runtime.artifact import Chain, Price


def price_of(cost: CostDef | None) -> Price | None:
    """Cache reads and writes cost the input price unless the definition says otherwise."""
    if cost is None:
        return None
    return Price(
        input=cost.input,
        output=cost.output,
        cache_read=cost.input if cost.cache_read is None else cost.cache_read,
        cache_write=cost.input if cost.cache_write is None else cost.cache_write,
    )


def check_references(
    ctx: Context, references: dict[str, ReferenceDef], models: set[str], chains: set[str]
) -> None:
    known = models | chains
    for name in sorted(references):
        if name not in known:
            ctx.report(
                codes.UNKNOWN_REFERENCE,
                ["references", name],
                f"reference price {name!r} names no chain and no model in models:",
                did_you_mean(name, known) or f"known: {', '.join(sorted(known)) or 'none'}",
                at_key=True,
            )


def with_references(chains: dict[str, Chain], references: dict[str, ReferenceDef]) -> dict[str, Chain]:
    """Each step's reference: its chain's, else its alias's (None: no saving is claimed)."""
    prices = {name: price_of(ref) for name, ref in references.items()}
    out: dict[str, Chain] = {}
    for name, chain in chains.items():
        steps = tuple(
            msgspec.structs.replace(step, reference=ref)
            if (ref := prices.get(name) or (prices.get(step.alias) if step.alias else None))
            else step
            for step in chain.steps
        )
        out[name] = msgspec.structs.replace(chain, steps=steps)
    return out


ESTIMATE_INPUT = 2_000
ESTIMATE_OUTPUT = 500
"""The lint report's assumed request: 2,000 prompt tokens (none cached) and 500 output tokens,
a short chat turn; a Claude Code turn is larger, so read the figures as per-unit prices."""


@dataclass(frozen=True)
class CostEstimate:
    """A chain's cost per 1,000 requests served by its first step, and at its reference."""

    chain: str
    cost: float | None
    """None: the first step is unpriced (a raw model id)."""
    reference: float | None
    date: str | None
    """When the reference price was read."""


def estimate(chains: dict[str, Chain], references: dict[str, ReferenceDef]) -> list[CostEstimate]:
    tokens = {"input": ESTIMATE_INPUT, "output": ESTIMATE_OUTPUT}
    out = []
    for name, chain in sorted(chains.items()):
        if not chain.steps:
            continue
        first = chain.steps[0]
        ref = references.get(name) or (references.get(first.alias) if first.alias else None)
        out.append(
            CostEstimate(
                chain=name,
                cost=None if first.price is None else round(1000 * first.price.cost(tokens), 4),
                reference=None if first.reference is None else round(1000 * first.reference.cost(tokens), 4),
                date=ref.date if ref else None,
            )
        )
    return out

"""What a finished request cost, and what it would have cost on the reference service.

Prices arrive in the artifact as plain USD-per-million numbers on the step that answered
(`Price.cost` is the arithmetic), so pricing a request is four multiply-adds: nothing is
looked up or parsed on the request path.
"""

from __future__ import annotations

from collections.abc import Mapping

from runtime.artifact import Step


def costs(step: Step | None, tokens: Mapping[str, int] | None) -> tuple[float, float]:
    """(actual, reference) USD. Unpriced steps count as free; without a reference the request
    is priced at its own cost, so no saving is claimed that no price supports."""
    if step is None or not tokens:
        return 0.0, 0.0
    actual = step.price.cost(tokens) if step.price is not None else 0.0
    reference = step.reference.cost(tokens) if step.reference is not None else actual
    return actual, reference

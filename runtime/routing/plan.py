"""The waterfall's plan: candidates in the order to try, and every step not tried with its reason."""

from __future__ import annotations

from typing import Literal

import msgspec

from runtime.artifact import Key, Provider, Step

SkipKind = Literal["never", "limited", "unavailable"]
"""never: this request cannot be served by the step at all (disabled, keyless, a capability
missing, input over every key's limit or the model's context window); limited: a limit the upstream or operator stated holds
it out until `until`; unavailable: relay's own inference does (breaker, backoff, rejected key)."""


class Candidate(msgspec.Struct, frozen=True):
    """One attempt the request loop may make: a step of the chain with one key of its provider."""

    step_index: int
    step: Step
    provider: Provider
    key: Key | None
    """None for keyless providers (`api: simulated`, or providers without auth)."""
    panic: bool = False
    """Offered although relay's own inference (breaker, backoff, a local estimate) keeps it out,
    because nothing else could serve (`RoutingState.plan`); `begin` admits it on that ground."""


class Skip(msgspec.Struct, frozen=True):
    """A step left out of the plan without a network call."""

    step_index: int
    step: Step
    reason: str
    """Like "cooldown", "key exhausted", "breaker open", "disabled: <why>", "no capacity for ~N tokens"."""
    until: float | None
    """When the step could be usable again on the state's clock; None if unknown or never."""
    kind: SkipKind = "unavailable"
    window: int | None = None
    """The step's context window, when that is what the request overflows (kind "never")."""


class Plan(msgspec.Struct, frozen=True):
    candidates: tuple[Candidate, ...]
    skipped: tuple[Skip, ...]
    soonest_recovery: float | None
    """Earliest `until` among skipped steps: when the queue looks again."""

"""The waterfall's plan: candidates in the order to try, and every step not tried with its reason."""

from __future__ import annotations

import msgspec

from runtime.artifact import Key, Provider, Step


class Candidate(msgspec.Struct, frozen=True):
    """One attempt the request loop may make: a step of the chain with one key of its provider."""

    step_index: int
    step: Step
    provider: Provider
    key: Key | None
    """None for keyless providers (`api: simulated`, or providers without auth)."""


class Skip(msgspec.Struct, frozen=True):
    """A step left out of the plan without a network call."""

    step_index: int
    step: Step
    reason: str
    """Like "cooldown", "key exhausted", "breaker open", "disabled: <why>", "no capacity for ~N tokens"."""
    until: float | None
    """When the step could be usable again on the state's clock; None if unknown or never."""


class Plan(msgspec.Struct, frozen=True):
    candidates: tuple[Candidate, ...]
    skipped: tuple[Skip, ...]
    soonest_recovery: float | None
    """Earliest `until` among skipped steps: the `retry-after` for an all-failed 429."""

"""The records an operator's tools read: one per attempt, one per finished request, one per
state change. Plain msgspec structs, so the log line, the event stream, the usage store and
webhooks encode the same fields the same way."""

from __future__ import annotations

from typing import Literal

import msgspec

StateKind = Literal[
    "cooldown_started",
    "cooldown_ended",
    "breaker_opened",
    "breaker_closed",
    "key_marked_bad",
    "reload_done",
    "reload_refused",
    "redis_degraded",
    "redis_recovered",
    "chain_exhausted",
]


class AttemptRecord(msgspec.Struct):
    """One try, as it appears in logs, headers and the all-failed error message."""

    provider: str
    model: str
    outcome: str
    status: int | None = None
    detail: str = ""
    ms: float = 0.0
    cooldown_left: float | None = None
    key: str | None = None
    """The key's fingerprint (never its value); None for keyless providers."""


class SkipRecord(msgspec.Struct):
    """A step the plan left out without a call, and why."""

    provider: str
    model: str
    reason: str
    until_s: float | None = None


class RequestRecord(msgspec.Struct):
    """A finished request: what the `request` log line, the `request` admin event and a
    usage row are made of. `cost_usd`/`saved_usd` are filled by pricing before publishing.
    Not keyword-only: the request path builds one positionally (`exchange._finish`), so a
    field added goes last, or there too in its place."""

    at: float
    """Unix epoch seconds when the request finished."""
    id: str
    chain: str
    format: str
    model: str
    provider: str | None
    upstream_model: str | None
    key: str | None
    status: int
    stream: bool
    attempts: list[AttemptRecord]
    skipped: list[SkipRecord]
    latency_ms: float
    ttfb_ms: float | None
    queued_ms: float | None
    tokens: dict[str, int] | None
    overhead_ms: float | None = None
    """Time in relay itself until the answer's head (upstream waiting and queueing excluded)."""
    cost_usd: float = 0.0
    saved_usd: float = 0.0
    route: str | None = None
    """The routing rule that picked the chain (`rules:`); None when the model name did."""


class StateEvent(msgspec.Struct, kw_only=True):
    """A change an operator wants to hear about the moment it happens."""

    at: float
    kind: StateKind
    provider: str | None = None
    key: str | None = None
    """Fingerprint, when the change is about one key."""
    until_s: float | None = None
    reason: str = ""
    chain: str | None = None
    """For `chain_exhausted`: the chain whose every step failed or was unavailable."""

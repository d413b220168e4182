"""One attempt's hold on a key, as `RoutingState.begin` grants it and `end` releases it:
what the state needs to settle the attempt (its key, health, reservation, probes), opaque
to the request loop."""

from __future__ import annotations

from runtime.routing.health import ProviderHealth
from runtime.routing.keystate import KeyState, Reservation
from runtime.routing.plan import Candidate
from runtime.routing.ratelimit import RateInfo


class Lease:
    """One attempt's hold on a key; opaque to the request loop."""

    __slots__ = (
        "affinity",
        "candidate",
        "closed",
        "health",
        "healthy",
        "info",
        "key_probe",
        "provider_probe",
        "reservation",
        "started",
        "state",
        "verdict",
    )

    def __init__(
        self,
        candidate: Candidate,
        state: KeyState,
        health: ProviderHealth,
        reservation: Reservation,
    ) -> None:
        self.candidate = candidate
        self.state = state
        self.health = health
        self.reservation = reservation
        self.started = 0.0
        self.provider_probe = health.breaker.tripped
        """Whether this attempt is the half-open probe of the provider's (or key's) breaker."""
        self.key_probe = state.breaker.tripped
        self.affinity: str | None = None
        self.info: RateInfo | None = None
        self.verdict = False
        self.healthy = False
        """A success not yet counted for passive health: counted at `end()` unless the
        attempt failed after its first byte (a stream that broke)."""
        self.closed = False

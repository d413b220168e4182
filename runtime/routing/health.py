"""Passive health of one provider: its circuit breaker, error rate, and time to first byte per model."""

from __future__ import annotations

from runtime.artifact import Breaker
from runtime.routing.breaker import CircuitBreaker

ALPHA = 0.2
"""Weight of the newest sample in the moving averages: about the last ten requests matter."""


class ProviderHealth:
    __slots__ = ("answered_at", "breaker", "error_rate", "last_ok", "last_probe", "latency", "ttfb")

    def __init__(self, config: Breaker) -> None:
        self.breaker = CircuitBreaker(config)
        self.error_rate = 0.0
        self.ttfb: dict[str, float] = {}
        """Model → moving average of seconds to first byte."""
        self.last_probe = -float("inf")
        self.last_ok: bool | None = None
        """The last active probe's verdict (None: never probed)."""
        self.latency: float | None = None
        """Moving average of seconds from sending to the end of a successful attempt."""
        self.answered_at = -float("inf")
        """When a request last got its answer from this provider (affinity yields to it)."""

    def probed(self, now: float, ok: bool) -> None:
        """An active probe's verdict. A success closes a tripped breaker at once (that is what
        probing is for); a failure counts like a request's, or reopens a tripped breaker."""
        self.last_probe = now
        self.last_ok = ok
        breaker = self.breaker
        if ok:
            if breaker.tripped and not breaker.probing:
                breaker.success(probe=True)
        else:
            breaker.failure(now, probe=breaker.tripped and not breaker.probing)
        self.record(ok)

    def record(self, ok: bool) -> None:
        self.error_rate += ALPHA * ((0.0 if ok else 1.0) - self.error_rate)

    def timed(self, seconds: float) -> None:
        previous = self.latency
        self.latency = seconds if previous is None else previous + ALPHA * (seconds - previous)

    def measured(self, model: str, seconds: float) -> None:
        previous = self.ttfb.get(model)
        self.ttfb[model] = seconds if previous is None else previous + ALPHA * (seconds - previous)

    def snapshot(self, now: float) -> dict[str, object]:
        return {
            "breaker": self.breaker.snapshot(now),
            "error_rate": round(self.error_rate, 3),
            "ttfb_s": {model: round(value, 4) for model, value in sorted(self.ttfb.items())},
        }

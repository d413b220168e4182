"""Circuit breaker: stop sending to something that keeps failing, then test it with one request.

closed --(`failures` within `window` seconds)--> open --(`open_for` elapsed)--> half-open
half-open admits exactly one probe: its success closes the breaker, its failure reopens it.
Successes while closed do not reset the count: failures are counted within the window.
A probe that ends without a verdict (the caller's own error) frees the slot for another probe.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

from runtime.artifact import Breaker

BreakerState = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    __slots__ = ("_failures", "config", "open_until", "probing", "tripped")

    def __init__(self, config: Breaker) -> None:
        self.config = config
        self._failures: deque[float] = deque()
        self.tripped = False
        """Open or half-open: the last verdict was failure and no probe has succeeded since."""
        self.open_until = 0.0
        self.probing = False

    def state(self, now: float) -> BreakerState:
        if not self.tripped:
            return "closed"
        return "open" if now < self.open_until else "half-open"

    def allows(self, now: float) -> bool:
        """Whether a request may be sent now; does not claim the half-open probe slot."""
        return not self.tripped or (now >= self.open_until and not self.probing)

    def admit(self, now: float) -> bool:
        """Claim the right to send; in half-open this takes the single probe slot."""
        if not self.allows(now):
            return False
        if self.tripped:
            self.probing = True
        return True

    def success(self, probe: bool) -> None:
        """A request answered. Only the probe's answer closes a tripped breaker, because a
        straggler sent before the trip proves nothing about now. A closed breaker keeps its
        failure window: it opens on `failures` errors within `window`, as documented, so a
        provider that answers one request in two is not kept in by its good answers."""
        if not self.tripped or not probe:
            return
        self.tripped = False
        self.probing = False
        self._failures.clear()

    def failure(self, now: float, probe: bool) -> bool:
        """Count a failure; True when this one (re)opened the breaker."""
        if self.tripped:
            if probe:
                self._trip(now)
            return probe
        failures = self._failures
        failures.append(now)
        cutoff = now - self.config.window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if len(failures) >= self.config.failures:
            self._trip(now)
            return True
        return False

    def abandon(self) -> None:
        """The probe ended without a verdict; let another request probe."""
        self.probing = False

    def cut_short(self, now: float) -> bool:
        """End the open period now, so the next request is the half-open probe (an active
        probe saw the provider answer); True when the breaker was open."""
        if not self.tripped or self.open_until <= now:
            return False
        self.open_until = now
        return True

    def force_open(self, until: float) -> None:
        """Adopt an open state another process decided (shared state backends)."""
        if until > self.open_until or not self.tripped:
            self.tripped = True
            self.probing = False
            self.open_until = until

    def _trip(self, now: float) -> None:
        self.tripped = True
        self.probing = False
        self.open_until = now + self.config.open_for
        self._failures.clear()

    def snapshot(self, now: float) -> dict[str, object]:
        return {
            "state": self.state(now),
            "open_s": round(max(0.0, self.open_until - now), 3) if self.tripped else 0.0,
            "recent_failures": len(self._failures),
        }

"""One attempt of the waterfall: a lease on one candidate, begun once and ended exactly once.

The routing state hands out a `Lease` when an attempt begins (a concurrency slot, window
reservations, maybe a breaker's half-open probe slot). `Attempt` wraps it with the one way
out: whatever happens (an answer, a failure, a client that leaves, a bug), `close()` runs
once, from the `with` block that began it or, for a stream the client is reading, from the
stream's tail that it was handed to. Each attempt also writes its own `AttemptRecord`, the
line that logs, headers and the all-failed message show.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from runtime.ops.record import AttemptRecord
from runtime.routing.cooldown import FailureKind
from runtime.routing.plan import Candidate
from runtime.routing.ratelimit import RateInfo
from runtime.routing.state import Lease, RoutingState
from runtime.upstream.usage import Usage


class Attempt:
    """Made once the routing state granted a lease (`RoutingState.begin`, which answers None
    when the candidate lost a race since planning); it appends its record to `records` once
    it has an outcome."""

    __slots__ = ("_handed_off", "_records", "_state", "_t0", "candidate", "lease", "record", "tokens", "ttfb")

    def __init__(
        self, state: RoutingState, candidate: Candidate, lease: Lease, records: list[AttemptRecord]
    ) -> None:
        self._state = state
        self._records = records
        self.candidate = candidate
        self.lease = lease
        self.record: AttemptRecord | None = None
        self.tokens: int | None = None
        """Tokens the upstream reported as used, for reconciling the reservation at close."""
        self.ttfb = 0.0
        self._t0 = time.perf_counter()
        self._handed_off = False

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def observe(self, info: RateInfo) -> None:
        """Rate-limit headers of the answer, whatever its status."""
        self._state.observe(self.lease, info)

    def failed(
        self, kind: FailureKind, status: int | None, detail: str, retry_after: float | None = None
    ) -> AttemptRecord:
        """The attempt failed before the client saw anything (or, for a stream, after: then the
        record already says "ok" and is amended)."""
        self._state.fail(self.lease, kind, retry_after)
        if self.record is not None:  # a stream that failed after its first bytes
            self.record.outcome = kind
            self.record.detail = f"after the first bytes: {detail}"
            return self.record
        return self._write(kind, status, detail, self.elapsed())

    def answered(self, status: int) -> AttemptRecord:
        """The upstream's first bytes or whole answer reached the client. The verdict for the
        routing state waits for `succeeded`: a stream that breaks later is a failure."""
        self.ttfb = self.elapsed()
        return self._write("ok", status, "", self.ttfb)

    def succeeded(self, usage: Usage | None) -> None:
        self._state.succeed(self.lease, self.ttfb)
        self.tokens = usage.get("total") if usage else None

    def returned(self, status: int, detail: str) -> AttemptRecord:
        """An upstream error about the request itself, passed on to the client as it is."""
        self._state.fail(self.lease, "client_error")
        return self._write("client_error", status, detail, self.elapsed())

    def _write(self, outcome: str, status: int | None, detail: str, seconds: float) -> AttemptRecord:
        cand = self.candidate
        left = self._state.cooldown_left(cand) if outcome != "ok" else None
        self.record = AttemptRecord(
            provider=cand.provider.name,
            model=cand.step.model,
            outcome=outcome,
            status=status,
            detail=detail,
            ms=round(seconds * 1000, 1),
            cooldown_left=left,
            key=cand.key.fingerprint if cand.key is not None else None,
        )
        self._records.append(self.record)
        return self.record

    def close(self) -> None:
        """The one way out: release the key's slot and reconcile tokens; idempotent."""
        self._state.end(self.lease, self.tokens)

    def hand_off(self) -> Callable[[], None]:
        """The `with` block will not close this attempt: whoever takes the returned `close`
        (a stream's tail) must call it."""
        self._handed_off = True
        return self.close

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._handed_off or kind is not None:
            self.close()

"""Circuit breaker transitions, and the property that nothing is admitted while it is open."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.artifact import Breaker
from runtime.routing.breaker import CircuitBreaker

CONFIG = Breaker(failures=3, window=10.0, open_for=30.0)


def tripped(now: float = 0.0) -> CircuitBreaker:
    breaker = CircuitBreaker(CONFIG)
    for i in range(3):
        breaker.failure(now + i, probe=False)
    return breaker


def test_opens_after_failures_within_window() -> None:
    breaker = CircuitBreaker(CONFIG)
    breaker.failure(0, probe=False)
    breaker.failure(1, probe=False)
    assert breaker.state(1) == "closed"
    breaker.failure(2, probe=False)
    assert breaker.state(2) == "open" and not breaker.admit(2)


def test_failures_outside_window_do_not_add_up() -> None:
    breaker = CircuitBreaker(CONFIG)
    for t in (0, 6, 12, 18):
        breaker.failure(t, probe=False)
    assert breaker.state(18) == "closed"


@pytest.mark.parametrize(
    ("verdict", "state_after"),
    [("success", "closed"), ("failure", "open"), ("abandon", "half-open")],
)
def test_half_open_single_probe(verdict: str, state_after: str) -> None:
    breaker = tripped()
    assert breaker.state(31.9) == "open" and not breaker.allows(31.9)
    assert breaker.state(32) == "half-open"
    assert breaker.admit(32)
    assert not breaker.admit(32)  # only one probe at a time
    if verdict == "success":
        breaker.success(probe=True)
    elif verdict == "failure":
        breaker.failure(33, probe=True)
    else:
        breaker.abandon()
    assert breaker.state(33) == state_after
    assert breaker.admit(33) == (state_after != "open")


def test_straggler_success_does_not_close() -> None:
    breaker = tripped()
    breaker.success(probe=False)
    assert breaker.state(5) == "open"


def test_reopen_after_failed_probe_lasts_open_for() -> None:
    breaker = tripped()
    assert breaker.admit(40)
    breaker.failure(40, probe=True)
    assert breaker.state(69.9) == "open" and breaker.state(70) == "half-open"


STEPS = st.sampled_from([0.0, 0.5, 1.0, 4.0, 9.9, 25.0, 29.9, 30.0]) | st.floats(0, 40)
Op = tuple[str, float]
ops = st.lists(st.tuples(st.sampled_from(["send", "send", "ok", "fail", "fail", "drop"]), STEPS), max_size=80)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_nothing_admitted_while_open_and_one_probe_at_most(sequence: list[Op]) -> None:
    breaker = CircuitBreaker(Breaker(failures=2, window=10.0, open_for=30.0))
    now = 0.0
    inflight: list[bool] = []  # probe flag of each admitted request, oldest first
    for op, dt in sequence:
        now += dt
        for later in (now, now + 25.0, now + 29.9, now + 30.0):
            assert not (breaker.state(later) == "open" and breaker.allows(later))
        if op == "send":
            before = breaker.state(now)
            if breaker.admit(now):
                assert before != "open"
                inflight.append(breaker.tripped)
                assert sum(inflight) <= 1
        elif inflight:
            probe = inflight.pop(0)
            if op == "ok":
                breaker.success(probe)
            elif op == "fail":
                breaker.failure(now, probe)
            elif probe:
                breaker.abandon()


def test_successes_between_failures_do_not_reset_the_window() -> None:
    """Issue 8 §6: N failures within the window open it, whatever answered well in between."""
    breaker = CircuitBreaker(CONFIG)
    for t in (0.0, 1.0, 2.0):
        breaker.failure(t, probe=False)
        if t < 2.0:
            breaker.success(probe=False)
    assert breaker.state(2.0) == "open"

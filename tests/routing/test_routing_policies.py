"""RoutingState with strategies, breakers and affinity wired in."""

from __future__ import annotations

import asyncio
import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.artifact import Breaker, Chain, Provider
from runtime.clock import FakeClock
from runtime.routing.plan import Plan
from runtime.routing.state import Lease, RoutingState

from .routing_helpers import artifact, assert_cache_exact, chain, key, provider, step

FRAGILE = Breaker(failures=2, window=10.0, open_for=30.0)
A = provider("a", (key("a", "k1"), key("a", "k2")), breaker=FRAGILE)
B = provider("b", (key("b", "k1"),), breaker=FRAGILE)
PROVIDERS: dict[str, Provider] = {"a": A, "b": B}


def make() -> tuple[RoutingState, FakeClock]:
    clock = FakeClock()
    state = RoutingState(clock, random.Random(3))
    state.sync(artifact(A, B))
    return state, clock


def names(plan: Plan) -> list[str]:
    return [c.key.id if c.key else c.provider.name for c in plan.candidates]


def begin(state: RoutingState, plan: Plan, index: int = 0, affinity: str | None = None) -> Lease:
    lease = asyncio.run(state.begin(plan.candidates[index], 1, affinity=affinity))
    assert lease is not None
    return lease


def test_provider_breaker_opens_skips_then_probes_once() -> None:
    state, clock = make()
    c = chain(step("a"), step("b"))
    for _ in range(2):
        lease = begin(state, state.plan(c, PROVIDERS, est_tokens=1))
        state.fail(lease, "server_error")
        state.end(lease, None)
    plan = state.plan(c, PROVIDERS, est_tokens=1)
    assert names(plan) == ["b#k1"]
    assert (plan.skipped[0].reason, plan.skipped[0].until) == ("breaker open", clock() + 30)
    clock.advance(30)
    plan = state.plan(c, PROVIDERS, est_tokens=1)
    probe = begin(state, plan)
    assert probe.candidate.provider.name == "a"
    assert state.plan(c, PROVIDERS, est_tokens=1).skipped[0].reason == "breaker half-open (probe in flight)"
    assert asyncio.run(state.begin(plan.candidates[1], 1)) is None  # second key: still no second probe
    state.succeed(probe, 0.1)
    state.end(probe, 1)
    assert names(state.plan(c, PROVIDERS, est_tokens=1))[:2] == ["a#k2", "a#k1"]


def test_probe_without_verdict_frees_the_slot() -> None:
    state, clock = make()
    c = chain(step("b"))
    for _ in range(2):
        lease = begin(state, state.plan(c, PROVIDERS, est_tokens=1))
        state.fail(lease, "timeout")
        state.end(lease, None)
    clock.advance(30)
    probe = begin(state, state.plan(c, PROVIDERS, est_tokens=1))
    state.end(probe, None)  # e.g. the client went away
    assert names(state.plan(c, PROVIDERS, est_tokens=1)) == ["b#k1"]


def test_rate_limits_do_not_trip_breakers() -> None:
    state, clock = make()
    c = chain(step("b"))
    for _ in range(4):
        lease = begin(state, state.plan(c, PROVIDERS, est_tokens=1))
        state.fail(lease, "rate_limited", retry_after=1)
        state.end(lease, None)
        clock.advance(1)
    snap = state.snapshot()["providers"]
    assert isinstance(snap, dict)
    assert snap["b"]["breaker"]["state"] == "closed"


def test_key_breaker_trips_one_key_only() -> None:
    state, _ = make()
    c = chain(step("a"))
    for _ in range(2):
        plan = state.plan(c, PROVIDERS, est_tokens=1)
        lease = begin(state, plan, names(plan).index("a#k1"))
        state.fail(lease, "server_error")
        state.end(lease, None)
        ok = begin(state, state.plan(c, PROVIDERS, est_tokens=1), 0)
        assert ok.candidate.key is not None and ok.candidate.key.id == "a#k2"
        state.succeed(ok, 0.1)
        state.end(ok, 1)
    assert names(state.plan(c, PROVIDERS, est_tokens=1)) == ["a#k2"]


def test_strategy_orders_steps_and_keeps_all() -> None:
    state, _ = make()
    rr = chain(step("a"), step("b"), strategy="round-robin")
    firsts = [state.plan(rr, PROVIDERS, est_tokens=1).candidates[0].provider.name for _ in range(4)]
    assert firsts == ["a", "b", "a", "b"]
    assert sorted(names(state.plan(rr, PROVIDERS, est_tokens=1))) == ["a#k1", "a#k2", "b#k1"]


def test_latency_strategy_uses_measured_ttfb() -> None:
    state, _ = make()
    fast_first = chain(step("a"), step("b"), strategy="latency")
    for index, ttfb in ((0, 0.9), (2, 0.1)):
        lease = begin(state, state.plan(chain(step("a"), step("b")), PROVIDERS, est_tokens=1), index)
        state.succeed(lease, ttfb)
        state.end(lease, 1)
    firsts = [state.plan(fast_first, PROVIDERS, est_tokens=1).candidates[0].provider.name for _ in range(50)]
    assert firsts.count("b") > 40


def test_affinity_puts_conversation_candidate_first_while_healthy() -> None:
    state, clock = make()
    c = chain(step("a"), step("b"))
    lease = begin(state, state.plan(c, PROVIDERS, est_tokens=1), 2, affinity="s:conv")
    state.succeed(lease, 0.2)
    state.end(lease, 1)
    assert names(state.plan(c, PROVIDERS, est_tokens=1, affinity="s:conv"))[0] == "b#k1"
    assert names(state.plan(c, PROVIDERS, est_tokens=1, affinity="s:other"))[0] != "b#k1"
    lease = begin(state, state.plan(c, PROVIDERS, est_tokens=1, affinity="s:conv"), 0)
    state.fail(lease, "rate_limited", retry_after=5)
    state.end(lease, None)
    assert "b#k1" not in names(state.plan(c, PROVIDERS, est_tokens=1, affinity="s:conv"))
    clock.advance(5)
    assert names(state.plan(c, PROVIDERS, est_tokens=1, affinity="s:conv"))[0] == "b#k1"


def _failed_over(state: RoutingState, c: Chain, conv: str) -> None:
    """The conversation's request: `a` answers 503, `b` serves it."""
    plan = state.plan(c, PROVIDERS, est_tokens=1, affinity=conv)
    assert names(plan)[0].startswith("a")
    lease = begin(state, plan, 0, affinity=conv)
    state.fail(lease, "server_error")
    state.end(lease, None)
    lease = begin(state, plan, 2, affinity=conv)
    state.succeed(lease, 0.1)
    state.end(lease, 1)


@pytest.mark.parametrize("hold", [60.0, 600.0])
def test_affinity_yields_to_a_recovered_earlier_step_after_return_after(hold: float) -> None:
    """Issue 18: after one failover every request of the conversation went to the fallback for
    as long as the entry lived (an hour, refreshed by each success). Now it stays there at
    most `affinity.return_after` from when it moved, however often it succeeds there."""
    state, clock = make()
    c = msgspec.structs.replace(chain(step("a"), step("b")), affinity_return=hold)
    _failed_over(state, c, "s:conv")
    for _ in range(5):  # each turn succeeds on `b`: that does not extend the stay
        clock.advance(hold / 6)
        plan = state.plan(c, PROVIDERS, est_tokens=1, affinity="s:conv")
        assert names(plan)[0] == "b#k1"
        lease = begin(state, plan, 0, affinity="s:conv")
        state.succeed(lease, 0.1)
        state.end(lease, 1)
    clock.advance(hold / 6)
    assert names(state.plan(c, PROVIDERS, est_tokens=1, affinity="s:conv"))[0].startswith("a")


def test_affinity_yields_once_the_earlier_step_answered_again() -> None:
    state, clock = make()
    c = chain(step("a"), step("b"))
    _failed_over(state, c, "s:conv")
    clock.advance(1)
    assert names(state.plan(c, PROVIDERS, est_tokens=1, affinity="s:conv"))[0] == "b#k1"
    lease = begin(state, state.plan(c, PROVIDERS, est_tokens=1, affinity="s:other"), 0, affinity="s:other")
    state.succeed(lease, 0.1)  # another conversation proves `a` answers again
    state.end(lease, 1)
    assert names(state.plan(c, PROVIDERS, est_tokens=1, affinity="s:conv"))[0].startswith("a")
    rr = chain(step("a"), step("b"), strategy="round-robin")  # only failover order is a preference
    _failed_over(state, c, "s:rr")
    assert [names(state.plan(rr, PROVIDERS, est_tokens=1, affinity="s:rr"))[0] for _ in range(2)] == [
        "b#k1"
    ] * 2


STEPS = st.sampled_from([0.0, 0.5, 1.0, 4.0, 9.9, 25.0, 29.9, 30.0]) | st.floats(0, 40)
KINDS = st.sampled_from(["send", "send", "ok", "server_error", "server_error", "rate_limited", "drop"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(KINDS, STEPS, st.booleans()), max_size=60))
def test_no_request_goes_to_an_open_breaker(events: list[tuple[str, float, bool]]) -> None:
    """Whether from a fresh plan or a stale one, `begin` never admits past an open breaker."""
    state, clock = make()
    c = chain(step("a"), step("b"))
    inflight: list[Lease] = []
    stale = state.plan(c, PROVIDERS, est_tokens=1)
    for kind, dt, use_stale in events:
        clock.advance(dt)
        assert_cache_exact(state, clock(), 1)
        if kind == "send":
            plan = stale if use_stale else state.plan(c, PROVIDERS, est_tokens=1)
            stale = state.plan(c, PROVIDERS, est_tokens=1)
            for cand in plan.candidates:
                health = state._health[cand.provider.name].breaker  # white box: the property's subject
                key_breaker = state._keys[cand.key.id if cand.key else ""].breaker
                was = (health.state(clock()), key_breaker.state(clock()))
                lease = asyncio.run(state.begin(cand, 1))
                if lease is not None:
                    assert "open" not in was
                    inflight.append(lease)
                    break
        elif inflight:
            lease = inflight.pop(0)
            if kind == "ok":
                state.succeed(lease, 0.1)
            elif kind != "drop":
                state.fail(lease, kind, retry_after=1.0)  # type: ignore[arg-type]
            state.end(lease, 1)


def test_a_step_whose_window_cannot_hold_the_request_is_never_planned() -> None:
    """Skipped for good (no panic rescue, no queue recovery), with the window on the skip;
    a step of unknown window and one that holds the request stay in."""
    state, _ = make()
    small, unknown, large = (
        step("a", "small", context=1000),
        step("b", "unknown"),
        step("a", "large", context=5000),
    )
    plan = state.plan(chain(small, unknown, large), PROVIDERS, est_tokens=1, context_need=1001)
    assert [c.step.model for c in plan.candidates] == ["unknown", "large", "large"]
    (skip,) = plan.skipped
    assert (skip.step.model, skip.kind, skip.window, skip.until) == ("small", "never", 1000, None)
    assert skip.reason == "context window 1000 < ~1001 tokens"
    only_small = state.plan(chain(small), PROVIDERS, est_tokens=1, context_need=1001)
    assert only_small.candidates == () and only_small.soonest_recovery is None
    assert state.plan(chain(small), PROVIDERS, est_tokens=1, context_need=1000).skipped == ()

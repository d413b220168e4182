"""Active health probes feed the provider breaker and never touch key windows."""

from __future__ import annotations

import asyncio
import random

import msgspec
import pytest

from runtime.artifact import Breaker, Health, Limits, Provider
from runtime.clock import FakeClock
from runtime.routing.probes import probe_once
from runtime.routing.state import RoutingState

from .routing_helpers import chain, key, provider, step

ONE_RPM = Limits(rpm=1)


def probed(name: str, interval: float | None, limits: Limits = ONE_RPM) -> Provider:
    base = provider(name, (key(name, "k", limits=limits),), breaker=Breaker(failures=2, open_for=300))
    return msgspec.structs.replace(base, health=Health(interval=interval))


def test_due_only_with_interval_and_after_it() -> None:
    clock = FakeClock()
    state = RoutingState(clock, random.Random(0))
    providers = {"a": probed("a", 10.0), "b": probed("b", None)}
    calls: list[str] = []

    async def check(p: Provider) -> bool:
        calls.append(p.name)
        return True

    assert asyncio.run(probe_once(state, providers, check)) == 1
    clock.advance(9.9)
    assert asyncio.run(probe_once(state, providers, check)) == 0
    clock.advance(0.1)
    asyncio.run(probe_once(state, providers, check))
    assert calls == ["a", "a"]
    assert state.plan(chain(step("a")), providers, est_tokens=1).candidates  # rpm=1 untouched by probes


def test_failed_probes_open_the_breaker_and_a_good_one_closes_it() -> None:
    clock = FakeClock()
    state = RoutingState(clock, random.Random(0))
    providers = {"a": probed("a", 5.0)}
    verdicts = iter([False, False, True])

    async def check(p: Provider) -> bool:
        ok = next(verdicts)
        if ok:
            return True
        raise ConnectionError("refused")  # an exploding check counts as a failed probe

    for _ in range(2):
        asyncio.run(probe_once(state, providers, check))
        clock.advance(5)
    two = chain(step("a"), step("b"))
    both = {**providers, "b": probed("b", None)}
    assert state.plan(two, both, est_tokens=1).skipped[0].reason == "breaker open"
    asyncio.run(probe_once(state, providers, check))
    assert [c.provider.name for c in state.plan(two, both, est_tokens=1).candidates] == ["a", "b"]


@pytest.mark.parametrize(("verdict", "usable_after"), [("succeed", True), ("fail", False)])
def test_a_good_probe_after_request_failures_lets_each_key_probe_at_once(
    verdict: str, usable_after: bool
) -> None:
    clock = FakeClock()
    state = RoutingState(clock, random.Random(0))
    providers = {"a": probed("a", 5.0, Limits())}
    c = chain(step("a"))
    for _ in range(2):  # server errors trip the provider's breaker and the key's alike
        lease = asyncio.run(state.begin(state.plan(c, providers, est_tokens=1).candidates[0], 1))
        assert lease is not None
        state.fail(lease, "server_error")
        state.end(lease, None)
    assert [c.panic for c in state.plan(c, providers, est_tokens=1).candidates] == [True]  # breaker open

    async def up(p: Provider) -> bool:
        return True

    clock.advance(5)
    asyncio.run(probe_once(state, providers, up))
    plan = state.plan(c, providers, est_tokens=1)
    assert [c.panic for c in plan.candidates] == [False]  # not "key breaker open" for the rest of open_for
    lease = asyncio.run(state.begin(plan.candidates[0], 1))
    assert lease is not None and lease.key_probe  # the key's half-open request
    assert asyncio.run(state.begin(plan.candidates[0], 1)) is None  # and the only one
    if verdict == "succeed":
        state.succeed(lease, 0.1)
    else:
        state.fail(lease, "server_error")
    state.end(lease, None)
    after = state.plan(c, providers, est_tokens=1).candidates
    assert [cand.panic for cand in after] == [not usable_after]  # reopened: only the panic rule offers it

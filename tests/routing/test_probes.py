"""Active health probes feed the provider breaker and never touch key windows."""

from __future__ import annotations

import asyncio
import random

import msgspec

from runtime.artifact import Breaker, Health, Limits, Provider
from runtime.clock import FakeClock
from runtime.probes import probe_once
from runtime.routing_state import RoutingState

from .routing_helpers import chain, key, provider, step


def probed(name: str, interval: float | None) -> Provider:
    base = provider(name, (key(name, "k", limits=Limits(rpm=1)),), breaker=Breaker(failures=2, open_for=300))
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
    plan = state.plan(chain(step("a")), providers, est_tokens=1)
    assert plan.skipped[0].reason == "breaker open"
    asyncio.run(probe_once(state, providers, check))
    assert state.plan(chain(step("a")), providers, est_tokens=1).candidates

"""Queueing for capacity: FIFO per chain, bounded, cancellable, woken by releases and timers."""

from __future__ import annotations

import asyncio
import random

import pytest

from runtime.artifact import Limits, Queue
from runtime.clock import Clock, FakeClock, monotonic
from runtime.routing.ratelimit import RateInfo
from runtime.routing.state import Lease, RoutingState

from .routing_helpers import chain, key, provider, step

POOL = provider("p", (key("p", "k", limits=Limits(rpm=1)),))
PROVIDERS = {"p": POOL}
CHAIN = chain(step("p"), queue=Queue(max_wait=90.0, max_depth=2))


async def exhaust(state: RoutingState) -> Lease:
    lease = await state.begin(state.plan(CHAIN, PROVIDERS, est_tokens=1).candidates[0], 1)
    assert lease is not None
    return lease


def fresh(clock: Clock) -> RoutingState:
    return RoutingState(clock, random.Random(0))


def test_ready_at_once_when_capacity_exists() -> None:
    async def scenario() -> None:
        waited = await fresh(FakeClock()).wait_for_capacity(CHAIN, PROVIDERS, est_tokens=1)
        assert waited.outcome == "ready" and waited.plan.candidates

    asyncio.run(scenario())


def test_hopeless_when_nothing_recovers_before_the_deadline() -> None:
    async def scenario() -> None:
        state = fresh(FakeClock())
        await exhaust(state)  # the rpm window frees in 61 s
        short = chain(step("p"), queue=Queue(max_wait=30.0))
        waited = await state.wait_for_capacity(short, PROVIDERS, est_tokens=1)
        assert waited.outcome == "hopeless" and waited.plan.soonest_recovery is not None
        off = {"p": provider("p", enabled=False, reason="no key")}
        assert (await state.wait_for_capacity(CHAIN, off, est_tokens=1)).outcome == "hopeless"
        assert state._queues.depth("c") == 0

    asyncio.run(scenario())


def test_fifo_head_first_and_next_keeps_waiting() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        state = fresh(clock)
        lease = await exhaust(state)
        order: list[str] = []

        async def client(name: str) -> str:
            waited = await state.wait_for_capacity(CHAIN, PROVIDERS, est_tokens=1)
            if waited.outcome == "ready":
                assert await state.begin(waited.plan.candidates[0], 1) is not None
            order.append(f"{name}:{waited.outcome}")
            return waited.outcome

        first = asyncio.create_task(client("first"))
        await asyncio.sleep(0)
        second = asyncio.create_task(client("second"))
        await asyncio.sleep(0)
        full = await state.wait_for_capacity(CHAIN, PROVIDERS, est_tokens=1)
        assert full.outcome == "full"
        clock.advance(61)  # the rpm window's 1 s bucket has wholly left it
        state.end(lease, 1)
        assert await first == "ready"
        await asyncio.sleep(0)
        assert not second.done()  # the first took the only slot
        clock.advance(31)
        state._queues.notify()  # white box: stands in for the deadline timer of the real clock
        assert await second == "timeout"
        assert order == ["first:ready", "second:timeout"]

    asyncio.run(scenario())


def test_cancelled_waiter_leaves_and_hands_on_the_head() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        state = fresh(clock)
        lease = await exhaust(state)
        first = asyncio.create_task(state.wait_for_capacity(CHAIN, PROVIDERS, est_tokens=1))
        await asyncio.sleep(0)
        second = asyncio.create_task(state.wait_for_capacity(CHAIN, PROVIDERS, est_tokens=1))
        await asyncio.sleep(0)
        assert state._queues.depth("c") == 2
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert state._queues.depth("c") == 1
        clock.advance(61)  # the rpm window's 1 s bucket has wholly left it
        state.end(lease, 1)
        assert (await second).outcome == "ready"
        assert state._queues.depth("c") == 0

    asyncio.run(scenario())


def test_head_wakes_on_its_own_at_the_soonest_recovery() -> None:
    providers = {"p": provider("p", (key("p", "k"),))}

    async def scenario() -> None:
        state = fresh(monotonic)
        lease = await state.begin(state.plan(CHAIN, providers, est_tokens=1).candidates[0], 1)
        assert lease is not None
        state.observe(lease, RateInfo(remaining_requests=0, reset_requests_at=monotonic() + 0.05))
        state.fail(lease, "rate_limited")
        state.end(lease, None)
        started = monotonic()
        waited = await asyncio.wait_for(state.wait_for_capacity(CHAIN, providers, est_tokens=1), 5)
        assert waited.outcome == "ready"
        assert monotonic() - started >= 0.04

    asyncio.run(scenario())

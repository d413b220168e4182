"""The Redis state backend against a real redis-server: two workers share one key's limits."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from runtime.artifact import Breaker, Limits, Provider
from runtime.clock import monotonic
from runtime.routing.ratelimit import RateInfo
from runtime.routing.redis_backend import RedisBackend
from runtime.routing.state import Lease, RoutingState

from .redis_server import RedisServer
from .routing_helpers import artifact, chain, key, provider, step

CHAIN = chain(step("p"))


def pool(limits: Limits) -> dict[str, Provider]:
    return {
        "p": provider(
            "p", (key("p", "k", limits=limits),), breaker=Breaker(failures=2, window=10, open_for=30)
        )
    }


def worker(url: str, providers: dict[str, Provider]) -> tuple[RoutingState, RedisBackend]:
    backend = RedisBackend.from_url(url, retry_every=0.05)
    state = RoutingState(monotonic, random.Random(0), backend=backend)
    state.sync(artifact(*providers.values()))
    return state, backend


async def attempt(state: RoutingState, providers: dict[str, Provider]) -> Lease | None:
    plan = state.plan(CHAIN, providers, est_tokens=10)
    return await state.begin(plan.candidates[0], 10) if plan.candidates else None


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_two_workers_never_together_exceed_a_shared_rpm(redis_server: RedisServer) -> None:
    providers = pool(Limits(rpm=5))

    async def scenario() -> None:
        (a, _ab), (b, _bb) = worker(redis_server.url, providers), worker(redis_server.url, providers)
        granted = 0
        for i in range(20):
            lease = await attempt(a if i % 2 else b, providers)
            granted += lease is not None
        assert granted == 5
        await a.close()
        await b.close()

    run(scenario)


@pytest.mark.parametrize("kind", ["cooldown", "quota", "provider breaker", "key breaker", "backoff"])
def test_what_one_worker_learns_the_other_obeys(redis_server: RedisServer, kind: str) -> None:
    """Stated limits (0 left) hold everywhere; what is relay's inference (breakers, a backoff
    after 529, a partial 429's retry-after) is shared too, yet yields to the panic rule everywhere."""
    providers = pool(Limits())
    stated = kind == "quota"

    async def scenario() -> None:
        (a, ab), (b, _bb) = worker(redis_server.url, providers), worker(redis_server.url, providers)
        for _ in range(2 if "breaker" in kind else 1):
            lease = await attempt(a, providers)
            assert lease is not None
            if kind == "cooldown":
                a.fail(lease, "rate_limited", retry_after=30)
            elif kind == "quota":
                a.observe(lease, RateInfo(remaining_requests=0, reset_requests_at=monotonic() + 30))
            elif kind == "backoff":
                a.fail(lease, "overloaded")
            else:
                a.fail(lease, "server_error")
            a.end(lease, None)
        await ab.flush()
        assert await attempt(b, providers) is None  # refused by the shared state, then adopted:
        plan = b.plan(CHAIN, providers, est_tokens=10)
        if stated:
            assert plan.candidates == ()
            assert plan.skipped[0].until is not None and plan.skipped[0].until > monotonic() + 25
            assert plan.skipped[0].kind == "limited"
        else:
            assert [c.panic for c in plan.candidates] == [True] and plan.skipped == ()
            assert await b.begin(plan.candidates[0], 10) is not None  # Redis admits it too
        await a.close()
        await b.close()

    run(scenario)


def test_a_good_probe_ends_a_shared_open_breaker(redis_server: RedisServer) -> None:
    providers = pool(Limits())
    up = providers["p"]

    async def scenario() -> None:
        (a, ab), (b, _bb) = worker(redis_server.url, providers), worker(redis_server.url, providers)
        for _ in range(2):
            lease = await attempt(a, providers)
            assert lease is not None
            a.fail(lease, "server_error")
            a.end(lease, None)
        await ab.flush()
        assert await attempt(b, providers) is None  # b adopted the open breakers
        a.record_probe(up, ok=True)
        assert await attempt(a, providers) is not None  # Redis no longer refuses it either
        b.record_probe(up, ok=True)
        assert await attempt(b, providers) is not None
        await a.close()
        await b.close()

    run(scenario)


def test_shared_concurrency_released_by_end(redis_server: RedisServer) -> None:
    providers = pool(Limits(concurrency=1))

    async def scenario() -> None:
        (a, ab), (b, _bb) = worker(redis_server.url, providers), worker(redis_server.url, providers)
        lease = await attempt(a, providers)
        assert lease is not None
        assert await attempt(b, providers) is None
        a.succeed(lease, 0.1)
        a.end(lease, 10)
        await ab.flush()
        b._keys["p#k"].cooldown_until = 0.0  # white box: skip the short local hold after a refusal
        b._keys["p#k"].invalidate()
        assert await attempt(b, providers) is not None
        await a.close()
        await b.close()

    run(scenario)


def test_one_round_trip_per_request(redis_server: RedisServer) -> None:
    providers = pool(Limits(rpm=10_000, tpm=10**9, concurrency=100))

    async def scenario() -> None:
        a, ab = worker(redis_server.url, providers)
        assert await attempt(a, providers) is not None  # loads the script
        before = ab.round_trips
        for _ in range(50):
            lease = await attempt(a, providers)
            assert lease is not None
            a.succeed(lease, 0.1)
            a.end(lease, 7)
        assert ab.round_trips - before == 50  # releases rode along with the next reserve
        await a.close()

    run(scenario)


def test_without_a_concurrency_limit_a_request_is_one_command(redis_server: RedisServer) -> None:
    """No lease is taken without a concurrency limit, so ending a request writes nothing and
    the next reserve goes alone; a Redis that lost its script cache still gets it reloaded."""
    import redis

    providers = pool(Limits(rpm=10_000))
    counter = redis.Redis.from_url(redis_server.url)

    def calls() -> dict[str, int]:
        stats = counter.info("commandstats")
        return {name: stats[name]["calls"] for name in stats}

    async def scenario() -> None:
        a, ab = worker(redis_server.url, providers)
        assert await attempt(a, providers) is not None  # loads the script
        before, trips = calls(), ab.round_trips
        for _ in range(50):
            lease = await attempt(a, providers)
            assert lease is not None
            a.succeed(lease, 0.1)
            a.end(lease, 7)
            assert not ab.snapshot()["pending_writes"]
        after = calls()
        grew = {name.removeprefix("cmdstat_") for name in after if after[name] != before.get(name)}
        assert after["cmdstat_evalsha"] - before["cmdstat_evalsha"] == 50
        # the rest is what the script itself calls (counted too): no ZREM, no other write
        assert grew - {"evalsha", "info"} <= {"time", "hmget", "hget", "hgetall", "hincrbyfloat", "expire"}
        assert ab.round_trips - trips == 50
        counter.script_flush()
        assert await attempt(a, providers) is not None  # NOSCRIPT: loaded again, then granted
        assert not ab.degraded
        await a.close()

    run(scenario)
    counter.close()


def test_degrades_when_redis_dies_and_resyncs_when_it_returns(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    providers = pool(Limits(rpm=3))

    async def scenario() -> None:
        a, ab = worker(redis_server.url, providers)
        redis_server.stop()
        with caplog.at_level(logging.WARNING, logger="relay.state"):
            for _ in range(3):
                assert await attempt(a, providers) is not None  # served from local state
            assert await attempt(a, providers) is None  # the local window still holds the limit
        assert ab.degraded
        assert "unreachable" in caplog.text
        redis_server.start()
        for _ in range(200):
            if not ab.degraded and not ab.snapshot()["pending_writes"]:
                break
            await asyncio.sleep(0.05)
        assert not ab.degraded
        b, _bb = worker(redis_server.url, providers)
        assert await attempt(b, providers) is None  # the replayed window is shared again
        await a.close()
        await b.close()

    run(scenario)

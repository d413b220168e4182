"""Reserves that queue up behind a Redis round trip in flight go out together in one, against a
real redis-server: fewer round trips, the verdicts of a sequential run, and every member of a
failed batch falls back to local state as a lone reserve would."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.artifact import Limits, Provider
from runtime.routing.redis_backend import BATCH, RedisBackend
from runtime.routing.state import Lease, RoutingState

from .redis_proxy import redis_proxy
from .redis_server import RedisServer
from .routing_helpers import chain, key, provider, step
from .test_redis_state import worker

T = TypeVar("T")


def providers(p: Limits, q: Limits | None = None) -> dict[str, Provider]:
    """Provider p, and q when given limits: one key each, so that a batch can mix reserves with
    different windows (different key and argument counts in the script)."""
    found = {"p": provider("p", (key("p", "k", limits=p),))}
    if q is not None:
        found["q"] = provider("q", (key("q", "k", limits=q),))
    return found


async def ask(state: RoutingState, pool: dict[str, Provider], name: str = "p") -> Lease | None:
    plan = state.plan(chain(step(name)), pool, est_tokens=10)
    return await state.begin(plan.candidates[0], 10) if plan.candidates else None


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


def shared(counter: redis.Redis) -> dict[str, float]:
    """What Redis counts per key: a window's units over its buckets, a concurrency set's leases."""
    found: dict[str, float] = {}
    for name in counter.scan_iter("relay:*"):
        name = name.decode()
        if name.endswith(":c"):
            found[name] = counter.zcard(name)
        elif not name.endswith(":k"):
            found[name] = sum(float(v) for v in counter.hgetall(name).values())
    return found


def window(counter: redis.Redis, name: str = "p", kind: str = "60r") -> float:
    return shared(counter).get(f"relay:{{{name}:sha256:k}}:w{kind}", 0.0)


def evalsha_calls(counter: redis.Redis) -> int:
    return int(counter.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


async def queued(backend: RedisBackend, count: int) -> None:
    """Until `count` reserves wait behind the round trip in flight (white box: the queue is the
    subject); bounded, a few loop passes at most."""
    deadline = asyncio.get_running_loop().time() + 5
    while len(backend._queued) < count:
        assert asyncio.get_running_loop().time() < deadline, len(backend._queued)
        await asyncio.sleep(0)


@pytest.mark.parametrize("n", [2, 50, BATCH + 1, 2 * BATCH + 22])
def test_reserves_asked_together_share_round_trips(redis_server: RedisServer, n: int) -> None:
    """The first goes out at once, alone; the others queue behind it and go out BATCH at a time."""
    pool = providers(Limits(rpm=10_000))
    counter = redis.Redis.from_url(redis_server.url)

    async def scenario() -> None:
        a, ab = worker(redis_server.url, pool)
        assert await ask(a, pool) is not None  # loads the script
        trips, calls = ab.round_trips, evalsha_calls(counter)
        leases = await asyncio.gather(*(ask(a, pool) for _ in range(n)))
        assert all(lease is not None for lease in leases)
        expected = 1 + math.ceil((n - 1) / BATCH)
        assert ab.round_trips - trips == expected
        assert evalsha_calls(counter) - calls == expected
        assert ab.reserves == n + 1
        assert window(counter) == n + 1
        assert not ab.degraded
        await a.close()

    run(scenario)
    counter.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rpm_p=st.integers(1, 20),
    rpm_q=st.integers(1, 20),
    tpm_q=st.integers(10, 300),
    concurrency_q=st.none() | st.integers(1, 20),
    taken=st.tuples(st.integers(0, 20), st.integers(0, 20)),
    asks=st.lists(st.sampled_from("pq"), min_size=1, max_size=2 * BATCH + 10),
)
def test_reserves_asked_together_get_the_verdicts_of_a_sequential_run(
    redis_server: RedisServer,
    rpm_p: int,
    rpm_q: int,
    tpm_q: int,
    concurrency_q: int | None,
    taken: tuple[int, int],
    asks: list[str],
) -> None:
    """Another worker has taken part of each key's shared limits (its leases held); then one
    worker's reserves, all at once or one by one, get the same grants in the same order and
    leave the same counts in Redis."""
    pool = providers(Limits(rpm=rpm_p), Limits(rpm=rpm_q, tpm=tpm_q, concurrency=concurrency_q))
    counter = redis.Redis.from_url(redis_server.url)

    async def universe(together: bool) -> tuple[list[bool], dict[str, float]]:
        counter.flushdb()
        (a, ab), (b, _) = worker(redis_server.url, pool), worker(redis_server.url, pool)
        for name, count in zip("pq", taken, strict=True):
            for _ in range(count):
                await ask(b, pool, name)
        if together:
            leases = await asyncio.gather(*(ask(a, pool, name) for name in asks))
            assert ab.round_trips <= 2 + math.ceil((len(asks) - 1) / BATCH)  # script load, lone, batches
        else:
            leases = [await ask(a, pool, name) for name in asks]
        found = [lease is not None for lease in leases], shared(counter)
        await a.close()
        await b.close()
        return found

    alone = run(lambda: universe(False))
    assert run(lambda: universe(True)) == alone
    counter.close()


def test_a_batch_cut_mid_way_falls_back_for_every_member(redis_server: RedisServer) -> None:
    """The connection carrying a batch dies before Redis answers: every reserve in it is granted
    from local state and its windows replayed once Redis answers again, exactly as a lone
    reserve's would be; the fallback is counted once."""
    n = 20
    pool = providers(Limits(rpm=n + 3))
    counter = redis.Redis.from_url(redis_server.url)

    async def scenario() -> None:
        async with redis_proxy(redis_server.port) as proxy:
            a, ab = worker(proxy.url, pool)
            assert await ask(a, pool) is not None  # loads the script, opens the connection
            proxy.hold()
            asking = asyncio.gather(*(ask(a, pool) for _ in range(n)))
            await queued(ab, n - 1)  # the first is in flight, its reply held back
            proxy.cut_next = True
            proxy.release()
            leases = await asking
            assert proxy.cuts == 1
            deadline = asyncio.get_running_loop().time() + 10
            while ab.degraded or ab.snapshot()["pending_writes"]:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.02)
            await a.close()
        assert all(lease is not None for lease in leases)
        assert ab.snapshot()["fallbacks"] == 1
        # the warm-up and the lone first counted by the script, the batch by the replay
        assert window(counter) == n + 1
        b, _ = worker(redis_server.url, pool)
        assert [await ask(b, pool) is not None for _ in range(3)] == [True, True, False]
        await b.close()

    run(scenario)
    counter.close()


def test_a_batch_that_meets_an_empty_script_cache_reloads_once(redis_server: RedisServer) -> None:
    n = 30
    pool = providers(Limits(rpm=10_000))
    counter = redis.Redis.from_url(redis_server.url)

    async def scenario() -> None:
        async with redis_proxy(redis_server.port) as proxy:
            a, ab = worker(proxy.url, pool)
            assert await ask(a, pool) is not None  # loads the script
            proxy.hold()
            asking = asyncio.gather(*(ask(a, pool) for _ in range(n)))
            await queued(ab, n - 1)
            counter.script_flush()  # Redis restarted meanwhile, say: the batch meets NOSCRIPT
            loads = counter.info("commandstats")["cmdstat_script|load"]["calls"]
            trips = ab.round_trips
            proxy.release()
            leases = await asking
            await a.close()
        assert all(lease is not None for lease in leases)
        assert counter.info("commandstats")["cmdstat_script|load"]["calls"] == loads + 1
        assert ab.round_trips - trips == 3  # the batch, the reload, the batch again
        assert not ab.degraded
        assert window(counter) == n + 1

    run(scenario)
    counter.close()


def test_a_member_that_fails_in_the_script_leaves_the_others_counted_once(
    redis_server: RedisServer,
) -> None:
    """p's state hash is not a hash (someone else's key, say): p's reserves fail in the script
    and fall back, their windows replayed; q's, in the same batches, are counted by the script
    and not replayed, so not counted twice."""
    pool = providers(Limits(rpm=10_000), Limits(rpm=10_000))
    counter = redis.Redis.from_url(redis_server.url)
    counter.set("relay:{p:sha256:k}:k", "not a hash")
    asks = ["q", *("qp" * 20)]

    async def scenario() -> None:
        a, ab = worker(redis_server.url, pool)
        leases: list[Any] = await asyncio.gather(*(ask(a, pool, name) for name in asks))
        assert all(lease is not None for lease in leases)
        assert ab.snapshot()["fallbacks"] == 1
        deadline = asyncio.get_running_loop().time() + 10
        while ab.degraded or ab.snapshot()["pending_writes"]:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
        assert window(counter, "q") == asks.count("q")
        assert window(counter, "p") == asks.count("p")
        await a.close()

    run(scenario)
    counter.close()

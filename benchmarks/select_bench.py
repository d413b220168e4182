"""Strategy and key-pool selection cost: plan + begin + end per request, in µs.

Usage: python benchmarks/select_bench.py [--requests N] [--keys K] [--providers P] [--redis URL]

The pool is K keys spread over P providers, every key with rpm/tpm/concurrency limits so
each request does the full window bookkeeping. With --redis the same loop runs on the Redis
backend and the script also reports Redis round trips per request.

It also prints the memory one day window (rpd/tpd) holds after a day at 100 req/s on one key
(8.64 million reservations; about 7 s).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import time
from collections.abc import Callable

from runtime.artifact import Artifact, Chain, Key, Limits, Provider, Routes, Server, Step, Strategy
from runtime.clock import Clock, FakeClock, monotonic
from runtime.routing.state import RoutingState
from runtime.routing.windows import SlidingWindow

STRATEGIES: tuple[Strategy, ...] = ("failover", "round-robin", "usage", "latency")


def build(keys: int, providers: int, strategy: Strategy) -> tuple[Artifact, Chain]:
    per = keys // providers
    limits = Limits(rpm=10**6, tpm=10**9, rpd=10**8, concurrency=1000)
    provs = {
        f"p{i}": Provider(
            name=f"p{i}",
            api="openai",
            base_url="http://127.0.0.1:9",
            module=f"p{i}",
            rate_limit_family="openai",
            keys=tuple(
                Key(id=f"p{i}#k{j}", name=f"k{j}", fingerprint=f"sha256:{i:04x}{j:04x}", limits=limits)
                for j in range(per)
            ),
        )
        for i in range(providers)
    }
    chain = Chain(name="bench", strategy=strategy, steps=tuple(Step(provider=p, model="m") for p in provs))
    art = Artifact(
        format_version=1,
        relay_version="bench",
        source_hash="sha256:0",
        sources=(),
        server=Server(),
        providers=provs,
        models={},
        chains={"bench": chain},
        routes=Routes(exact={}),
    )
    return art, chain


async def run(
    state: RoutingState, art: Artifact, chain: Chain, requests: int, tick: Callable[[], None]
) -> float:
    providers = art.providers
    start = time.perf_counter()
    for _ in range(requests):
        tick()
        plan = state.plan(chain, providers, est_tokens=1200)
        lease = await state.begin(plan.candidates[0], 1200)
        assert lease is not None
        state.succeed(lease, 0.05)
        state.end(lease, 900)
    return (time.perf_counter() - start) / requests * 1e6


def memory(args: argparse.Namespace) -> None:
    for strategy in STRATEGIES:
        art, chain = build(args.keys, args.providers, strategy)
        clock = FakeClock()
        state = RoutingState(clock, random.Random(1))
        state.sync(art)

        def tick(clock: FakeClock = clock) -> None:
            clock.advance(0.001)

        asyncio.run(run(state, art, chain, 500, tick))  # warm up
        micros = asyncio.run(run(state, art, chain, args.requests, tick))
        print(
            f"memory  {strategy:<12} {args.keys} keys / {args.providers} providers: {micros:7.1f} µs per request"
        )


def shared(args: argparse.Namespace) -> None:
    from runtime.routing.redis_backend import RedisBackend

    art, chain = build(args.keys, args.providers, "failover")

    async def measure() -> None:
        backend = RedisBackend.from_url(args.redis)
        clock: Clock = monotonic
        state = RoutingState(clock, random.Random(1), backend=backend)
        state.sync(art)
        await run(state, art, chain, 200, lambda: None)
        trips, reserves = backend.round_trips, backend.reserves
        micros = await run(state, art, chain, args.requests, lambda: None)
        per = (backend.round_trips - trips) / (backend.reserves - reserves)
        print(
            f"redis   failover     {args.keys} keys: {micros:7.1f} µs per request, {per:.2f} round trips per request"
        )
        await state.close()

    asyncio.run(measure())


def deep_size(root: object) -> int:
    """Bytes of `root` and everything it references that is not a type or module."""
    seen: set[int] = set()
    stack, total = [root], 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | type(sys)):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def window_memory(rate: int = 100, seconds: int = 86400) -> None:
    window = SlidingWindow(float(seconds), 10**12)
    add = window.add
    for i in range(rate * seconds):
        add(i / rate, 1)
    print(f"day window after {seconds} s at {rate} req/s: {deep_size(window):,} bytes per key and window")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--providers", type=int, default=5)
    parser.add_argument("--redis", help="redis:// URL of a scratch Redis to measure the shared backend too")
    args = parser.parse_args()
    memory(args)
    if args.redis:
        shared(args)
    window_memory()


if __name__ == "__main__":
    main()

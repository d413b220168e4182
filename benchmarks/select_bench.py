"""Strategy and key-pool selection cost: plan + begin + end per request, in µs.

Usage: python benchmarks/select_bench.py [--requests N] [--keys K] [--providers P] [--redis URL]

The pool is K keys spread over P providers, every key with rpm/tpm/concurrency limits so
each request does the full window bookkeeping. With --redis the same loop runs on the Redis
backend and the script also reports Redis round trips per request.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from runtime.artifact import Artifact, Chain, Key, Limits, Provider, Routes, Server, Step, Strategy
from runtime.clock import FakeClock
from runtime.routing_state import RoutingState


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


async def run(state: RoutingState, art: Artifact, chain: Chain, requests: int, clock: FakeClock) -> float:
    providers = art.providers
    start = time.perf_counter()
    for _ in range(requests):
        clock.advance(0.001)
        plan = state.plan(chain, providers, est_tokens=1200)
        lease = await state.begin(plan.candidates[0], 1200)
        assert lease is not None
        state.succeed(lease, 0.05)
        state.end(lease, 900)
    return (time.perf_counter() - start) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--providers", type=int, default=5)
    args = parser.parse_args()
    for strategy in ("failover", "round-robin", "usage", "latency"):
        art, chain = build(args.keys, args.providers, strategy)
        clock = FakeClock()
        state = RoutingState(clock, random.Random(1))
        state.sync(art)
        asyncio.run(run(state, art, chain, 500, clock))  # warm up
        micros = asyncio.run(run(state, art, chain, args.requests, clock))
        print(
            f"memory  {strategy:<12} {args.keys} keys / {args.providers} providers: {micros:7.1f} µs per request"
        )


if __name__ == "__main__":
    main()

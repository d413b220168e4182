"""`GET /admin/state` cost: the view and its JSON for 50 chains x 5 steps x 10 keys.

Target (issue 11): at most 5 ms. Two shapes: every step on its own provider (250 providers,
2,500 keys: the widest reading) and 50 chains over 25 shared providers (250 keys). Prints,
for each, the whole build (median, worst) and the longest the event loop is held between two
yields of the endpoint's provider-by-provider build (what requests in flight can feel).
Run with `PYTHONPATH=. python3 benchmarks/admin_bench.py`.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import msgspec

from runtime.artifact import FORMAT_VERSION, Artifact, Chain, Key, Limits, Provider, Routes, Server, Step
from runtime.clock import FakeClock
from runtime.ops.state_view import RelayFacts, assemble, provider_parts, state_view
from runtime.routing.plan import Candidate
from runtime.routing.state import RoutingState
from runtime.server.admin import _YIELD_EVERY

CHAINS, STEPS, KEYS, RUNS = 50, 5, 10, 50


def _artifact(n_providers: int) -> Artifact:
    limits = Limits(rpm=30, rpd=1000, tpm=6000, concurrency=8)
    providers = {
        f"p{i}": Provider(
            name=f"p{i}",
            api="openai",
            base_url="http://127.0.0.1:9",
            module=f"p{i}",
            rate_limit_family="openai",
            keys=tuple(
                Key(id=f"p{i}#{k}", name=str(k), fingerprint=f"sha256:{i:04x}{k:04x}", limits=limits)
                for k in range(KEYS)
            ),
        )
        for i in range(n_providers)
    }
    chains = {
        f"c{c}": Chain(
            name=f"c{c}",
            steps=tuple(Step(provider=f"p{(c * STEPS + s) % n_providers}", model="m") for s in range(STEPS)),
        )
        for c in range(CHAINS)
    }
    return Artifact(
        format_version=FORMAT_VERSION,
        relay_version="0",
        source_hash="sha256:0",
        sources=(),
        server=Server(),
        providers=providers,
        models={},
        chains=chains,
        routes=Routes(exact={n: n for n in chains}),
    )


async def _history(art: Artifact, state: RoutingState) -> None:
    """One finished attempt on every key: every window has something in it."""
    for provider in art.providers.values():
        for key in provider.keys:
            cand = Candidate(0, Step(provider=provider.name, model="m"), provider, key)
            lease = await state.begin(cand, 100)
            if lease is not None:
                state.succeed(lease, 0.1)
                state.end(lease, 120)


def _measure(n_providers: int) -> None:
    art = _artifact(n_providers)
    state = RoutingState(FakeClock())
    state.sync(art)
    asyncio.run(_history(art, state))
    facts = RelayFacts(
        version="0", started_at=0, uptime_s=1, pid=1, workers=1, manifest_hash="m", built_at=None, reloads=0
    )
    encode = msgspec.json.Encoder().encode
    whole, held = [], []
    body = b""
    for _ in range(RUNS):
        start = time.perf_counter()
        body = encode(state_view(art, state, facts))
        whole.append((time.perf_counter() - start) * 1000)
        now, parts = state.now(), []
        mark = time.perf_counter()
        for i, part in enumerate(provider_parts(art, state, now)):
            parts.append(part)
            if i % _YIELD_EVERY == _YIELD_EVERY - 1:
                held.append((time.perf_counter() - mark) * 1000)
                mark = time.perf_counter()
        encode(assemble(art, state, facts, now, parts))
        held.append((time.perf_counter() - mark) * 1000)
    keys = sum(len(p.keys) for p in art.providers.values())
    print(
        f"{CHAINS} chains x {STEPS} steps over {n_providers} providers x {KEYS} keys ({keys} keys, {len(body)} bytes):"
    )
    print(
        f"  whole view + JSON: median {statistics.median(whole):.2f} ms, worst {max(whole):.2f} ms over {RUNS} runs"
    )
    print(
        f"  event loop held between yields: median {statistics.median(held):.2f} ms, worst {max(held):.2f} ms"
    )


def main() -> None:
    for n_providers in (CHAINS * STEPS, 25):
        _measure(n_providers)


if __name__ == "__main__":
    main()

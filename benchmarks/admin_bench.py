"""`GET /admin/state` cost: the view and its JSON for 50 chains x 5 steps x 10 keys.

Target (issue 11): at most 5 ms. Prints the median and worst of the runs; run with
`PYTHONPATH=. python3 benchmarks/admin_bench.py`.
"""

from __future__ import annotations

import statistics
import time

import msgspec

from runtime.artifact import FORMAT_VERSION, Artifact, Chain, Key, Limits, Provider, Routes, Server, Step
from runtime.clock import FakeClock
from runtime.ops.state_view import RelayFacts, state_view
from runtime.routing.state import RoutingState

CHAINS, STEPS, KEYS, RUNS = 50, 5, 10, 200


def _artifact() -> Artifact:
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
        for i in range(CHAINS * STEPS)
    }
    chains = {
        f"c{c}": Chain(
            name=f"c{c}", steps=tuple(Step(provider=f"p{c * STEPS + s}", model="m") for s in range(STEPS))
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


def main() -> None:
    art = _artifact()
    state = RoutingState(FakeClock())
    state.sync(art)
    for chain in art.chains.values():  # some history in every window
        state.plan(chain, art.providers, est_tokens=100)
    facts = RelayFacts(
        version="0", started_at=0, uptime_s=1, pid=1, workers=1, manifest_hash="m", built_at=None, reloads=0
    )
    encode = msgspec.json.Encoder().encode
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        body = encode(state_view(art, state, facts))
        times.append((time.perf_counter() - start) * 1000)
    keys = CHAINS * STEPS * KEYS
    print(f"/admin/state for {CHAINS} chains x {STEPS} steps x {KEYS} keys ({keys} keys, {len(body)} bytes):")
    print(
        f"  median {statistics.median(times):.2f} ms, worst {max(times):.2f} ms over {RUNS} runs (target <= 5 ms)"
    )


if __name__ == "__main__":
    main()

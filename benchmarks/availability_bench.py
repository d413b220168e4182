"""Never less available than direct: client-visible failures through relay vs. the upstream
called directly, on a one-step chain whose upstream fails now and then.

Two identical fake upstreams (benchmarks/upstream_server.py, seeded faults) serve the two
lanes, so both see the same sequence of failures; the lanes send the same schedule at the
same time. Scenarios, each on its own provider of one `relay run` (fresh routing state):

- 503 to 1 request in 10 at random, 100 requests back to back, then at 20, 5 and 2 req/s;
- five 500s in a row (requests 10-14), which open relay's breaker (5 failures in 30 s);
- one 401 (request 10), which used to take the only key out for 24 h.

For each: direct failures, relay failures, and how many relay failures never reached the
upstream (relay answered without a call). Relay must fail no more than direct.

    python -m benchmarks.availability_bench [--requests 100] [--seed 1] [--rates 0,20,5,2]

Loopback only; about 90 s with the defaults (the 2 req/s run alone takes 50 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.common import free_port, serve_relay, wait_port

BODY = b'{"model":"%s","messages":[{"role":"user","content":"hi"}]}'
PROVIDER = """\
  p{n}:
    api: openai
    base_url: http://127.0.0.1:{port}/v1
    keys: ["${{BENCH_UPSTREAM_KEY}}"]
"""


@dataclass
class Scenario:
    name: str
    rate: float
    """Requests per second on each lane; 0 = back to back."""
    faults: dict[str, Any] = field(default_factory=dict)


def scenarios(seed: int, rates: list[float]) -> list[Scenario]:
    random_503 = {"seed": seed, "fail_rate": 0.1, "fail_status": 503}
    out = [
        Scenario(f"503 1 in 10, {'back to back' if r == 0 else f'{r:g} req/s'}", r, random_503) for r in rates
    ]
    out.append(
        Scenario("five 500s (requests 10-14), 20 req/s", 20, {"script": {str(n): 500 for n in range(10, 15)}})
    )
    out.append(Scenario("one 401 (request 10), 20 req/s", 20, {"script": {"10": 401}}))
    return out


def definitions(port: int, count: int) -> str:
    providers = "".join(PROVIDER.format(n=n, port=port) for n in range(count))
    chains = "".join(f"  s{n}:\n    steps: [p{n}/bench-up]\n" for n in range(count))
    return f"version: 1\nproviders:\n{providers}chains:\n{chains}"


async def control(session: aiohttp.ClientSession, port: int, faults: dict[str, Any] | None) -> dict[str, int]:
    url = f"http://127.0.0.1:{port}/_faults"
    if faults is None:
        async with session.get(url) as resp:
            stats: dict[str, int] = json.loads(await resp.read())
            return stats
    async with session.post(url, data=json.dumps(faults)) as resp:
        return dict(json.loads(await resp.read()))


async def lane(session: aiohttp.ClientSession, url: str, model: str, requests: int, rate: float) -> int:
    """Failures (any status but 200) among `requests` sent at `rate` (0: back to back)."""
    body = BODY % model.encode()
    failures = 0

    async def one(i: int, start: float) -> None:
        nonlocal failures
        if rate:
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        async with session.post(url, data=body, headers={"content-type": "application/json"}) as resp:
            await resp.read()
            failures += resp.status != 200

    start = time.perf_counter() + 0.05
    if rate:
        await asyncio.gather(*(one(i, start) for i in range(requests)))
    else:
        for i in range(requests):
            await one(i, start)
    return failures


async def measure(ports: tuple[int, int, int], cases: list[Scenario], requests: int) -> bool:
    direct_port, relay_up_port, relay_port = ports
    ok = True
    print(f"{'scenario':<40} {'direct':>7} {'relay':>7} {'relay, no call':>15}")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for n, case in enumerate(cases):
            for port in (direct_port, relay_up_port):
                await control(session, port, case.faults)
            direct, relay = await asyncio.gather(
                lane(
                    session,
                    f"http://127.0.0.1:{direct_port}/v1/chat/completions",
                    "bench-up",
                    requests,
                    case.rate,
                ),
                lane(
                    session,
                    f"http://127.0.0.1:{relay_port}/v1/chat/completions",
                    f"s{n}",
                    requests,
                    case.rate,
                ),
            )
            upstream = await control(session, relay_up_port, None)
            no_call = relay - upstream["failed"]
            ok &= relay <= direct
            verdict = "" if relay <= direct else "  WORSE than direct"
            print(f"{case.name:<40} {direct:>7} {relay:>7} {no_call:>15}{verdict}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rates", default="0,20,5,2", help="req/s per 503 run, 0 = back to back")
    args = parser.parse_args()
    cases = scenarios(args.seed, [float(r) for r in args.rates.split(",")])
    print(f"seed {args.seed}, {args.requests} requests per lane and scenario")
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "BENCH_UPSTREAM_KEY": "bench-key-not-secret", "PYTHONPATH": str(repo)}
    direct_port, relay_up_port, relay_port = free_port(), free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port in (direct_port, relay_up_port):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.upstream_server", str(port)], cwd=repo, env=env
                )
            )
        with tempfile.TemporaryDirectory() as tmp_name:
            defs = definitions(relay_up_port, len(cases))
            procs.append(serve_relay(defs, Path(tmp_name), relay_port, repo, env))
            for port in (direct_port, relay_up_port, relay_port):
                wait_port(port)
            ok = asyncio.run(measure((direct_port, relay_up_port, relay_port), cases, args.requests))
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)
    print(
        "relay failed no more than direct in every scenario"
        if ok
        else "relay failed MORE than direct somewhere"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

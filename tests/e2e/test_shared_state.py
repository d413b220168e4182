"""Routing state shared through a real `redis-server` by several `relay run` processes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import redis

from tests.e2e.conftest import UPSTREAM_KEYS
from tests.e2e.procs import FakeUpstream, Relay, build, relay_run, wait_until, write_defs
from tests.routing.redis_server import RedisServer, running_redis

pytestmark = pytest.mark.e2e

RPM = 5

SHARED = """\
version: 1
server:
  state: {state}
providers:
  limited:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
    limits: {{rpm: {rpm}}}
    timeouts: {{first_byte: 2s}}
  spare:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_B}}"]
    timeouts: {{first_byte: 2s}}
chains:
  free:
    steps: [limited/llama-limited, spare/llama-spare]
  only:
    steps: [limited/llama-limited]
"""


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


def _generated(tmp_path: Path, fake: FakeUpstream, state: str, rpm: int = RPM) -> Path:
    chains = write_defs(
        tmp_path / "chains", {"relay.yaml": SHARED.format(url=fake.url, state=state, rpm=rpm)}
    )
    result = build(chains, tmp_path / "generated", UPSTREAM_KEYS)
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp_path / "generated"


def _ask(relay: Relay, chain: str = "free") -> httpx.Response:
    body = {"model": chain, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(relay.url + "/v1/chat/completions", json=body, timeout=10)


def _models(fake: FakeUpstream) -> list[str]:
    return [r["body"]["model"] for r in fake.requests()]


def test_two_relays_sharing_a_key_never_together_exceed_its_rpm(
    fake: FakeUpstream, redis_server: RedisServer, tmp_path: Path
) -> None:
    generated = _generated(tmp_path, fake, redis_server.url)
    with ExitStack() as stack:
        relays = [stack.enter_context(relay_run(generated, env=UPSTREAM_KEYS)) for _ in range(2)]
        fake.script()
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(_ask, [relays[i % 2] for i in range(4 * RPM)]))
        assert [r.status_code for r in replies] == [200] * (4 * RPM)
        models = _models(fake)
        assert models.count("llama-limited") == RPM  # the key's rpm, used fully, never exceeded
        assert models.count("llama-spare") == 3 * RPM  # the rest fell to the next step
        served_by = {r.headers["x-relay-provider"] for r in replies}
        assert served_by == {"limited", "spare"}

        fake.script()
        only = [_ask(relays[i % 2], "only") for i in range(4)]
        assert {r.status_code for r in only} == {429}
        assert all(int(r.headers["retry-after"]) >= 1 for r in only)
        assert fake.requests() == []


def test_several_workers_with_redis_state_start_and_share_limits(
    fake: FakeUpstream, redis_server: RedisServer, tmp_path: Path
) -> None:
    generated = _generated(tmp_path, fake, redis_server.url)
    with relay_run(generated, "--workers", "2", env=UPSTREAM_KEYS) as relay:
        assert "with 2 worker(s)" in relay.output()
        fake.script()
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(lambda _: _ask(relay), range(3 * RPM)))
        assert [r.status_code for r in replies] == [200] * (3 * RPM)
        assert _models(fake).count("llama-limited") == RPM


RATE_429 = {  # the key's quota is gone: a stated limit, shared as a cooldown
    "status": 429,
    "headers": {
        "retry-after": "30",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "30s",
    },
    "body": {"error": {"message": "slow down", "type": "rate_limit_error"}},
}


def _load(relay: Relay, stop: threading.Event, statuses: list[int]) -> None:
    """Requests back to back until `stop`: the load Redis dies under."""
    while not stop.is_set():
        statuses.append(_ask(relay).status_code)


def test_redis_killed_mid_load_degrades_to_local_state_then_resyncs(
    fake: FakeUpstream, redis_server: RedisServer, tmp_path: Path
) -> None:
    generated = _generated(tmp_path, fake, redis_server.url, rpm=1000)
    client = redis.Redis(port=redis_server.port)
    with ExitStack() as stack:
        relays = [stack.enter_context(relay_run(generated, env=UPSTREAM_KEYS)) for _ in range(2)]
        stack.callback(client.close)
        stop, statuses = threading.Event(), list[int]()
        with ThreadPoolExecutor(2) as pool:
            loads = [pool.submit(_load, relay, stop, statuses) for relay in relays]
            wait_until(lambda: len(statuses) >= 10, "load running")
            killed_at = len(statuses)
            redis_server.stop()
            wait_until(lambda: len(statuses) >= killed_at + 20, "load served without redis")
            stop.set()
            for load in loads:
                load.result()
        outage = len(statuses) - killed_at
        assert statuses == [200] * len(statuses)  # nobody noticed
        for relay in relays:
            assert "redis state unreachable" in relay.output()

        redis_server.start()  # same port, empty: what the relays did meanwhile is replayed
        wait_until(lambda: all("redis state is back" in r.output() for r in relays), "relays back on redis")
        window = client.keys("relay:*:w60r")
        assert len(window) == 1
        replayed = sum(float(v) for v in client.hvals(window[0]))
        # What the relays granted on local state is counted again (not the few requests that
        # reserved on the old Redis just before it died, which count in `outage` too)
        assert outage // 2 <= replayed <= outage

        first, second = relays
        fake.script(RATE_429)  # the first relay learns a 30 s cooldown for the shared key...
        reply = _ask(first)
        assert reply.status_code == 200 and reply.headers["x-relay-provider"] == "spare"
        wait_until(
            lambda: any(client.hget(k, "cool_until") for k in client.keys("relay:*:k")), "cooldown shared"
        )
        fake.script()
        reply = _ask(second)  # ...and the second one skips that key without trying it
        assert reply.status_code == 200 and reply.headers["x-relay-provider"] == "spare"
        assert _models(fake) == ["llama-spare"]


async def _burst(url: str, connections: int, each: int) -> list[int]:
    """`connections` clients at once, each sending `each` requests one after the other."""
    body = {"model": "spare", "messages": [{"role": "user", "content": "hi"}]}
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:

        async def client() -> list[int]:
            statuses = []
            for _ in range(each):
                async with session.post(url + "/v1/chat/completions", json=body) as resp:
                    await resp.read()
                    statuses.append(resp.status)
            return statuses

        return [
            s for statuses in await asyncio.gather(*(client() for _ in range(connections))) for s in statuses
        ]


def _backends(relay: Relay, workers: int) -> dict[int, dict[str, Any]]:
    """`state_backend` of `/admin/state` from each worker (fresh connections, bounded)."""
    seen: dict[int, dict[str, Any]] = {}
    for _ in range(200):
        state = httpx.get(relay.url + "/admin/state", headers={"connection": "close"}, timeout=10).json()
        seen[state["relay"]["pid"]] = state["state_backend"]
        if len(seen) == workers:
            return seen
    pytest.fail(f"only workers {sorted(seen)} answered")


@pytest.mark.parametrize("workers", [1, 2])
def test_256_connections_wait_for_redis_instead_of_falling_back(
    fake: FakeUpstream, redis_server: RedisServer, tmp_path: Path, workers: int
) -> None:
    """Busy is not down: with more requests in flight than Redis connections in the pool,
    requests wait for one, and no worker falls back to local state (it used to, past 100)."""
    defs = SHARED + "  spare:\n    steps: [spare/llama-spare]\n"
    chains = write_defs(
        tmp_path / "chains", {"relay.yaml": defs.format(url=fake.url, state=redis_server.url, rpm=RPM)}
    )
    assert build(chains, tmp_path / "generated", UPSTREAM_KEYS).returncode == 0
    with relay_run(tmp_path / "generated", "--workers", str(workers), env=UPSTREAM_KEYS) as relay:
        fake.script()
        statuses = asyncio.run(_burst(relay.url, 256, 3))
        assert statuses == [200] * 768
        backends = _backends(relay, workers)
        assert all(b == {"backend": "redis", "degraded": False, "fallbacks": 0} for b in backends.values()), (
            backends
        )
        assert "redis state unreachable" not in relay.output()

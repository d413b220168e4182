"""Routing state shared through a real `redis-server` by several `relay run` processes."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

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


RATE_429 = {
    "status": 429,
    "headers": {"retry-after": "30"},
    "body": {"error": {"message": "slow down", "type": "rate_limit_error"}},
}


def test_redis_killed_mid_load_degrades_to_local_state_then_resyncs(
    fake: FakeUpstream, redis_server: RedisServer, tmp_path: Path
) -> None:
    generated = _generated(tmp_path, fake, redis_server.url, rpm=1000)
    with ExitStack() as stack:
        first, second = (stack.enter_context(relay_run(generated, env=UPSTREAM_KEYS)) for _ in range(2))
        assert {_ask(r).status_code for r in (first, second)} == {200}

        redis_server.stop()
        for relay in (first, second, first, second):
            reply = _ask(relay)
            assert reply.status_code == 200 and reply.headers["x-relay-provider"] == "limited"
        for relay in (first, second):
            assert "redis state unreachable" in relay.output()

        redis_server.start()  # same port, empty: what the relays did meanwhile is replayed
        wait_until(
            lambda: all("redis state is back" in r.output() for r in (first, second)), "relays back on redis"
        )

        fake.script(RATE_429)  # the first relay learns a 30 s cooldown for the shared key...
        reply = _ask(first)
        assert reply.status_code == 200 and reply.headers["x-relay-provider"] == "spare"
        client = redis.Redis(port=redis_server.port)
        wait_until(
            lambda: any(client.hget(k, "cool_until") for k in client.keys("relay:*:k")), "cooldown shared"
        )
        fake.script()
        reply = _ask(second)  # ...and the second one skips that key without trying it
        assert reply.status_code == 200 and reply.headers["x-relay-provider"] == "spare"
        assert _models(fake) == ["llama-spare"]
        client.close()

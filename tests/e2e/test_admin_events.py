"""`/admin/events` under pressure: a slow subscriber is dropped without slowing requests,
and with Redis every worker's events reach every subscriber exactly once. Also the
loopback rule when no admin keys are set."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.e2e.conftest import UPSTREAM_KEYS, RelayFactory
from tests.e2e.procs import (
    REPO,
    FakeUpstream,
    Relay,
    build,
    clean_env,
    free_port,
    relay_run,
    stop,
    wait_until,
    write_defs,
)
from tests.e2e.test_admin_api import Events
from tests.routing.redis_server import RedisServer, running_redis

pytestmark = pytest.mark.e2e

PLAIN = """\
version: 1
server:
  state: {state}
providers:
  up:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
    timeouts: {{first_byte: 2s}}
chains:
  free:
    steps: [up/llama]
"""


def ask(url: str) -> int:
    body = {"model": "free", "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(url + "/v1/chat/completions", json=body, timeout=10).status_code


def _slow_subscriber(relay: Relay) -> socket.socket:
    """A subscriber that never reads, with the smallest receive buffer the kernel allows."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    host, port = relay.url.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    sock.sendall(f"GET /admin/events HTTP/1.1\r\nhost: {host}\r\n\r\n".encode())
    return sock


def _read_to_end(sock: socket.socket, deadline: float) -> bytes:
    """Everything the relay sent, until the chunked body's end or the connection closes."""
    data = b""
    sock.settimeout(1.0)
    while time.monotonic() < deadline and not data.endswith(b"0\r\n\r\n"):
        try:
            part = sock.recv(65536)
        except TimeoutError:
            continue
        if not part:
            break
        data += part
    return data


def _dropped(relay: Relay) -> int:
    return int(httpx.get(relay.url + "/admin/state", timeout=10).json()["events"]["dropped"])


def test_a_slow_subscriber_is_dropped_and_never_slows_requests(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    defs = {"relay.yaml": PLAIN.format(url=fake.url, state="memory")}
    with start_relay(defs, env={"RELAY_EVENTS_BUFFER": "4"}) as relay:
        slow = _slow_subscriber(relay)
        fake.script()
        statuses: list[int] = []
        for _ in range(40):  # bounded: batches of requests until the slow stream is cut
            with ThreadPoolExecutor(8) as pool:
                statuses += list(pool.map(lambda _: ask(relay.url), range(25)))
            if _dropped(relay):
                break
        assert set(statuses) == {200} and _dropped(relay) == 1
        # Now read like a normal client: with the tiny buffer the kernel would only probe the
        # zero window with backing-off timers, and draining could take longer than the deadline.
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        ended = _read_to_end(slow, time.monotonic() + 20)
        slow.close()
        assert ended.startswith(b"HTTP/1.1 200") and ended.endswith(b"0\r\n\r\n")  # it saw the end


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


def _count(events: Events, name: str, at_least: int) -> Callable[[], bool]:
    return lambda: len(events.of(name)) >= at_least


def _subscribers_on_both_workers(relay: Relay, stack: ExitStack) -> list[Events]:
    """Open subscribers until two come from different worker processes (bounded)."""
    by_pid: dict[int, Events] = {}
    for _ in range(30):
        events = Events(relay)
        stack.callback(events.close)
        wait_until(_count(events, "hello", 1), "hello")
        by_pid.setdefault(events.of("hello")[0]["pid"], events)
        if len(by_pid) == 2:
            return list(by_pid.values())
    pytest.fail("every subscriber landed on the same worker")


def test_with_redis_every_workers_requests_reach_every_subscriber_once(
    fake: FakeUpstream, redis_server: RedisServer, tmp_path: Path
) -> None:
    chains = write_defs(
        tmp_path / "chains", {"relay.yaml": PLAIN.format(url=fake.url, state=redis_server.url)}
    )
    result = build(chains, tmp_path / "generated", UPSTREAM_KEYS)
    assert result.returncode == 0, result.stdout + result.stderr
    with (
        relay_run(tmp_path / "generated", "--workers", "2", env=UPSTREAM_KEYS) as relay,
        ExitStack() as stack,
    ):
        subscribers = _subscribers_on_both_workers(relay, stack)
        fake.script()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: ask(relay.url), range(30)))
        assert statuses == [200] * 30
        for events in subscribers:
            wait_until(_count(events, "request", 30), "every request event")
        for events in subscribers:
            ids = [e["id"] for e in events.of("request")]
            assert len(ids) == 30 and len(set(ids)) == 30


def _events_on_the_channel(redis_url: str, during: Callable[[], None]) -> int:
    """Request events relay published on its Redis channel while `during` ran (announcements
    and questions, which are not events, left out)."""
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("relay:events")
    try:
        during()
        found, deadline = 0, time.monotonic() + 1.0  # what was published has arrived by then
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.1)
            if message is not None and b"\nevent: request\n" in message["data"]:
                found += 1
        return found
    finally:
        pubsub.close()
        client.close()


def test_with_redis_events_are_published_only_while_someone_subscribes(
    fake: FakeUpstream, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Without a subscriber anywhere, no worker sends its request events to Redis (they went
    to every other worker for nobody); once one subscribes, the other worker publishes."""
    chains = write_defs(
        tmp_path / "chains", {"relay.yaml": PLAIN.format(url=fake.url, state=redis_server.url)}
    )
    assert build(chains, tmp_path / "generated", UPSTREAM_KEYS).returncode == 0
    with (
        relay_run(tmp_path / "generated", "--workers", "2", env=UPSTREAM_KEYS) as relay,
        ExitStack() as stack,
    ):
        fake.script()

        def traffic() -> None:
            with ThreadPoolExecutor(8) as pool:
                assert list(pool.map(lambda _: ask(relay.url), range(30))) == [200] * 30

        assert _events_on_the_channel(redis_server.url, traffic) == 0
        events = Events(relay)
        stack.callback(events.close)
        wait_until(_count(events, "hello", 1), "hello")
        assert _events_on_the_channel(redis_server.url, traffic) > 0  # the other worker's


def test_without_admin_keys_only_loopback_peers_are_answered(fake: FakeUpstream, tmp_path: Path) -> None:
    outward = _outward_address()
    defs = PLAIN.format(url=fake.url, state="memory").replace(
        "server:\n", 'server:\n  auth: {keys: ["${RELAY_API_KEY}"]}\n'
    )
    env = {**UPSTREAM_KEYS, "RELAY_API_KEY": "client-key-0123456789abcdef"}
    chains = write_defs(tmp_path / "chains", {"relay.yaml": defs})
    assert build(chains, tmp_path / "generated", env).returncode == 0
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "compiler", "run", str(tmp_path / "generated"), "--listen", f"0.0.0.0:{port}"],
        cwd=REPO,
        env=clean_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        local = f"http://127.0.0.1:{port}"
        wait_until(lambda: _status(local + "/health") == 200, "relay on 0.0.0.0", proc=proc)
        assert _status(local + "/admin/state") == 200
        client_key = {"x-api-key": env["RELAY_API_KEY"]}
        assert _status(f"http://{outward}:{port}/admin/state", client_key) == 401
        assert _status(f"http://{outward}:{port}/v1/models", client_key) == 200
    finally:
        stop(proc)


def test_without_admin_keys_a_proxied_request_is_refused(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    """A reverse proxy on the same machine is a loopback peer: what it forwards is somebody
    else's request, which the keyless admin API must not answer (docs/security.md)."""
    with start_relay({"relay.yaml": PLAIN.format(url=fake.url, state="memory")}) as relay:
        assert _status(relay.url + "/admin/state") == 200
        assert _status(relay.url + "/metrics") == 200
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            reply = httpx.get(relay.url + "/admin/state", headers={header: "203.0.113.9"}, timeout=10)
            assert reply.status_code == 401, header
            assert "server.admin.keys" in reply.json()["error"]["message"]
            assert _status(relay.url + "/metrics", {header: "for=203.0.113.9"}) == 401
        fake.script()
        proxied = {"model": "free", "messages": [{"role": "user", "content": "hi"}]}
        reply = httpx.post(
            relay.url + "/v1/chat/completions",
            json=proxied,
            headers={"X-Forwarded-For": "203.0.113.9"},
            timeout=10,
        )
        assert reply.status_code == 200  # the API itself is guarded by client keys, not by this


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        return httpx.get(url, headers=headers, timeout=5).status_code
    except httpx.HTTPError:
        return 0


def _outward_address() -> str:
    """This machine's address on its first non-loopback interface, or skip."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            pytest.skip("no non-loopback interface")
        address = str(probe.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("no non-loopback interface")
    return address


def _states_by_worker(relay: Relay) -> dict[int, dict[str, Any]]:
    """`/admin/state` from each of the two workers (fresh connections until both answered)."""
    seen: dict[int, dict[str, Any]] = {}
    for _ in range(200):
        state = httpx.get(relay.url + "/admin/state", headers={"connection": "close"}, timeout=10).json()
        seen[state["relay"]["pid"]] = state
        if len(seen) == 2:
            return seen
    pytest.fail(f"only workers {sorted(seen)} answered")


def _hashes_by_worker(relay: Relay) -> dict[int, str]:
    return {pid: state["artifact"]["source_hash"] for pid, state in _states_by_worker(relay).items()}


def test_admin_reload_reaches_every_worker(
    fake: FakeUpstream, redis_server: RedisServer, tmp_path: Path
) -> None:
    """No manifest polling here: only POST /admin/reload can make the workers see the rebuild."""
    chains = write_defs(
        tmp_path / "chains", {"relay.yaml": PLAIN.format(url=fake.url, state=redis_server.url)}
    )
    assert build(chains, tmp_path / "generated", UPSTREAM_KEYS).returncode == 0
    env = {**UPSTREAM_KEYS, "RELAY_RELOAD_POLL": "0"}
    with relay_run(tmp_path / "generated", "--workers", "2", env=env) as relay:
        before = set(_hashes_by_worker(relay).values())
        assert len(before) == 1
        write_defs(
            tmp_path / "chains",
            {
                "relay.yaml": PLAIN.format(url=fake.url, state=redis_server.url).replace(
                    "first_byte: 2s", "first_byte: 3s"
                )
            },
        )
        assert build(chains, tmp_path / "generated", UPSTREAM_KEYS).returncode == 0
        answer = httpx.post(relay.url + "/admin/reload", timeout=10).json()
        assert answer["outcome"] == "reloaded" and answer["source_hash"] not in before
        wait_until(
            lambda: set(_hashes_by_worker(relay).values()) == {answer["source_hash"]},
            "both workers on the new build",
        )


def test_with_redis_every_worker_shows_the_shared_state(
    fake: FakeUpstream, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Windows count every worker's requests, and a cooldown one worker met shows on the
    other before that one ever tries the key (it reads Redis when asked, not on its next use)."""
    defs = PLAIN.format(url=fake.url, state=redis_server.url).replace(
        "    timeouts: {first_byte: 2s}\n", "    timeouts: {first_byte: 2s}\n    limits: {rpm: 100}\n"
    )
    chains = write_defs(tmp_path / "chains", {"relay.yaml": defs})
    assert build(chains, tmp_path / "generated", UPSTREAM_KEYS).returncode == 0
    with relay_run(tmp_path / "generated", "--workers", "2", env=UPSTREAM_KEYS) as relay:
        fake.script()
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(lambda _: ask(relay.url), range(20))) == [200] * 20
        for state in _states_by_worker(relay).values():
            (key,) = state["providers"][0]["keys"]
            rpm = next(w for w in key["windows"] if w["name"] == "rpm")
            assert (rpm["used"], rpm["remaining"]) == (20, 80), state["relay"]["pid"]
        fake.script(
            {"status": 429, "headers": {"retry-after": "40"}, "body": {"error": {"message": "slow down"}}}
        )
        assert ask(relay.url) == 429

        def both_cooling() -> bool:
            keys = [state["providers"][0]["keys"][0] for state in _states_by_worker(relay).values()]
            return all(k["status"] == "cooling" and 30 < k["until_s"] <= 40 for k in keys)

        # A cooldown reaches Redis with the next reservation or after FLUSH_DELAY (50 ms): it
        # never holds up the request that met it, so the other worker sees it a moment later.
        wait_until(both_cooling, "the cooldown on both workers")

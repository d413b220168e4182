"""Queueing (`queue: {max_wait}`): a request waits for a cooling chain instead of failing."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.conftest import RelayFactory
from tests.e2e.procs import FakeUpstream, Relay, wait_until

pytestmark = pytest.mark.e2e

QUEUED = """\
version: 1
providers:
  up:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
    timeouts: {{first_byte: 2s}}
chains:
  waits:
    steps: [up/llama-wait]
    queue: {{max_wait: 3s, max_depth: 1}}
  fails:
    steps: [up/llama-fail]
"""


def _limited(seconds: int) -> dict[str, object]:
    """A 429 that says the key's quota is gone for `seconds`: a stated limit for every request.
    (A 429 without the counter refuses one request only: the queue waits for it too, see
    `test_a_request_whose_own_attempt_is_rate_limited_waits_and_retries`, but a chain without
    a queue tries the key again at once.)"""
    return {
        "status": 429,
        "headers": {
            "retry-after": str(seconds),
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": f"{seconds}s",
        },
        "body": {"error": {"message": "slow down", "type": "rate_limit_error"}},
    }


def _ask(relay: Relay, chain: str, timeout: float = 10) -> httpx.Response:
    body = {"model": chain, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(relay.url + "/v1/chat/completions", json=body, timeout=timeout)


def test_a_request_waits_for_the_cooling_step_instead_of_failing(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    with start_relay({"r.yaml": QUEUED.format(url=fake.url)}) as relay:
        fake.script(_limited(1))
        assert _ask(relay, "fails").status_code == 429  # the key now cools down for 1 s

        t0 = time.monotonic()
        fast = _ask(relay, "fails")  # max_wait 0: fails at once
        assert fast.status_code == 429 and int(fast.headers["retry-after"]) == 1
        assert time.monotonic() - t0 < 0.5

        t0 = time.monotonic()
        waited = _ask(relay, "waits")
        elapsed = time.monotonic() - t0
        assert waited.status_code == 200, waited.text
        assert elapsed >= 0.8 and float(waited.headers["x-relay-queued-ms"]) >= 800
        assert float(waited.headers["x-relay-overhead-ms"]) < 200  # queueing is not overhead
        assert [r["body"]["model"] for r in fake.requests()] == ["llama-fail", "llama-wait"]


def test_a_request_whose_own_attempt_is_rate_limited_waits_and_retries(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    with start_relay({"r.yaml": QUEUED.format(url=fake.url)}) as relay:
        fake.script(_limited(1), {})
        t0 = time.monotonic()
        reply = _ask(relay, "waits")
        assert reply.status_code == 200, reply.text
        assert time.monotonic() - t0 >= 0.8 and float(reply.headers["x-relay-queued-ms"]) >= 800
        assert reply.headers["x-relay-attempts"] == "2"
        assert [r["body"]["model"] for r in fake.requests()] == ["llama-wait", "llama-wait"]


def test_a_step_that_recovers_too_late_fails_without_waiting(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    with start_relay({"r.yaml": QUEUED.format(url=fake.url)}) as relay:
        fake.script(_limited(30))
        assert _ask(relay, "fails").status_code == 429
        t0 = time.monotonic()
        reply = _ask(relay, "waits")
        assert reply.status_code == 429 and int(reply.headers["retry-after"]) >= 29
        assert time.monotonic() - t0 < 0.5


def test_a_client_that_disconnects_leaves_the_queue(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    with start_relay({"r.yaml": QUEUED.format(url=fake.url)}) as relay:
        fake.script(_limited(2))
        assert _ask(relay, "fails").status_code == 429
        with pytest.raises(httpx.ReadTimeout):
            _ask(relay, "waits", timeout=0.3)  # queued, then gone
        wait_until(lambda: "client left the queue" in relay.output(), "queue left")
        # max_depth is 1: had the departed client kept its place, this one would be refused
        reply = _ask(relay, "waits")
        assert reply.status_code == 200, reply.text
        assert [r["body"]["model"] for r in fake.requests()] == ["llama-fail", "llama-wait"]

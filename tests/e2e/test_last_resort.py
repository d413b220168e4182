"""What relay's own inference keeps out is still tried before a request fails (issue 18):
the last candidate waits for `timeouts.total`, not `first_byte`; a step in a backoff is tried
when the others fail, whatever its position in the chain."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.conftest import RelayFactory
from tests.e2e.procs import FakeUpstream, Relay, wait_until

pytestmark = pytest.mark.e2e

DEFS = """\
version: 1
providers:
  a:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
    timeouts: {{first_byte: 300ms, total: 5s}}
  b:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_B}}"]
    timeouts: {{first_byte: 300ms, total: 5s}}
chains:
  one: {{steps: [a/m-a]}}
  two: {{steps: [a/m-a, b/m-b]}}
  bonly: {{steps: [b/m-b]}}
  patient: {{steps: [a/m-a, b/m-b], retry_wait: 2s}}
"""
BUSY = {"status": 503, "body": {"error": {"message": "busy", "type": "server_error"}}}


def _ask(relay: Relay, chain: str, stream: bool = False) -> httpx.Response:
    body = {"model": chain, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(relay.url + "/v1/chat/completions", json=body, timeout=20)


def _models(fake: FakeUpstream) -> list[str]:
    return [r["body"]["model"] for r in fake.requests()]


@pytest.mark.parametrize("stream", [False, True])
def test_the_only_candidate_waits_for_total_not_first_byte(
    fake: FakeUpstream, start_relay: RelayFactory, stream: bool
) -> None:
    """Was: 504 at `first_byte` (60 s by default) where direct got its answer at 65 s."""
    with start_relay({"r.yaml": DEFS.format(url=fake.url)}) as relay:
        fake.script({"delay": 0.8, "text": "late but fine"})
        t0 = time.monotonic()
        reply = _ask(relay, "one", stream)
        assert reply.status_code == 200, reply.text
        assert "late but fine" in reply.text and "error" not in reply.text
        assert time.monotonic() - t0 >= 0.8
        assert _models(fake) == ["m-a"]


def test_a_step_relay_cut_at_first_byte_is_tried_again_patiently_when_the_rest_fail(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    with start_relay({"r.yaml": DEFS.format(url=fake.url)}) as relay:
        fake.script({"delay": 0.8}, BUSY, {"delay": 0.8, "text": "slow a"})
        reply = _ask(relay, "two")
        assert reply.status_code == 200, reply.text
        assert "slow a" in reply.text
        assert _models(fake) == ["m-a", "m-b", "m-a"]


@pytest.mark.parametrize("failure", [{"delay": 0.8}, BUSY, {"status": 500}])
def test_a_later_step_in_a_backoff_is_tried_when_the_first_fails(
    fake: FakeUpstream, start_relay: RelayFactory, failure: dict[str, object]
) -> None:
    """Was: `a` times out (or 503s, 500s), `b` is skipped for its inferred backoff: 504 (or
    529, 502) after one attempt with `x-relay-skipped: b: overloaded`, although `b` would
    have answered."""
    with start_relay({"r.yaml": DEFS.format(url=fake.url)}) as relay:
        fake.script(BUSY)
        assert _ask(relay, "bonly").status_code == 503  # `b` is now in an inferred backoff
        fake.script(failure, {"text": "from b"})
        reply = _ask(relay, "two")
        assert reply.status_code == 200, reply.text
        assert "from b" in reply.text and reply.headers["x-relay-provider"] == "b"
        assert _models(fake) == ["m-a", "m-b"]


LOST = """\
version: 1
providers:
  a:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
  b:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_B}}"]
    breaker: {{failures: 2, window: 30s, open_for: 30s}}
chains:
  two: {{steps: [a/m-a, b/m-b]}}
  bonly: {{steps: [b/m-b]}}
"""


def test_a_candidate_whose_breaker_opened_since_the_plan_is_still_tried_not_called_a_rate_limit(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    """Was: `begin()` refused `b` (its breaker opened while `a` was answering), and the
    waterfall called that "key filled up meanwhile", a rate limit, without a call."""
    with start_relay({"r.yaml": LOST.format(url=fake.url)}) as relay:
        fake.script({"delay": 1.0, **BUSY}, {"status": 500}, {"status": 500}, {"text": "from b"})
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(_ask, relay, "two")
            wait_until(lambda: len(fake.requests()) == 1, "a's request in flight")
            assert [_ask(relay, "bonly").status_code for _ in range(2)] == [502, 502]  # b's breaker opens
            reply = slow.result()
        assert reply.status_code == 200, reply.text
        assert "from b" in reply.text
        assert _models(fake) == ["m-a", "m-b", "m-b", "m-b"]


def _limited(seconds: int) -> dict[str, object]:
    return {
        "status": 429,
        "headers": {"retry-after": str(seconds)},
        "body": {"error": {"message": "slow down"}},
    }


@pytest.mark.parametrize(
    ("chain", "retry_after", "models"),
    [
        ("patient", 1, ["m-a", "m-a"]),  # waited out, the preferred step answered
        ("patient", 5, ["m-a", "m-b"]),  # longer than retry_wait: falls over at once
        ("two", 1, ["m-a", "m-b"]),  # retry_wait 0 (default): falls over at once
    ],
)
def test_retry_wait_waits_out_a_short_retry_after_on_the_preferred_step(
    fake: FakeUpstream, start_relay: RelayFactory, chain: str, retry_after: int, models: list[str]
) -> None:
    with start_relay({"r.yaml": DEFS.format(url=fake.url)}) as relay:
        fake.script(_limited(retry_after), {"text": "answered"})
        t0 = time.monotonic()
        reply = _ask(relay, chain)
        elapsed = time.monotonic() - t0
        assert reply.status_code == 200, reply.text
        assert _models(fake) == models
        assert (elapsed >= 0.9) == (models == ["m-a", "m-a"])

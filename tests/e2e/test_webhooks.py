"""Webhooks from a real `relay run` to a receiver the test owns: a chain whose every step
fails reaches it signed (the signature verified as a receiver would), and a receiver that
hangs never affects requests: what it cannot take is dropped and counted."""

from __future__ import annotations

import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from runtime.ops.webhooks import MAX_QUEUE
from tests.e2e.conftest import BASIC, RelayFactory
from tests.e2e.procs import FakeUpstream, wait_until
from tests.e2e.test_metrics import scrape, total
from tests.e2e.webhook_receiver import hung_receiver, receiver

pytestmark = pytest.mark.e2e

SECRET = "hook-secret-0123456789abcdef"
HOOKED = (
    BASIC
    + """\
server:
  webhooks:
    - url: "{hook}"
      events: [chain_exhausted, breaker_opened]
      secret: "${{HOOK_SECRET}}"
"""
)
FAIL = {"status": 503, "body": {"error": {"message": "down"}}}
BURST = MAX_QUEUE + 40


def _ask(url: str) -> httpx.Response:
    body = {"model": "free", "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(url + "/v1/chat/completions", json=body, timeout=20)


def test_an_exhausted_chain_is_posted_signed(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    with receiver() as hook:
        defs = {"relay.yaml": HOOKED.format(url=fake.url, hook=hook.url)}
        with start_relay(defs, env={"HOOK_SECRET": SECRET}) as relay:
            fake.script(FAIL, FAIL)
            assert _ask(relay.url).status_code == 503
            wait_until(lambda: bool(hook.received), "the webhook")
            got = hook.received[0]
            stamp = got.headers["x-relay-timestamp"]
            expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(got.headers["x-relay-signature"], f"sha256={expected}")
            event = json.loads(got.body)
            assert (event["kind"], event["chain"], got.headers["x-relay-event"]) == (
                "chain_exhausted",
                "free",
                "chain_exhausted",
            )
            assert SECRET not in relay.output()
            wait_until(
                lambda: total(scrape(relay), "relay_webhook_deliveries_total", result="sent") == 1,
                "sent counted",
            )


def test_a_hung_receiver_never_affects_requests(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    with hung_receiver() as url:
        defs = {"relay.yaml": HOOKED.format(url=fake.url, hook=url)}
        with start_relay(defs, env={"HOOK_SECRET": SECRET}) as relay:
            statuses = []
            for _ in range(10):
                fake.script(FAIL, FAIL)
                statuses.append(_ask(relay.url).status_code)
                fake.script()
                statuses.append(_ask(relay.url).status_code)
            assert statuses == [503, 200] * 10
            # more exhausted chains than the queue holds (MAX_QUEUE): the excess is dropped, counted
            fake.script(*[FAIL] * (2 * BURST))
            with ThreadPoolExecutor(16) as pool:
                burst = list(pool.map(lambda _: _ask(relay.url).status_code, range(BURST)))
            assert set(burst) <= {429, 503} and len(burst) == BURST
            fake.script()
            assert _ask(relay.url).status_code == 200
            got = scrape(relay)
            assert total(got, "relay_webhook_deliveries_total", result="sent") == 0
            assert (
                total(got, "relay_webhook_deliveries_total", result="dropped") >= BURST + 10 - MAX_QUEUE - 1
            )
            assert total(got, "relay_requests_total", chain="free") == 21 + BURST

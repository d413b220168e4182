"""The webhook sender against httpx's MockTransport: signature, retry with backoff (the
sleep is injected and recorded, never slept), giving up, and a bounded queue that drops
rather than blocks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import msgspec
import pytest

from runtime.artifact import Webhook
from runtime.ops.record import StateEvent
from runtime.ops.webhooks import ATTEMPTS, Webhooks

SECRET = "whsec-test-0123456789"
HOOK = Webhook(url="http://receiver.test/hook", events=("breaker_opened", "chain_exhausted"), secret=SECRET)
EVENT = StateEvent(at=1795932000.0, kind="breaker_opened", provider="groq", until_s=30.0, reason="5 failures")


def _sink(
    answer: Callable[[httpx.Request], httpx.Response], hooks: tuple[Webhook, ...] = (HOOK,), **kw: Any
) -> tuple[Webhooks, list[httpx.Request], list[float]]:
    seen: list[httpx.Request] = []
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    sink = Webhooks(
        lambda: hooks, sleep=sleep, wall=lambda: 1795932001.9, transport=httpx.MockTransport(handler), **kw
    )
    return sink, seen, slept


async def _drain(sink: Webhooks) -> None:
    sink.start(asyncio.get_running_loop())
    for _ in range(200):  # bounded: the mock transport answers without I/O
        await asyncio.sleep(0)
        if not sink._queue and any(sink.results.values()) and not sink._wake.is_set():
            break
    await sink.aclose()


def test_a_delivery_is_the_event_signed_over_timestamp_and_body() -> None:
    sink, seen, slept = _sink(lambda r: httpx.Response(204))
    sink.state(EVENT)
    asyncio.run(_drain(sink))
    (request,) = seen
    assert msgspec.json.decode(request.content) == msgspec.to_builtins(EVENT)
    assert request.headers["x-relay-event"] == "breaker_opened"
    assert request.headers["x-relay-timestamp"] == "1795932001"
    expected = hmac.new(SECRET.encode(), b"1795932001." + request.content, hashlib.sha256).hexdigest()
    assert request.headers["x-relay-signature"] == f"sha256={expected}"
    assert sink.results == {"sent": 1, "failed": 0, "dropped": 0} and slept == []


def test_no_secret_no_signature_and_unsubscribed_events_are_not_sent() -> None:
    plain = Webhook(url="http://receiver.test/hook", events=("reload_refused",))
    sink, seen, _ = _sink(lambda r: httpx.Response(200), hooks=(plain,))
    sink.state(EVENT)
    sink.state(StateEvent(at=1.0, kind="reload_refused", reason="bad build"))
    asyncio.run(_drain(sink))
    assert [r.headers["x-relay-event"] for r in seen] == ["reload_refused"]
    assert "x-relay-signature" not in seen[0].headers


def test_5xx_and_connection_errors_are_retried_with_backoff_then_sent() -> None:
    answers: Iterator[httpx.Response | httpx.ConnectError] = iter(
        [httpx.ConnectError("refused"), httpx.Response(503), httpx.Response(429), httpx.Response(200)]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        item = next(answers)
        if isinstance(item, Exception):
            raise item
        return item

    sink, seen, slept = _sink(answer)
    sink.state(EVENT)
    asyncio.run(_drain(sink))
    assert slept == [0.5, 1.0, 2.0]
    assert len({r.headers["x-relay-delivery"] for r in seen}) == 1  # one delivery id across retries
    assert sink.results["sent"] == 1


def test_a_receiver_that_never_works_is_given_up_after_the_last_attempt() -> None:
    sink, seen, slept = _sink(lambda r: httpx.Response(500))
    sink.state(EVENT)
    asyncio.run(_drain(sink))
    assert len(seen) == ATTEMPTS and slept == [0.5, 1.0, 2.0, 4.0]
    assert sink.results == {"sent": 0, "failed": 1, "dropped": 0}


@pytest.mark.parametrize("status", [400, 401, 404])
def test_a_client_error_answer_is_not_retried(status: int) -> None:
    sink, seen, slept = _sink(lambda r: httpx.Response(status))
    sink.state(EVENT)
    asyncio.run(_drain(sink))
    assert len(seen) == 1 and slept == [] and sink.results["failed"] == 1


def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    counted: list[str] = []
    sink, _, _ = _sink(lambda r: httpx.Response(200), max_queue=3, on_result=counted.append)
    for _ in range(10):  # no sender running: nothing drains the queue
        sink.state(EVENT)
    assert len(sink._queue) == 3
    assert sink.results["dropped"] == 7 and counted == ["dropped"] * 7

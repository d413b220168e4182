"""Webhooks (`server.webhooks`): state events an operator must hear about, POSTed as JSON
by one background sender, off the request path.

The Feed hands an event to `state()`, which only appends it to a bounded queue (full: the
event is dropped and counted); the sender task POSTs each delivery with httpx, retrying
connection errors, timeouts, 429 and 5xx with exponential backoff (sleep injectable for
tests), and giving up on other answers. A dead receiver therefore costs requests nothing:
at worst deliveries queue up to the bound, then drop.

Each POST's body is the event (`StateEvent` as JSON). Headers: `x-relay-event` (its kind),
`x-relay-delivery` (one id per delivery, the same across retries), `x-relay-timestamp`
(Unix seconds, as text) and, with a `secret`, `x-relay-signature: sha256=<hex>`, the
HMAC-SHA256 under the secret of the bytes `<x-relay-timestamp>.<body>`. A receiver
recomputes it over the raw body, compares in constant time, and rejects old timestamps.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NamedTuple

import msgspec

from runtime.artifact import Webhook
from runtime.ops.record import RequestRecord, StateEvent

if TYPE_CHECKING:
    import httpx

MAX_QUEUE = 256
"""Deliveries waiting at most; beyond, new ones are dropped (and counted)."""
ATTEMPTS = 5
BACKOFF = 0.5
"""Seconds before the first retry; doubled each time (0.5, 1, 2, 4)."""
TIMEOUT = 5.0

_encode = msgspec.json.Encoder().encode
log = logging.getLogger("relay.webhooks")
Sleep = Callable[[float], Awaitable[None]]


class Delivery(NamedTuple):
    hook: Webhook
    kind: str
    body: bytes
    id: str


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def headers(delivery: Delivery, now: float) -> dict[str, str]:
    stamp = str(int(now))
    out = {
        "content-type": "application/json",
        "user-agent": "relay-webhooks",
        "x-relay-event": delivery.kind,
        "x-relay-delivery": delivery.id,
        "x-relay-timestamp": stamp,
    }
    if delivery.hook.secret:
        out["x-relay-signature"] = signature(delivery.hook.secret, stamp, delivery.body)
    return out


def retryable(status: int) -> bool:
    return status == 429 or status >= 500


class Webhooks:
    """Feed sink plus its sender task; `results` counts sent, failed (gave up) and dropped."""

    def __init__(
        self,
        hooks: Callable[[], tuple[Webhook, ...]],
        *,
        on_result: Callable[[str], None] = lambda result: None,
        sleep: Sleep = asyncio.sleep,
        wall: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        max_queue: int = MAX_QUEUE,
    ) -> None:
        self._hooks = hooks
        self._on_result = on_result
        self._sleep = sleep
        self._wall = wall
        self._transport = transport
        self._max = max_queue
        self._queue: deque[Delivery] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.results = {"sent": 0, "failed": 0, "dropped": 0}

    def request(self, record: RequestRecord) -> None:
        """Finished requests are not webhook material (a chain exhausted is a state event)."""

    def state(self, event: StateEvent) -> None:
        hooks = [h for h in self._hooks() if event.kind in h.events]
        if not hooks:
            return
        body = _encode(event)
        for hook in hooks:
            if len(self._queue) >= self._max:
                self._count("dropped")
                continue
            self._queue.append(Delivery(hook, event.kind, body, uuid.uuid4().hex))
        self._wake.set()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._task = loop.create_task(self._run())

    async def aclose(self) -> None:
        """Stop sending; what is still queued is dropped with the worker."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _count(self, result: str) -> None:
        self.results[result] += 1
        self._on_result(result)

    async def _run(self) -> None:
        await self._wake.wait()
        import httpx  # only once there is something to send: ~7 MB a worker without webhooks keeps

        async with httpx.AsyncClient(transport=self._transport, timeout=TIMEOUT) as client:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    delivery = self._queue.popleft()
                    if await self.deliver(client, delivery):
                        self._count("sent")
                        continue
                    self._count("failed")
                    # the URL may itself be a credential (chat webhooks): name the hook by position
                    hooks = self._hooks()
                    where = hooks.index(delivery.hook) if delivery.hook in hooks else "?"
                    log.warning(f"webhook {where} ({delivery.kind}) not delivered; gave up after retries")

    async def deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> bool:
        import httpx

        for attempt in range(ATTEMPTS):
            if attempt:
                await self._sleep(BACKOFF * 2 ** (attempt - 1))
            try:
                resp = await client.post(
                    delivery.hook.url, content=delivery.body, headers=headers(delivery, self._wall())
                )
            except httpx.HTTPError:
                continue
            if resp.is_success:
                return True
            if not retryable(resp.status_code):
                return False
        return False

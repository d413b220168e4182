"""Admin events across workers and instances, through Redis pub/sub (`server.state: redis://`).

Each worker publishes its own events once, tagged with its origin, and delivers every
message of another origin to its local hub (`runtime.ops.events`); its own come back
through the channel too and are skipped, since the hub already delivered them. Publishing
only appends to a bounded buffer that a background task sends in pipelined batches, so
a request never waits for Redis; when Redis is away events for other workers are dropped
(counted) and the bus keeps trying to resubscribe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

CHANNEL = "relay:events"
PENDING = 10_000
RETRY_EVERY = 1.0


class RedisBus:
    def __init__(
        self, client: aioredis.Redis, deliver: Callable[[bytes], None], *, channel: str = CHANNEL
    ) -> None:
        self._redis = client
        self._deliver = deliver
        self._channel = channel
        self._origin = os.urandom(6).hex().encode() + b"\n"
        self._pending: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0
        self.log = logging.getLogger("relay.events")

    @classmethod
    def from_url(cls, url: str, deliver: Callable[[bytes], None]) -> RedisBus:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=0.5, health_check_interval=10)
        return cls(client, deliver)

    def publish(self, data: bytes) -> None:
        if len(self._pending) >= PENDING:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(data)
        self._wake.set()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._tasks = [loop.create_task(self._send_forever()), loop.create_task(self._listen_forever())]

    async def _send_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = list(self._pending)
            self._pending.clear()
            try:
                pipe = self._redis.pipeline(transaction=False)
                for data in batch:
                    pipe.publish(self._channel, self._origin + data)
                await pipe.execute()
            except RedisError:
                self.dropped += len(batch)
                await asyncio.sleep(RETRY_EVERY)

    async def _listen_forever(self) -> None:
        while True:
            try:
                await self._listen()
            except (RedisError, OSError) as exc:
                self.log.warning("admin event bus lost redis, retrying: %s", type(exc).__name__)
                await asyncio.sleep(RETRY_EVERY)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            async for message in pubsub.listen():
                data = message.get("data")
                if isinstance(data, bytes) and not data.startswith(self._origin):
                    origin_end = data.find(b"\n")
                    self._deliver(data[origin_end + 1 :])
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._redis.aclose()

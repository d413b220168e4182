"""Admin events across workers and instances, through Redis pub/sub (`server.state: redis://`).

Each worker publishes its own events once, tagged with its origin, and delivers every
message of another origin to its local hub (`runtime.ops.events`); its own come back
through the channel too and are skipped, since the hub already delivered them. Publishing
only appends to a bounded buffer that a background task sends in pipelined batches, so
a request never waits for Redis; when Redis is away events for other workers are dropped
(counted) and the bus keeps trying to resubscribe.

Events are published only while some subscriber exists anywhere: a worker with local
subscribers announces it on the channel (an empty message) when one joins, every
`ANNOUNCE_EVERY` seconds, and when asked (`ASK`, sent by a bus as soon as it has
subscribed, so a worker that starts late hears of subscribers at once); the others publish
for `WANTED_FOR` seconds after the last announcement they heard. Without it every request's event went to Redis and to every other
worker for nobody, work that grew with the square of the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

CHANNEL = "relay:events"
PENDING = 10_000
RETRY_EVERY = 1.0
ANNOUNCE_EVERY = 2.0
WANTED_FOR = 3 * ANNOUNCE_EVERY
"""Seconds after the last announcement that other workers keep publishing."""
JOIN_WAIT = 1.0
ASK = b"?"
"""The frame a bus sends once subscribed: whoever has subscribers announces them."""


class RedisBus:
    def __init__(
        self,
        client: aioredis.Redis,
        deliver: Callable[[bytes], None],
        listening: Callable[[], bool],
        *,
        channel: str = CHANNEL,
    ) -> None:
        self._redis = client
        self._deliver = deliver
        self._listening = listening
        self._wanted_until = 0.0
        self._echoes: list[asyncio.Future[None]] = []
        self._channel = channel
        self._origin = os.urandom(6).hex().encode() + b"\n"
        self._pending: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0
        self.log = logging.getLogger("relay.events")

    @classmethod
    def from_url(cls, url: str, deliver: Callable[[bytes], None], listening: Callable[[], bool]) -> RedisBus:
        """`deliver` hands another worker's frame to the local hub; `listening` says whether
        this worker has subscribers of its own."""
        client = aioredis.Redis.from_url(url, socket_connect_timeout=0.5, health_check_interval=10)
        return cls(client, deliver, listening)

    def wanted(self) -> bool:
        """Whether a subscriber on another worker or instance wants this worker's events."""
        return time.monotonic() < self._wanted_until

    def announce(self) -> None:
        """Tell every other worker that a subscriber listens here (an empty frame)."""
        self.publish(b"")

    async def announced(self, timeout: float = JOIN_WAIT) -> None:
        """Announce, and return once the announcement came back through Redis (so every
        other worker has it on its socket before this subscriber's stream opens), or after
        `timeout` when Redis is slow or away."""
        echo = asyncio.get_running_loop().create_future()
        self._echoes.append(echo)
        self.announce()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(echo, timeout)

    def publish(self, data: bytes) -> None:
        if len(self._pending) >= PENDING:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(data)
        self._wake.set()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._tasks = [
            loop.create_task(self._send_forever()),
            loop.create_task(self._listen_forever()),
            loop.create_task(self._announce_forever()),
        ]

    async def _announce_forever(self) -> None:
        while True:
            await asyncio.sleep(ANNOUNCE_EVERY)
            if self._listening():
                self.announce()

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
            self.publish(ASK)
            async for message in pubsub.listen():
                data = message.get("data")
                if not isinstance(data, bytes):
                    continue
                if data == self._origin:  # our own announcement is back
                    echoes, self._echoes = self._echoes, []
                    for echo in echoes:
                        if not echo.done():
                            echo.set_result(None)
                elif not data.startswith(self._origin):
                    self._received(data[data.find(b"\n") + 1 :])
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    def _received(self, frame: bytes) -> None:
        """Another worker's frame: an event, an announcement (empty) or a question."""
        if frame == ASK:
            if self._listening():
                self.announce()
        elif frame:
            self._deliver(frame)
        else:
            self._wanted_until = time.monotonic() + WANTED_FOR

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._redis.aclose()

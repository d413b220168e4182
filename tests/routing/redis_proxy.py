"""A TCP relay between a Redis client and a real `redis-server`, run in the test's own event
loop, that can hold Redis's replies back (so that reserves queue up behind a round trip in
flight, at a moment the test chooses) and cut a connection the next time a client sends
(Redis failing mid-way through a round trip, the command never reaching it)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any


class RedisProxy:
    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.cut_next = False
        """The next chunk any client sends is dropped and its connection closed."""
        self.cuts = 0
        self.url = ""
        self._tasks: set[asyncio.Task[Any]] = set()

    def hold(self) -> None:
        """Keep Redis's replies from the clients until `release`."""
        self.flowing.clear()

    def release(self) -> None:
        self.flowing.set()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        redis_w: asyncio.StreamWriter | None = None
        try:
            redis_r, redis_w = await asyncio.open_connection("127.0.0.1", self.redis_port)
            pumps = (
                asyncio.create_task(self._to_redis(client_r, redis_w, client_w)),
                asyncio.create_task(self._to_client(redis_r, client_w)),
            )
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            for writer in (client_w, redis_w):
                if writer is not None:
                    writer.transport.abort()
            self._tasks.discard(task)

    async def _to_redis(
        self, client_r: asyncio.StreamReader, redis_w: asyncio.StreamWriter, client_w: asyncio.StreamWriter
    ) -> None:
        while data := await client_r.read(1 << 16):
            if self.cut_next:
                self.cut_next = False
                self.cuts += 1
                client_w.transport.abort()
                return
            redis_w.write(data)
            await redis_w.drain()

    async def _to_client(self, redis_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        while data := await redis_r.read(1 << 16):
            await self.flowing.wait()
            client_w.write(data)
            await client_w.drain()


@contextlib.asynccontextmanager
async def redis_proxy(redis_port: int) -> AsyncIterator[RedisProxy]:
    """A proxy serving on a free loopback port (its `url`), every connection ended at exit."""
    proxy = RedisProxy(redis_port)
    server = await asyncio.start_server(proxy._serve, "127.0.0.1", 0)
    proxy.url = f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0"
    try:
        yield proxy
    finally:
        server.close()
        for task in list(proxy._tasks):
            task.cancel()
        await asyncio.gather(*proxy._tasks, return_exceptions=True)

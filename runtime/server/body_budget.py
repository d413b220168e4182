"""How many request-body bytes one worker holds at once (`server.max_body_memory`).

`max_body_bytes` bounds one request; this bounds them all together, so twenty 30 MB bodies
arriving at once cannot take 1.8 GB. A request reserves its bytes before they are read
(the declared Content-Length at once; a chunked body chunk by chunk) and gives them back
when its answer has been sent, since the body stays referenced until then. Requests that
do not fit wait in arrival order; the caller bounds the wait (the body timeout) and then
answers 503. When the budget goes idle after holding a lot, glibc is asked to give the
freed memory back to the system (`runtime.server.memory.trim`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable


class BodyBudget:
    def __init__(self, limit: int, on_idle: Callable[[int], None] | None = None) -> None:
        self.limit = limit
        self.used = 0
        self._peak = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._on_idle = on_idle

    def set_limit(self, limit: int) -> None:
        """A reload may change `max_body_memory`; a larger budget lets waiters in now."""
        self.limit = limit
        self._wake()

    def try_take(self, size: int) -> bool:
        if self._waiters or self.used + size > self.limit:
            return False
        self.used += size
        self._peak = max(self._peak, self.used)
        return True

    async def take(self, size: int) -> None:
        """Reserve `size` bytes, waiting behind earlier requests; cancellation leaves the queue."""
        if self.try_take(size):
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (size, waiter)
        self._waiters.append(entry)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.give(size)  # granted just as we were cancelled: hand it on
            else:
                with contextlib.suppress(ValueError):  # already skipped as done by _wake
                    self._waiters.remove(entry)
                self._wake()
            raise

    def give(self, size: int) -> None:
        self.used -= size
        self._wake()
        if self.used == 0 and not self._waiters and self._on_idle is not None:
            peak, self._peak = self._peak, 0
            self._on_idle(peak)

    def _wake(self) -> None:
        while self._waiters:
            size, waiter = self._waiters[0]
            if waiter.done():
                self._waiters.popleft()
                continue
            if self.used + size > self.limit:
                return
            self._waiters.popleft()
            self.used += size
            self._peak = max(self._peak, self.used)
            waiter.set_result(None)


class Hold:
    """One request's reservation; `release` gives back everything it took, once."""

    __slots__ = ("_budget", "size")

    def __init__(self, budget: BodyBudget) -> None:
        self._budget = budget
        self.size = 0

    def try_grow(self, size: int) -> bool:
        """Take `size` now if it fits and nobody waits; the common case, without a wait."""
        if not self._budget.try_take(size):
            return False
        self.size += size
        return True

    async def grow(self, size: int) -> None:
        if size > 0:
            await self._budget.take(size)
            self.size += size

    def release(self) -> None:
        size, self.size = self.size, 0
        if size:
            self._budget.give(size)

"""`asyncio.timeout` for the request path, at a third of its cost.

Every request passes four or five time limits (the shutdown drain's, its body's, the
upstream's head and body) and a stream one per chunk. `asyncio.timeout` is an asynchronous
context manager: two coroutines per block, and a state machine for rescheduling. A plain
context manager does the same here. The limits on the request path are seconds long and
nearly always end early, so a block of `COARSE` seconds or more arms no timer of its own: it
joins the set of blocks that expire in the same `GRAIN`-long tick, and one timer per loop
serves the earliest tick (`_Wheel`). Such a block ends at most `GRAIN` (and `_SLACK`) late,
never early.
Entering and leaving one costs 1.1 µs against 3.0 µs with a `loop.call_later` per block
(uvloop); shorter delays keep their own exact timer. The contract is asyncio's: TimeoutError
when the block outlives its deadline, raised from the cancellation it turned into, and a
cancellation from anywhere else (a client that left) stays a cancellation.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import weakref
from types import TracebackType

GRAIN = 0.05
"""Seconds per tick of the shared timer: how late a long block may end."""
COARSE = 1.0
"""Delays from this long on use the shared timer (at most 5 % late); shorter ones their own."""
_SLACK = 0.001
"""The shared timer is set this much past its tick: uvloop rounds a delay to the nearest
millisecond and reads its clock in milliseconds, so a timer set for the tick itself often
woke just before it, found nothing due and set itself again, several times a tick (about
100 wasted callbacks a second while blocks were pending)."""


class Deadline:
    """`with Deadline(seconds):` around awaits in a task; None waits until `move_to` says.
    Blocks nest as asyncio's do: each raises TimeoutError for its own expiry only."""

    __slots__ = ("_cancelling", "_delay", "_expired", "_handle", "_task", "_tick", "_wheel")

    def __init__(self, delay: float | None) -> None:
        self._delay = delay
        self._expired = False
        self._handle: asyncio.TimerHandle | None = None
        self._wheel: _Wheel | None = None

    def __enter__(self) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Deadline is for code running in a task")
        self._task = task
        self._cancelling = task.cancelling()
        delay = self._delay
        if delay is None:
            return
        loop = task.get_loop()
        if delay < COARSE:
            self._handle = loop.call_later(delay, self._expire)
            return
        last = _last  # inlined `_wheel(loop)`: two blocks per request and one per stream chunk
        wheel = last[1] if last is not None and last[0] is loop else _wheel(loop)
        self._tick = wheel.add(self, loop.time() + delay)
        self._wheel = wheel

    def move_to(self, when: float) -> None:
        """End the block at loop time `when` instead (the shutdown drain's deadline); once
        it has expired, nothing changes."""
        if self._expired:
            return
        self._leave_wheel()
        if self._handle is not None:
            self._handle.cancel()
        self._handle = asyncio.get_running_loop().call_at(when, self._expire)

    def _expire(self) -> None:
        self._expired = True
        self._task.cancel()

    def _leave_wheel(self) -> None:
        if self._wheel is not None:
            self._wheel.remove(self, self._tick)
            self._wheel = None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        wheel = self._wheel
        if wheel is not None:  # `_leave_wheel`, inlined
            wheel.remove(self, self._tick)
            self._wheel = None
        elif self._handle is not None:
            self._handle.cancel()
        if self._expired and self._task.uncancel() <= self._cancelling and kind is asyncio.CancelledError:
            raise TimeoutError from exc


class _Wheel:
    """One loop's long blocks by the tick they expire in, and one timer for the earliest
    tick. Blocks that left stay out of their tick's set; a tick that comes round empty
    costs one callback."""

    __slots__ = ("_armed", "_handle", "_loop", "_pending", "_ticks")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._ticks: dict[int, set[Deadline]] = {}
        self._pending: list[int] = []  # a heap of the keys of _ticks
        self._armed: int | None = None
        self._handle: asyncio.TimerHandle | None = None

    def add(self, block: Deadline, when: float) -> int:
        tick = math.ceil(when / GRAIN)
        blocks = self._ticks.get(tick)
        if blocks is None:
            blocks = self._ticks[tick] = set()
            heapq.heappush(self._pending, tick)
            if self._armed is None or tick < self._armed:
                self._arm(tick)
        blocks.add(block)
        return tick

    def remove(self, block: Deadline, tick: int) -> None:
        blocks = self._ticks.get(tick)
        if blocks is not None:
            blocks.discard(block)

    def _arm(self, tick: int) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed = tick
        self._handle = self._loop.call_at(tick * GRAIN + _SLACK, self._fire)

    def _fire(self) -> None:
        self._handle = self._armed = None
        now = self._loop.time()
        pending = self._pending
        while pending and pending[0] * GRAIN <= now:
            for block in self._ticks.pop(heapq.heappop(pending)):
                block._wheel = None
                block._expire()
        if pending:
            self._arm(pending[0])


_wheels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Wheel] = weakref.WeakKeyDictionary()
_last: tuple[asyncio.AbstractEventLoop, _Wheel] | None = None
"""The loop asked last and its wheel: a worker has one loop, so the dictionary is rarely
consulted (one tuple, so that threads with loops of their own never see a torn pair)."""


def _wheel(loop: asyncio.AbstractEventLoop) -> _Wheel:
    global _last
    last = _last
    if last is not None and last[0] is loop:
        return last[1]
    wheel = _wheels.get(loop)
    if wheel is None:
        wheel = _wheels[loop] = _Wheel(loop)
    _last = (loop, wheel)
    return wheel

"""The admin event stream's hub: finished requests and state changes, fanned out to every
`GET /admin/events` subscriber of this worker as server-sent event frames.

A `Feed` sink: `request`/`state` encode the record once and append the frame to each
subscriber's bounded buffer, never waiting. A subscriber whose buffer is full is dropped
(its stream ends) so a slow reader never slows a request. With a shared bus (Redis, see
`runtime.ops.bus`) each event is also published once for the other workers and instances,
whose hubs deliver it to their own subscribers, but only while the bus says a subscriber
elsewhere wants them; this worker's own events come straight from here, so no subscriber
sees one twice.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec

from runtime.ops.record import RequestRecord, StateEvent

BUFFER = 256
"""Frames a subscriber may fall behind by before it is dropped."""
KEEPALIVE = 15.0
KEEPALIVE_FRAME = b": keep-alive\n\n"

_encode = msgspec.json.Encoder().encode


def frame(name: str, data: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _encode(data) + b"\n\n"


def _nobody() -> bool:
    return False


class Subscriber:
    """One `GET /admin/events` client's buffer of frames not yet sent."""

    __slots__ = ("_frames", "_wake", "closed", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._frames: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self.closed = False

    def offer(self, data: bytes) -> bool:
        """Queue a frame; False (and the subscriber is closed) when it has fallen too far behind."""
        if self.closed:
            return False
        if len(self._frames) >= self.limit:
            self.close()
            return False
        self._frames.append(data)
        self._wake.set()
        return True

    def close(self) -> None:
        self.closed = True
        self._frames.clear()
        self._wake.set()

    async def next(self, keepalive: float) -> bytes | None:
        """The next frame, a keep-alive comment after `keepalive` seconds of silence, or None
        once the subscriber is closed."""
        if not self._frames and not self.closed:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), keepalive)
            except TimeoutError:
                return KEEPALIVE_FRAME
        if self.closed:
            return None
        return self._frames.popleft()


class EventHub:
    def __init__(self, *, buffer: int = BUFFER, keepalive: float = KEEPALIVE) -> None:
        self.buffer = buffer
        self.keepalive = keepalive
        self.subscribers: set[Subscriber] = set()
        self.dropped = 0
        """Subscribers disconnected for falling behind."""
        self.publish: Callable[[bytes], None] | None = None
        """Set by a shared bus: sends a frame to the other workers' hubs."""
        self.wanted_elsewhere: Callable[[], bool] = _nobody
        """Set by a shared bus: whether a subscriber on another worker listens."""

    def subscribe(self) -> Subscriber:
        sub = Subscriber(self.buffer)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        sub.close()

    @property
    def listening(self) -> bool:
        """Whether events are wanted at all: a local subscriber, or one elsewhere."""
        return bool(self.subscribers) or self.wanted_elsewhere()

    def deliver(self, data: bytes) -> None:
        """Hand one frame to every local subscriber (also what the bus calls for remote ones)."""
        for sub in tuple(self.subscribers):
            if not sub.offer(data):
                self.subscribers.discard(sub)
                self.dropped += 1

    def _send(self, data: bytes) -> None:
        self.deliver(data)
        if self.publish is not None and self.wanted_elsewhere():
            self.publish(data)

    def request(self, record: RequestRecord) -> None:
        if self.listening:
            self._send(frame("request", record))

    def state(self, event: StateEvent) -> None:
        if self.listening:
            self._send(frame("state", event))

    def close(self) -> None:
        """End every stream (shutdown)."""
        for sub in tuple(self.subscribers):
            self.unsubscribe(sub)

"""Fan-out of finished requests and state changes to whatever consumes them.

Publishing runs on the request path, so a sink's `request`/`state` must only hand the record
to its own bounded buffer; a sink that raises is counted and kept, never allowed to fail a
request."""

from __future__ import annotations

from typing import Protocol

from runtime.ops.record import RequestRecord, StateEvent


class Sink(Protocol):
    def request(self, record: RequestRecord) -> None: ...

    def state(self, event: StateEvent) -> None: ...


class Feed:
    __slots__ = ("errors", "sinks")

    def __init__(self) -> None:
        self.sinks: list[Sink] = []
        self.errors = 0
        """Exceptions raised by sinks (each is a bug in that sink; the request went on)."""

    @property
    def active(self) -> bool:
        return bool(self.sinks)

    def add(self, sink: Sink) -> None:
        self.sinks.append(sink)

    def remove(self, sink: Sink) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)

    def request(self, record: RequestRecord) -> None:
        for sink in self.sinks:
            try:
                sink.request(record)
            except Exception:
                self.errors += 1

    def state(self, event: StateEvent) -> None:
        for sink in self.sinks:
            try:
                sink.state(event)
            except Exception:
                self.errors += 1

"""Two stream machines in a row, the first's output the second's input: an Anthropic client
on an `openai-responses` step is Responses → Chat Completions → Anthropic (`stream_r2o`
then `stream_o2a`), one set of policies per hop, as the ingress composes R→O with O→A."""

from __future__ import annotations

from typing import Any, Protocol


class Machine(Protocol):
    @property
    def done(self) -> bool: ...
    @property
    def usage(self) -> Any: ...
    def start(self) -> bytes: ...
    def feed(self, chunk: bytes) -> bytes: ...
    def finish(self) -> bytes: ...
    def fail(self, error_type: str, message: str) -> bytes: ...
    def keepalive(self) -> bytes: ...


class Composed:
    """The same stream interface as either machine; what it returns is the second's output.
    `usage` is the second's (the client's shape); `fail` ends the second's stream."""

    def __init__(self, first: Machine, second: Machine) -> None:
        self._first = first
        self._second = second

    @property
    def done(self) -> bool:
        return self._second.done

    @property
    def usage(self) -> Any:
        return self._second.usage

    def start(self) -> bytes:
        return self._second.start() + self._second.feed(self._first.start())

    def feed(self, chunk: bytes) -> bytes:
        return self._second.feed(self._first.feed(chunk))

    def finish(self) -> bytes:
        return self._second.feed(self._first.finish()) + self._second.finish()

    def fail(self, error_type: str, message: str) -> bytes:
        return self._second.fail(error_type, message)

    def keepalive(self) -> bytes:
        return self._second.keepalive()

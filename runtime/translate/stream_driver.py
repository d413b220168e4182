"""The part both stream translators share: SSE framing in, one `_event` call per data payload.

Subclasses hold the protocol state machine; this class owns the parser, the `done` flag and
the rule that nothing is emitted after the stream has ended (a stop or an error).
"""

from __future__ import annotations

from runtime.translate.sse import SSEParser


class StreamDriver:
    def __init__(self) -> None:
        self._parser = SSEParser()
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def feed(self, chunk: bytes) -> bytes:
        """Client bytes for one upstream chunk (split anywhere); b"" once the stream has ended."""
        if self._done:
            return b""
        out = self._opening()
        for event in self._parser.feed(chunk):
            self._event(event.data, out)
            if self._done:
                break
        return b"".join(out)

    def finish(self) -> bytes:
        """Call at upstream EOF: a proper ending if the upstream finished, else an error."""
        if self._done:
            return b""
        out = self._opening()
        for event in self._parser.close():
            self._event(event.data, out)
            if self._done:
                return b"".join(out)
        self._eof(out)
        return b"".join(out)

    def _opening(self) -> list[bytes]:
        """Bytes owed before anything else (O→A: `message_start` if `start()` was skipped)."""
        return []

    def _event(self, data: str, out: list[bytes]) -> None:
        raise NotImplementedError

    def _eof(self, out: list[bytes]) -> None:
        raise NotImplementedError

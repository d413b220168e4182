"""Server-sent events: an incremental parser for upstream streams and encoders for client streams.

The parser follows the WHATWG event-stream rules (LF, CRLF or CR line ends, `:` comments,
multi-line `data`, one optional space after the colon) with one deliberate difference: `close()`
dispatches a final event that the upstream did not terminate with a blank line, because a
provider that drops the last `\\n\\n` has still sent its last chunk. It works on bytes and splits
lines before decoding, so a chunk boundary inside a multi-byte UTF-8 character is harmless:
`\\r` and `\\n` never occur inside one.
"""

from __future__ import annotations

import msgspec

_BOM = b"\xef\xbb\xbf"


class SSEEvent(msgspec.Struct, frozen=True):
    event: str | None
    """The `event:` name, None when the upstream sent none (OpenAI streams never do)."""
    data: str
    """The `data:` lines of the event joined with `\\n`."""
    id: str | None = None
    """This event's own `id:` field, if it had one."""


class SSEParser:
    """Turns upstream bytes, split anywhere, into complete events.

    One instance per upstream response; `feed` runs for every chunk on the hot path, so the
    common case (whole `data: …` lines) costs one split and a short loop.
    """

    __slots__ = ("_cr_pending", "_data", "_event", "_id", "_partial", "_started")

    def __init__(self) -> None:
        self._partial = b""
        self._cr_pending = False
        self._started = False
        self._event: str | None = None
        self._data: list[bytes] = []
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if not chunk:
            return []
        if self._cr_pending and chunk[:1] == b"\n":
            chunk = chunk[1:]  # the LF of a CRLF whose CR ended the previous chunk
        self._cr_pending = chunk[-1:] == b"\r"
        buf = self._partial + chunk if self._partial else chunk
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buf.split(b"\n")
        self._partial = lines.pop()
        return self._lines(lines)

    def close(self) -> list[SSEEvent]:
        """Flush at upstream EOF: an unterminated last line and an undispatched last event."""
        lines = [self._partial, b""] if self._partial else [b""]
        self._partial = b""
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        for line in lines:
            if not self._started:
                self._started = True
                if line.startswith(_BOM):
                    line = line[3:]
            if not line:
                if self._data:
                    data = b"\n".join(self._data).decode("utf-8", "replace")
                    out.append(SSEEvent(self._event, data, self._id))
                    self._data = []
                self._event = None
                self._id = None
            elif line[:6] == b"data: ":
                self._data.append(line[6:])
            elif line[:1] != b":":
                self._field(line)
        return out

    def _field(self, line: bytes) -> None:
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id" and b"\0" not in value:
            self._id = value.decode("utf-8", "replace")
        # `retry` and unknown fields are ignored, as the standard says


_EVENT_PREFIXES = {
    name: b"event: " + name.encode() + b"\ndata: "
    for name in (
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    )
}

OPENAI_DONE = b"data: [DONE]\n\n"
OPENAI_KEEPALIVE = b": keep-alive\n\n"


def anthropic_event(name: str, payload_json: bytes) -> bytes:
    """One named Anthropic event; the SDK drops events without an `event:` line (protocols §1.5)."""
    prefix = _EVENT_PREFIXES.get(name)
    if prefix is None:
        prefix = b"event: " + name.encode() + b"\ndata: "
    return prefix + payload_json + b"\n\n"


def openai_data(payload_json: bytes) -> bytes:
    return b"data: " + payload_json + b"\n\n"

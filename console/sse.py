"""Server-sent events framing, incremental: text arrives in arbitrary pieces (a network
read may end mid-line or mid-event), whole events come out."""

from __future__ import annotations


class SseParser:
    """Feed text as it arrives; get back every (event name, data) completed by it.

    Lines end in LF, CRLF or CR; a blank line ends an event; `data:` lines join with LF;
    comments (`: keep-alive`) and events without data are dropped; the name defaults to
    `message`, as in the WHATWG spec the browser's EventSource follows.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._name = ""
        self._data: list[str] = []

    def feed(self, text: str) -> list[tuple[str, str]]:
        self._buffer += text
        done: list[tuple[str, str]] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return done
            line, self._buffer = self._buffer[: cut[0]], self._buffer[cut[1] :]
            event = self._line(line)
            if event is not None:
                done.append(event)

    def _line(self, line: str) -> tuple[str, str] | None:
        if not line:
            event = (self._name or "message", "\n".join(self._data)) if self._data else None
            self._name, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._name = value
        elif field == "data":
            self._data.append(value)
        return None


def _line_end(buffer: str) -> tuple[int, int] | None:
    """Where the first line ends and the next starts; a CR at the very end may be half of
    a CRLF, so it waits for the next piece."""
    lf, cr = buffer.find("\n"), buffer.find("\r")
    if cr == -1 or -1 < lf < cr:
        return None if lf == -1 else (lf, lf + 1)
    if cr + 1 == len(buffer):
        return None
    return cr, cr + 2 if buffer[cr + 1] == "\n" else cr + 1

"""Log lines on stdout, one per event, built only when the level is on, written off the
request path.

A request never waits for stdout: `emit` formats the line and appends it to a bounded
queue; one writer thread drains the queue in batches. A reader that stops reading (a
stuck pipe, a paused `docker logs`) therefore stalls only that thread: once the queue is
full, new lines are dropped and counted, and when the writer gets through again it first
says how many were lost (`log lines dropped`); `close()` reports the total at shutdown.

Formats: `json` (one object per line, the default) or `text` (`2026-01-02T03:04:05.678Z
info request id=req_… status=200 …`, values with spaces quoted as JSON). Fields are passed
as keywords; callers pass fingerprints, never key values. Prompts appear only in the
request line and only with `server.log.prompts: true` (see `runtime.server.incoming.prompt`).
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import IO, Any

import msgspec

from runtime.artifact import LogConfig

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_encode = msgspec.json.Encoder().encode
CAPACITY = 10_000
"""Lines held while stdout is blocked; a line is a few hundred bytes, so a few MB at most."""
LINGER = 0.02
"""Seconds the writer lets lines gather after the first one wakes it: under load one wake-up
(one GIL hand-over, one write) per batch instead of per line."""
SAFETY_WAKE = 1.0
"""The writer looks at least this often, for a line appended just as it emptied the queue."""


_BARE = re.compile(r'[^\s"=\\\x00-\x1f\x7f]+')
"""A text value written as is: no space or line break of any kind, quote, `=`, backslash or
control character. Anything else is JSON-quoted, its control characters escaped, so a
client-chosen value (a model name with a carriage return) cannot start a forged line."""


def _text_value(value: Any) -> bytes:
    if isinstance(value, str) and _BARE.fullmatch(value):
        return value.encode()
    return _encode(value)


def text_line(ts: float, level: str, msg: str, fields: dict[str, Any]) -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"
    parts = [stamp.encode(), level.encode(), _text_value(msg)]
    parts += [k.encode() + b"=" + _text_value(v) for k, v in fields.items() if v is not None]
    return b" ".join(parts) + b"\n"


def json_line(ts: float, level: str, msg: str, fields: Mapping[str, Any]) -> bytes:
    return _encode({"ts": round(ts, 3), "level": level, "msg": msg, **fields}) + b"\n"


class _Head(msgspec.Struct):
    ts: float
    level: str
    msg: str


def struct_line(ts: float, level: str, msg: str, fields: msgspec.Struct) -> bytes:
    """`json_line` of a plain struct's fields, byte for byte, without building a dict: for
    the line written per request (a struct built positionally costs half the dict)."""
    head = _encode(_Head(round(ts, 3), level, msg))
    body = _encode(fields)
    if body == b"{}":
        return head + b"\n"
    return head[:-1] + b"," + body[1:] + b"\n"


class _Writer:
    """The one thread that touches stdout; everything else only appends to `lines`."""

    def __init__(self, out: IO[bytes], capacity: int) -> None:
        self.out = out
        self.capacity = capacity
        self.lines: deque[bytes] = deque()
        self.dropped = 0
        self._reported = 0
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="relay-log", daemon=True)
        self._thread.start()

    def put(self, line: bytes) -> None:
        lines = self.lines
        if len(lines) >= self.capacity:
            self.dropped += 1
            return
        first = not lines
        lines.append(line)
        if first:
            self._wake.set()

    def _run(self) -> None:
        while True:
            if not self.lines and not self._closing:
                self._wake.wait(SAFETY_WAKE)
            self._wake.clear()
            if self.lines and not self._closing:
                time.sleep(LINGER)
            batch = [self.lines.popleft() for _ in range(len(self.lines))]
            if batch:
                self._write(b"".join(batch))
            lost = self.dropped - self._reported
            if lost:
                self._reported += lost
                self._write(_drop_line("log lines dropped: stdout was not being read", lost, self.dropped))
            if self._closing and not self.lines:
                if self.dropped:
                    self._write(_drop_line("log lines dropped in all", self.dropped, self.dropped))
                return

    def _write(self, data: bytes) -> None:
        try:
            self.out.write(data)
            self.out.flush()
        except (OSError, ValueError):
            pass  # a closed stdout must never fail a request

    def close(self, timeout: float) -> bool:
        """Flush what is queued (waiting at most `timeout`); False if stdout stayed blocked."""
        self._closing = True
        self._wake.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()


def _drop_line(msg: str, lost: int, total: int) -> bytes:
    record = {"ts": round(time.time(), 3), "level": "warning", "msg": msg, "dropped": lost, "total": total}
    return _encode(record) + b"\n"


class Log:
    def __init__(
        self,
        level: str = "info",
        out: IO[bytes] | None = None,
        *,
        format: str = "json",
        prompts: bool = False,
        capacity: int = CAPACITY,
    ) -> None:
        self._threshold = _LEVELS.get(level, 20)
        self.text = format == "text"
        self.prompts = prompts
        """Whether the request line carries the prompt (`server.log.prompts`)."""
        self._writer = _Writer(out or sys.stdout.buffer, capacity)

    @classmethod
    def from_config(cls, config: LogConfig, out: IO[bytes] | None = None) -> Log:
        return cls(config.level, out, format=config.format, prompts=config.prompts)

    def configure(self, config: LogConfig) -> None:
        """A reload may change level, format and prompts; the queue and its counts stay."""
        self._threshold = _LEVELS.get(config.level, 20)
        self.text = config.format == "text"
        self.prompts = config.prompts

    def set_level(self, level: str) -> None:
        self._threshold = _LEVELS.get(level, 20)

    @property
    def dropped(self) -> int:
        return self._writer.dropped

    def enabled(self, level: str) -> bool:
        return _LEVELS[level] >= self._threshold

    def emit(self, level: str, msg: str, **fields: Any) -> None:
        if _LEVELS[level] < self._threshold:
            return
        ts = time.time()
        self._writer.put(
            text_line(ts, level, msg, fields) if self.text else json_line(ts, level, msg, fields)
        )

    def emit_struct(
        self, level: str, msg: str, fields: msgspec.Struct, extra: Mapping[str, Any] | None = None
    ) -> None:
        """`emit` with the fields of a plain struct (no `omit_defaults`, `rename` or
        `array_like`), then `extra`'s: the same line, and in JSON without a dict per line."""
        if _LEVELS[level] < self._threshold:
            return
        if self.text or extra:
            self.emit(level, msg, **msgspec.structs.asdict(fields), **(extra or {}))
        else:
            self._writer.put(struct_line(time.time(), level, msg, fields))

    def info(self, msg: str, **fields: Any) -> None:
        self.emit("info", msg, **fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self.emit("warning", msg, **fields)

    def error(self, msg: str, **fields: Any) -> None:
        self.emit("error", msg, **fields)

    def close(self, timeout: float = 2.0) -> bool:
        """Worker shutdown: flush, and say how many lines were lost in all (if any)."""
        return self._writer.close(timeout)

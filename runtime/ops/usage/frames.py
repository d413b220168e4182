"""What a worker and its usage writer process say to each other: length-prefixed msgpack.

Worker to writer (its stdin): one `Config` first (and again when a reload changes the
retention), then `Batch`es of rows in `schema.COLUMNS` order. Writer to worker (its stdout):
a `Report` after each batch is written and when the store starts failing. A frame is a
4-byte big-endian length and a msgpack body, so either side reads whole messages from a pipe.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO, Any

import msgspec

HEADER = struct.Struct(">I")
PACKAGE_ROOT = Path(__file__).resolve().parents[3]
"""The folder holding `runtime`: a worker's usage processes run from there, so they run this
code whether or not relay is installed."""


class Config(msgspec.Struct, tag=True, frozen=True):
    url: str
    retention: float


class Batch(msgspec.Struct, tag=True, frozen=True):
    rows: list[tuple[Any, ...]]


class Report(msgspec.Struct, frozen=True):
    written: int
    """Rows this writer process has written so far."""
    failing: str | None = None
    """Why the store is failing (one line), None while it writes."""


ToWriter = Config | Batch
_encode = msgspec.msgpack.Encoder().encode
_to_writer = msgspec.msgpack.Decoder(ToWriter)
_report = msgspec.msgpack.Decoder(Report)


def frame(message: ToWriter | Report) -> bytes:
    body = _encode(message)
    return HEADER.pack(len(body)) + body


def _exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def read_message(stream: IO[bytes]) -> ToWriter | None:
    """The writer's next message (blocking); None at the end of the stream (the worker
    closed it or died: a frame cut short counts as the end too)."""
    header = _exactly(stream, HEADER.size)
    body = None if header is None else _exactly(stream, HEADER.unpack(header)[0])
    return None if body is None else _to_writer.decode(body)


class Reports:
    """The worker's side of the writer's stdout: bytes as non-blocking reads bring them,
    whole reports out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Report]:
        buf = self._buffer
        buf += data
        found: list[Report] = []
        while len(buf) >= HEADER.size:
            (size,) = HEADER.unpack_from(buf)
            if len(buf) < HEADER.size + size:
                break
            found.append(_report.decode(bytes(buf[HEADER.size : HEADER.size + size])))
            del buf[: HEADER.size + size]
        return found

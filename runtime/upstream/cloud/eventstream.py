"""The AWS event-stream binary framing (`application/vnd.amazon.eventstream`), both ways.

Bedrock streams a response as a sequence of messages, each:

    total length (u32) | headers length (u32) | prelude CRC32 (u32) | headers | payload | message CRC32 (u32)

with big-endian integers, CRC32 as zlib computes it, and headers as `name length (u8) | name |
type (u8) | value`. Decoding is incremental (`Decoder.feed` takes bytes as they arrive and
returns the complete messages); a bad CRC or an impossible length raises `FrameError`, since a
stream that lost its framing cannot be resynchronised. Bedrock repeats the same few header
blocks for every message, so a decoded block is remembered and reused by its bytes.
`encode` is the inverse, used by the test fakes and benchmarks (and checked against botocore's
own decoder in the tests).
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Mapping
from typing import NamedTuple

HeaderValue = bool | int | bytes | str | uuid.UUID
Headers = Mapping[str, HeaderValue]

_PRELUDE = struct.Struct(">III")
_U32 = struct.Struct(">I")
_MAX_MESSAGE = 16 * 1024 * 1024
"""AWS caps a message at 16 MiB; anything larger is a corrupted length, not a big event."""
_MIN_MESSAGE = _PRELUDE.size + 4

_INTS = {2: struct.Struct(">b"), 3: struct.Struct(">h"), 4: struct.Struct(">i"), 5: struct.Struct(">q")}
_TIMESTAMP = 8
_LEN16 = struct.Struct(">H")


class FrameError(Exception):
    """The bytes are not a well-formed event stream (bad CRC, length or header)."""


class Message(NamedTuple):
    headers: Mapping[str, HeaderValue]
    """Shared between messages with the same header block: read it, never change it."""
    payload: bytes


def _value(buf: bytes, pos: int, kind: int) -> tuple[HeaderValue, int]:
    if kind in (0, 1):
        return kind == 0, pos
    if kind in _INTS:
        fmt = _INTS[kind]
        return fmt.unpack_from(buf, pos)[0], pos + fmt.size
    if kind in (6, 7):
        (size,) = _LEN16.unpack_from(buf, pos)
        raw = buf[pos + 2 : pos + 2 + size]
        if len(raw) != size:
            raise FrameError("header value runs past the header block")
        return (raw.decode("utf-8") if kind == 7 else raw), pos + 2 + size
    if kind == _TIMESTAMP:
        return _INTS[5].unpack_from(buf, pos)[0], pos + 8
    if kind == 9:
        return uuid.UUID(bytes=buf[pos : pos + 16]), pos + 16
    raise FrameError(f"unknown header value type {kind}")


def decode_headers(block: bytes) -> dict[str, HeaderValue]:
    out: dict[str, HeaderValue] = {}
    pos = 0
    try:
        while pos < len(block):
            size = block[pos]
            name = block[pos + 1 : pos + 1 + size].decode("utf-8")
            value, pos = _value(block, pos + 2 + size, block[pos + 1 + size])
            out[name] = value
    except (IndexError, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise FrameError(f"malformed header block: {type(exc).__name__}") from None
    if pos != len(block):
        raise FrameError("header value runs past the header block")
    return out


class Decoder:
    """Incremental: feed bytes as they arrive, get the messages they complete."""

    __slots__ = ("_buf", "_known")

    def __init__(self) -> None:
        self._buf = b""
        self._known: dict[bytes, dict[str, HeaderValue]] = {}

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message held back."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message]:
        buf = self._buf + data if self._buf else data
        out: list[Message] = []
        pos = 0
        while len(buf) - pos >= _MIN_MESSAGE:
            total, head_len, prelude_crc = _PRELUDE.unpack_from(buf, pos)
            if zlib.crc32(buf[pos : pos + 8]) != prelude_crc:
                raise FrameError("prelude CRC mismatch")
            if not _MIN_MESSAGE + head_len <= total <= _MAX_MESSAGE:
                raise FrameError(f"impossible message length {total}")
            end = pos + total
            if end > len(buf):
                break
            (crc,) = _U32.unpack_from(buf, end - 4)
            if zlib.crc32(buf[pos : end - 4]) != crc:
                raise FrameError("message CRC mismatch")
            start = pos + _PRELUDE.size
            block = buf[start : start + head_len]
            headers = self._known.get(block)
            if headers is None:
                headers = decode_headers(block)
                if len(self._known) < 32:
                    self._known[block] = headers
            out.append(Message(headers, buf[start + head_len : end - 4]))
            pos = end
        self._buf = buf[pos:]
        return out


def _encode_value(value: HeaderValue) -> bytes:
    if isinstance(value, bool):
        return bytes([0 if value else 1])
    if isinstance(value, int):
        return b"\x04" + _INTS[4].pack(value)
    if isinstance(value, uuid.UUID):
        return b"\x09" + value.bytes
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return (b"\x07" if isinstance(value, str) else b"\x06") + _LEN16.pack(len(raw)) + raw


def encode_headers(headers: Headers) -> bytes:
    parts = []
    for name, value in headers.items():
        raw = name.encode("utf-8")
        parts.append(bytes([len(raw)]) + raw + _encode_value(value))
    return b"".join(parts)


def encode(headers: Headers, payload: bytes) -> bytes:
    """One message (int header values are written as int32)."""
    block = encode_headers(headers)
    total = _MIN_MESSAGE + len(block) + len(payload)
    prelude = _U32.pack(total) + _U32.pack(len(block))
    prelude += _U32.pack(zlib.crc32(prelude))
    body = prelude + block + payload
    return body + _U32.pack(zlib.crc32(body))

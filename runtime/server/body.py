"""Reading one request body: bounded in size, time and memory, gzip decoded, never
mistaken for something else.

- Size: `max_body_bytes`, checked against Content-Length before reading and while reading
  (chunked bodies), and again after decoding gzip (a zip bomb is a 413 once it passes the
  limit, not a gigabyte in memory). A body larger than all of `max_body_memory` is a 413 too.
- Time: the whole body within `connections.body_timeout` once relay starts reading it; a
  body trickled slower than that is a 408 (and Granian closes the connection, since the
  rest of the body is never read).
- Memory: `runtime.server.body_budget`; a request waits up to `connections.body_timeout` for room
  (its body stays unread meanwhile), then gets a 503 (529 to Anthropic clients) with
  retry-after, which the SDKs retry. A chunked body reserves as it arrives, inside its
  body time.
- Framing: a body with a Content-Length (nearly all) is taken in one await of Granian's
  `proto()`, which raises `ProtocolClosed` when the connection closes before that many
  bytes came; a chunked one through Granian's body iterator, which ends with one empty
  chunk, so a broken chunked encoding shows as an empty chunk that is not the last. Either
  is a 400 saying so, not "JSON truncated".
- Encoding: `Content-Encoding: gzip` (or `deflate`) is decoded; any other coding is a 415.
"""

from __future__ import annotations

import zlib
from typing import Any

from granian.rsgi import ProtocolClosed  # type: ignore[attr-defined]  # public, re-exported without __all__

from runtime.artifact import Server
from runtime.deadline import Deadline
from runtime.errors import BadRequest, Overloaded, PayloadTooLarge, RequestTimeout, UnsupportedMediaType
from runtime.server.body_budget import Hold

_DECODED = frozenset({"gzip", "x-gzip", "deflate"})
_MALFORMED = (
    "request body is malformed: invalid chunked encoding, or the connection closed before "
    "the body was complete"
)


async def read_body(proto: Any, headers: Any, server: Server, hold: Hold) -> bytes:
    coding = (headers.get("content-encoding") or "identity").strip().lower()
    if coding not in _DECODED and coding != "identity":
        raise UnsupportedMediaType(
            f"Content-Encoding {coding!r} is not supported: send the body as is, or gzip it"
        )
    limit = min(server.max_body_bytes, server.max_body_memory)
    timeout = server.connections.body_timeout
    declared = _declared(headers, server)
    if declared and not hold.try_grow(declared):
        try:
            with Deadline(timeout):
                await hold.grow(declared)
        except TimeoutError:
            raise Overloaded(
                "relay is holding as many request bodies as server.max_body_memory allows; retry shortly",
                retry_after=1.0,
            ) from None
    try:
        with Deadline(timeout):
            body = await _receive(proto, hold, declared, limit)
            if coding in _DECODED:
                body = await _decode(body, hold, limit)
    except TimeoutError:
        raise RequestTimeout(
            f"the request body did not arrive within {timeout:g}s (server.connections.body_timeout)"
        ) from None
    return body


def _declared(headers: Any, server: Server) -> int | None:
    value = headers.get("content-length")
    if value is None or not value.isdigit():
        return None
    size = int(value)
    if size > server.max_body_bytes:
        raise PayloadTooLarge(f"request body of {size} bytes exceeds the {server.max_body_bytes}-byte limit")
    if size > server.max_body_memory:
        raise PayloadTooLarge(
            f"request body of {size} bytes exceeds server.max_body_memory ({server.max_body_memory})"
        )
    return size


async def _receive(proto: Any, hold: Hold, declared: int | None, limit: int) -> bytes:
    if declared is not None:  # reserved, and within the limits, already
        try:
            body: bytes = await proto()  # one await for the whole body: no iterator, no chunk list
        except ProtocolClosed:  # cut short: Granian's iterator would end early
            raise BadRequest(_MALFORMED) from None
        if len(body) != declared:
            raise BadRequest(_MALFORMED)
        return body
    parts: list[bytes] = []
    size = 0
    ended = False
    async for chunk in proto:
        if ended:
            raise BadRequest(_MALFORMED)
        if not chunk:
            ended = True
            continue
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the {limit}-byte limit")
        await hold.grow(len(chunk))
        parts.append(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


async def _decode(body: bytes, hold: Hold, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib, detected from the header
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise BadRequest("request body is not valid gzip/deflate data") from None
    if len(out) > limit:
        raise PayloadTooLarge(f"request body decompresses to more than the {limit}-byte limit")
    if not inflater.eof:
        raise BadRequest("request body is truncated gzip/deflate data")
    await hold.grow(len(out))
    return out

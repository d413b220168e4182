"""The same minimal JSON endpoint as an RSGI and as an ASGI app, for interface_bench.py."""

from __future__ import annotations

from typing import Any

BODY = b'{"id":"x","object":"chat.completion","choices":[]}'
HEADERS = [("content-type", "application/json")]


CHUNK = b'data: {"choices":[{"index":0,"delta":{"content":"token"}}]}\n\n'
STREAM_CHUNKS = 20


async def rsgi(scope: Any, proto: Any) -> None:
    await proto()
    if scope.path == "/stream":
        transport = proto.response_stream(200, [("content-type", "text/event-stream")])
        for _ in range(STREAM_CHUNKS):
            await transport.send_bytes(CHUNK)
        return
    proto.response_bytes(200, HEADERS, BODY)


async def asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if scope["path"] == "/stream":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for _ in range(STREAM_CHUNKS):
            await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": BODY})

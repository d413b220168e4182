"""A minimal, fast fake upstream for benchmarks: Granian RSGI answering a fixed OpenAI body
or a short SSE stream, so the relay (not the fake) is what the numbers measure.

Run: python -m benchmarks.upstream_server PORT
"""

from __future__ import annotations

import sys
from typing import Any

BODY = (
    b'{"id":"chatcmpl-b","object":"chat.completion","created":1,"model":"bench-up","choices":[{"index":0,'
    b'"message":{"role":"assistant","content":"ok"},"finish_reason":"stop","logprobs":null}],'
    b'"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}'
)
CHUNKS = [
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-up","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n',
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-up","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}\n\n',
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-up","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    b"data: [DONE]\n\n",
]


async def app(scope: Any, proto: Any) -> None:
    if scope.proto != "http":
        return
    body = await proto()
    if b'"stream":true' in body or b'"stream": true' in body:
        transport = proto.response_stream(200, [("content-type", "text/event-stream")])
        for chunk in CHUNKS:
            await transport.send_bytes(chunk)
        return
    proto.response_bytes(200, [("content-type", "application/json")], BODY)


if __name__ == "__main__":
    from granian.constants import Interfaces, Loops
    from granian.server import MPServer

    MPServer(
        "benchmarks.upstream_server:app",
        address="127.0.0.1",
        port=int(sys.argv[1]),
        interface=Interfaces.RSGI,
        loop=Loops.uvloop,
        log_enabled=False,
    ).serve()

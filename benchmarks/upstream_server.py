"""A minimal, fast fake upstream for benchmarks: Granian RSGI answering a fixed OpenAI body
or a short SSE stream, so the relay (not the fake) is what the numbers measure.

Faults, for availability benchmarks: `POST /_faults` with `{"seed": 1, "fail_rate": 0.1,
"fail_status": 503, "script": {"10": 500}}` restarts the request count and answers the n-th
request (from 1) with `script[n]` if set, else `fail_status` with probability `fail_rate`
(a `random.Random(seed)` draw per request, so two servers given the same settings fail the
same requests); `GET /_faults` returns `{"requests": n, "failed": k}`. Off by default.

Long streams, for what each streamed event costs: `--chunks N` puts N content chunks
between the first and the last, `--gap-ms G` waits G ms before each chunk (tokens arrive
apart, so each is a read of its own, as from a real model).

Run: python -m benchmarks.upstream_server PORT [--chunks N] [--gap-ms G]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
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
JSON = [("content-type", "application/json")]
STREAM_ENV = "BENCH_UPSTREAM_STREAM"
"""`N,G` (content chunks, ms before each) from the command line to the worker Granian forks."""


def _stream_shape() -> tuple[list[bytes], float]:
    """The stream's parts and the seconds before each: the fixed 4-part stream unless
    `--chunks` asked for another."""
    shape = os.environ.get(STREAM_ENV)
    if not shape:
        return CHUNKS, 0.0
    count, gap = shape.split(",")
    return [CHUNKS[0], *[CHUNKS[1]] * int(count), *CHUNKS[2:]], float(gap) / 1000


PARTS, GAP = _stream_shape()


class Faults:
    """Which requests fail; one instance per server process (run it with one worker)."""

    def __init__(self) -> None:
        self.configure({})

    def configure(self, settings: dict[str, Any]) -> None:
        self.rng = random.Random(settings.get("seed", 0))
        self.rate = float(settings.get("fail_rate", 0.0))
        self.status = int(settings.get("fail_status", 503))
        self.script = {int(n): int(status) for n, status in settings.get("script", {}).items()}
        self.requests = 0
        self.failed = 0

    def next_status(self) -> int:
        self.requests += 1
        drawn = self.rng.random()
        status = self.script.get(self.requests) or (self.status if drawn < self.rate else 200)
        self.failed += status != 200
        return status

    def stats(self) -> bytes:
        return json.dumps({"requests": self.requests, "failed": self.failed}).encode()


FAULTS = Faults()


def error_body(status: int) -> bytes:
    kind = "authentication_error" if status == 401 else "server_error"
    return json.dumps({"error": {"message": f"injected {status}", "type": kind}}).encode()


async def app(scope: Any, proto: Any) -> None:
    if scope.proto != "http":
        return
    body = await proto()
    if scope.path == "/_faults":
        if scope.method == "POST":
            FAULTS.configure(json.loads(body or b"{}"))
        proto.response_bytes(200, JSON, FAULTS.stats())
        return
    status = FAULTS.next_status()
    if status != 200:
        proto.response_bytes(status, JSON, error_body(status))
        return
    if b'"stream":true' in body or b'"stream": true' in body:
        transport = proto.response_stream(200, [("content-type", "text/event-stream")])
        for chunk in PARTS:
            if GAP:
                await asyncio.sleep(GAP)
            await transport.send_bytes(chunk)
        return
    proto.response_bytes(200, JSON, BODY)


if __name__ == "__main__":
    from granian.constants import Interfaces, Loops
    from granian.server import MPServer

    parser = argparse.ArgumentParser(prog="python -m benchmarks.upstream_server")
    parser.add_argument("port", type=int)
    parser.add_argument(
        "--chunks", type=int, help="content chunks per stream (default: the fixed 4-part stream)"
    )
    parser.add_argument("--gap-ms", type=float, default=0.0, help="ms before each chunk of a long stream")
    args = parser.parse_args()
    if args.chunks is not None:
        os.environ[STREAM_ENV] = f"{args.chunks},{args.gap_ms}"
    MPServer(
        "benchmarks.upstream_server:app",
        address="127.0.0.1",
        port=args.port,
        interface=Interfaces.RSGI,
        loop=Loops.uvloop,
        log_enabled=False,
        workers=1,
    ).serve()

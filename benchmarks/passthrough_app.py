"""The least a Python relay can be: Granian RSGI (uvloop, HTTP/1.1, 1 worker, as `relay
run` serves) in front of one pooled aiohttp session that forwards the body and streams the
answer back. `benchmarks.overhead` measures relay against it, so "relay's overhead" is what
relay adds beyond this, not what Python and Granian cost.

    python -m benchmarks.passthrough_app PORT UPSTREAM_BASE_URL
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import aiohttp

UPSTREAM_ENV = "BENCH_PASSTHROUGH_UPSTREAM"


class PassThrough:
    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None
        self.base = ""

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.base = os.environ[UPSTREAM_ENV]

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if self.session is None:  # aiohttp wants the running loop: made by the first request
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        body = await proto()
        async with self.session.post(
            self.base + scope.path, data=body, headers={"content-type": "application/json"}
        ) as resp:
            kind = resp.headers.get("content-type", "application/json")
            if kind.startswith("text/event-stream"):
                transport = proto.response_stream(resp.status, [("content-type", kind)])
                async for chunk in resp.content.iter_any():
                    await transport.send_bytes(chunk)
                return
            proto.response_bytes(resp.status, [("content-type", kind)], await resp.read())


app = PassThrough()

if __name__ == "__main__":
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.server import MPServer

    os.environ[UPSTREAM_ENV] = sys.argv[2]
    MPServer(
        "benchmarks.passthrough_app:app",
        address="127.0.0.1",
        port=int(sys.argv[1]),
        interface=Interfaces.RSGI,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        log_enabled=False,
        log_access=False,
        workers=1,
    ).serve()

"""Why aiohttp is the hot-path upstream client: CPU per request, httpx vs aiohttp.

Both clients send the same POST to the same local fake upstream (benchmarks/upstream_server.py),
sequentially, in one process with uvloop; the figure is process CPU time per request, which
is what a relay worker spends on the client side of each upstream call. Re-run when either
library changes:

    python -m benchmarks.client_bench [REQUESTS]
"""

from __future__ import annotations

import subprocess
import sys
import time

import aiohttp
import httpx
import uvloop

from benchmarks.common import free_port, wait_port

BODY = b'{"model":"bench-up","messages":[{"role":"user","content":"hi"}]}'
HEADERS = {"content-type": "application/json", "authorization": "Bearer bench"}


async def _httpx(url: str, n: int) -> float:
    async with httpx.AsyncClient() as client:
        await client.post(url, content=BODY, headers=HEADERS)
        start = time.process_time()
        for _ in range(n):
            (await client.post(url, content=BODY, headers=HEADERS)).read()
        return (time.process_time() - start) / n


async def _aiohttp(url: str, n: int) -> float:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=BODY, headers=HEADERS) as resp:
            await resp.read()
        start = time.process_time()
        for _ in range(n):
            async with session.post(url, data=BODY, headers=HEADERS) as resp:
                await resp.read()
        return (time.process_time() - start) / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "benchmarks.upstream_server", str(port)])
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        for name, fn in (("httpx (default transport)", _httpx), ("aiohttp ClientSession", _aiohttp)):
            cpu = uvloop.run(fn(url, n))
            print(f"{name:28s} {cpu * 1e6:8.0f} µs CPU per request ({n} sequential requests)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()

"""Relay under abuse, measured from outside on loopback, bounded in count and time.

- Idle connections: `--idle` sockets that never send a byte and `--trickle` that trickle a
  body at 1 byte per 5 s, opened at once: normal requests' latency before and while they
  are held, and when relay closed them (`connections.header_timeout` / `body_timeout`).
- Large bodies: relay RSS (main + worker) at rest, at the peak of 20 concurrent 30 MB
  bodies, and after; the same for one translated request with a 20 MB string field.
- Soak (`--soak` seconds, 0 skips it): RSS every minute at `--rate` requests/s (plain,
  streamed, a chain whose first step is down, a 30 MB body every 30 s) with the idle
  sockets held throughout (reopened as relay closes them); failed requests counted.

    python -m benchmarks.abuse_bench [--idle 2000] [--trickle 200] [--soak 600] [--rate 100]

CI never runs this script; docs/performance.md quotes its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import socket
import time
from collections.abc import Awaitable, Callable

import aiohttp
import uvloop

from benchmarks.common import free_port, relay_stack
from benchmarks.relay_bench import memory_mb, pct

DEFS = """\
version: 1
server:
  connections: {{header_timeout: 10s, body_timeout: 20s}}
providers:
  up:
    api: openai
    base_url: http://127.0.0.1:{port}/v1
    keys: ["${{BENCH_UPSTREAM_KEY}}"]
  down:
    api: openai
    base_url: http://127.0.0.1:{dead}/v1
    keys: ["${{BENCH_UPSTREAM_KEY}}"]
chains:
  bench:
    steps: [up/bench-up]
  faulty:
    steps: [down/nothing, up/bench-up]
"""
SMALL = b'{"model":"bench","messages":[{"role":"user","content":"hi"}]}'
STREAM = b'{"model":"bench","stream":true,"messages":[{"role":"user","content":"hi"}]}'
FAULTY = b'{"model":"faulty","messages":[{"role":"user","content":"hi"}]}'
JSON = {"content-type": "application/json"}
MB = 1024 * 1024


def big_body(size: int, model: str = "bench") -> bytes:
    return b'{"model":"%s","messages":[{"role":"user","content":"%s"}]}' % (model.encode(), b"x" * size)


def translated_body(size: int) -> bytes:
    """Anthropic format to an OpenAI upstream: relay decodes every field to translate it."""
    return b'{"model":"bench","max_tokens":5,"messages":[{"role":"user","content":"%s"}]}' % (b"y" * size)


class Bench:
    def __init__(self, url: str, relay_pid: int) -> None:
        self.url = url
        self.pid = relay_pid
        self.session: aiohttp.ClientSession
        self.failed = 0
        self.busy = 0
        """Answered 503 "retry shortly" (no room in `max_body_memory`): by design, not failed."""

    async def post(self, path: str, body: bytes, timeout: float = 30.0) -> float:
        """Latency in ms; a failure counts and returns -1."""
        t0 = time.perf_counter()
        try:
            async with self.session.post(
                self.url + path, data=body, headers=JSON, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        if status in (503, 529):
            self.busy += 1
        elif status != 200:
            self.failed += 1
        return (time.perf_counter() - t0) * 1000 if status == 200 else -1.0

    async def latencies(self, rate: float, seconds: float) -> list[float]:
        async def one(i: int) -> float:
            await asyncio.sleep(i / rate)
            return await self.post("/v1/chat/completions", SMALL)

        return list(await asyncio.gather(*(one(i) for i in range(int(rate * seconds)))))

    def rss(self) -> float:
        return memory_mb(self.pid)[0]


async def open_idle(port: int, count: int) -> list[socket.socket]:
    loop = asyncio.get_running_loop()
    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        socks.append(sock)
    return socks


def closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536, socket.MSG_PEEK) == b"" or _drain(sock)
    except BlockingIOError:
        return False
    except OSError:
        return True


def _drain(sock: socket.socket) -> bool:
    """An answer arrived (a 408 for a trickled body): read it; the close follows."""
    sock.recv(65536)
    return False


async def trickle(socks: list[socket.socket], stop: asyncio.Event) -> None:
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
    for sock in socks:
        sock.send(head)
    while not stop.is_set():
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.send(b" ")
        await wait_or(stop, 5.0)


async def wait_or(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


async def until_closed(socks: list[socket.socket], t0: float, limit: float) -> float | None:
    """Seconds from `t0` until relay closed every socket, None past `limit`."""
    while time.monotonic() - t0 < limit:
        if all([closed(s) for s in socks]):  # a list: every socket is read each round
            return time.monotonic() - t0
        await asyncio.sleep(0.25)
    return None


async def idle_section(bench: Bench, port: int, idle: int, trickling: int) -> None:
    before = await bench.latencies(20, 5)
    t0 = time.monotonic()
    silent = await open_idle(port, idle)
    slow = await open_idle(port, trickling)
    stop = asyncio.Event()
    trickler = asyncio.create_task(trickle(slow, stop))
    during = await bench.latencies(20, 5)
    held_rss = bench.rss()
    silent_closed = await until_closed(silent, t0, 40)
    slow_closed = await until_closed(slow, t0, 60)
    stop.set()
    await trickler
    for sock in silent + slow:
        sock.close()
    print(
        f"idle: {idle} silent + {trickling} trickling connections held; normal requests p50/p99 "
        f"{pct(before, 0.5):.1f}/{pct(before, 0.99):.1f} ms before, {pct(during, 0.5):.1f}/{pct(during, 0.99):.1f} ms "
        f"while held ({sum(1 for x in during if x < 0)} of {len(during)} failed); relay RSS {held_rss:.0f} MB while held"
    )
    print(
        f"idle: relay closed all silent ones {_secs(silent_closed)}, all trickling ones {_secs(slow_closed)}"
    )


def _secs(value: float | None) -> str:
    return "not within the bound" if value is None else f"{value:.1f} s after they opened"


async def sampled_peak(bench: Bench, work: Awaitable[object]) -> float:
    peak = bench.rss()
    task = asyncio.ensure_future(work)
    while not task.done():
        peak = max(peak, bench.rss())
        await asyncio.sleep(0.05)
    await task
    return peak


async def settle(bench: Bench, seconds: float = 3.0) -> float:
    await asyncio.sleep(seconds)
    return bench.rss()


async def memory_section(bench: Bench) -> None:
    base = bench.rss()
    body = big_body(30 * MB)
    burst = asyncio.gather(*(bench.post("/v1/chat/completions", body, timeout=120) for _ in range(20)))
    failed, busy = bench.failed, bench.busy
    peak = await sampled_peak(bench, burst)
    after = await settle(bench)
    print(
        f"memory: 20 x 30 MB bodies at once: RSS {base:.0f} MB before, {peak:.0f} MB peak, {after:.0f} MB after "
        f"({bench.failed - failed} failed, {bench.busy - busy} answered 503 retry-later)"
    )
    base = after
    peak = await sampled_peak(bench, bench.post("/v1/messages", translated_body(20 * MB), timeout=120))
    after = await settle(bench)
    print(
        f"memory: one translated request with a 20 MB string: RSS {base:.0f} MB before, {peak:.0f} MB peak, "
        f"{after:.0f} MB after"
    )


async def soak_section(bench: Bench, port: int, idle: int, seconds: float, rate: float) -> None:
    stop = asyncio.Event()
    held: list[socket.socket] = await open_idle(port, idle)

    async def keep_idle() -> None:
        while not stop.is_set():
            for i, sock in enumerate(held):
                if closed(sock):
                    sock.close()
                    held[i] = (await open_idle(port, 1))[0]
            await wait_or(stop, 2.0)

    async def big_every(period: float) -> None:
        body = big_body(30 * MB)
        while not stop.is_set():
            await bench.post("/v1/chat/completions", body, timeout=120)
            await wait_or(stop, period)

    kinds: list[Callable[[], Awaitable[float]]] = [
        lambda: bench.post("/v1/chat/completions", SMALL),
        lambda: bench.post("/v1/chat/completions", STREAM),
        lambda: bench.post("/v1/chat/completions", FAULTY),
    ]
    mix = [0] * 8 + [1, 2]  # of every ten requests: 8 plain, 1 streamed, 1 on the faulty chain

    async def load() -> int:
        t0, sent, pending = time.perf_counter(), 0, set()
        while time.perf_counter() - t0 < seconds:
            due = int((time.perf_counter() - t0) * rate)
            while sent < due:
                pending.add(asyncio.ensure_future(kinds[mix[sent % 10]]()))
                sent += 1
            pending = {p for p in pending if not p.done()}
            await asyncio.sleep(0.005)
        await asyncio.gather(*pending)
        return sent

    background = [asyncio.create_task(keep_idle()), asyncio.create_task(big_every(30.0))]
    failed, busy = bench.failed, bench.busy
    samples = [bench.rss()]
    runner = asyncio.create_task(load())
    while not runner.done():
        await asyncio.wait((runner,), timeout=60)
        samples.append(bench.rss())
    sent = runner.result()
    stop.set()
    await asyncio.gather(*background)
    for sock in held:
        sock.close()
    line = ", ".join(f"{s:.0f}" for s in samples)
    print(
        f"soak: {seconds:.0f} s at {rate:.0f} req/s ({sent} requests: plain, streamed, first step down; "
        f"a 30 MB body every 30 s; {idle} idle sockets held): {bench.failed - failed} failed, "
        f"{bench.busy - busy} answered 503 retry-later; "
        f"RSS MB each minute: {line}"
    )


async def run(url: str, port: int, relay_pid: int, args: argparse.Namespace) -> None:
    bench = Bench(url, relay_pid)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as bench.session:
        await bench.latencies(20, 1)  # warm up
        print(f"relay RSS (main + worker) at rest: {bench.rss():.0f} MB")
        await idle_section(bench, port, args.idle, args.trickle)
        await memory_section(bench)
        if args.soak > 0:
            await soak_section(bench, port, args.idle, args.soak, args.rate)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--trickle", type=int, default=200)
    parser.add_argument("--soak", type=float, default=0.0, help="soak seconds (the issue's figure: 600)")
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    dead = free_port()  # nothing listens there: the faulty chain's first step
    with relay_stack(lambda port: DEFS.format(port=port, dead=dead)) as stack:
        url = f"http://127.0.0.1:{stack.relay_port}"
        uvloop.run(run(url, stack.relay_port, stack.relay.pid, args))


if __name__ == "__main__":
    main()

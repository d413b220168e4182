"""What relay adds on top of the upstream, measured from the client side in one run.

A fast fake upstream (benchmarks/upstream_server.py, Granian RSGI) is called directly and
through `relay run` (1 worker) with the same requests, interleaved in the same run, so
machine noise hits both sides alike. Prints:

- added latency, open loop at 25 and at 200 requests/s: p50 and p99 of (relay) minus (direct);
- added streaming time to first byte (median of sequential streamed requests);
- sustained non-streaming throughput with 64 connections (wrk, load generator on this machine);
- relay RSS (main process + worker) idle and under that load.

    python -m benchmarks.relay_bench [--seconds 8]

Needs `wrk` for the throughput figure (Debian package `wrk`); without it that line is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import uvloop

from benchmarks.common import relay_stack

BODY = b'{"model":"bench","messages":[{"role":"user","content":"hi"}]}'
STREAM_BODY = b'{"model":"bench","stream":true,"messages":[{"role":"user","content":"hi"}]}'
DEFS = """\
version: 1
providers:
  up:
    api: openai
    base_url: http://127.0.0.1:{port}/v1
    keys: ["${{BENCH_UPSTREAM_KEY}}"]
chains:
  bench:
    steps: [up/bench-up]
"""
BARE_SERVER = """\
server:
  log:
    level: warning
  usage:
    store: "off"
"""
"""Appended to DEFS for relay "bare" (benchmarks.overhead and benchmarks.hot_path --bare): no
request log line, no usage store; with the ops feed emptied as well, nothing is recorded."""


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process and its children in MB. Granian forks its worker from the
    main process, so summed RSS counts their shared pages twice; PSS splits them fairly."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    rss = pss = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def open_loop(
    session: aiohttp.ClientSession, urls: tuple[str, ...], rate: float, seconds: float
) -> tuple[list[float], ...]:
    """Latencies in ms for each URL, each sent `rate` times a second on one fixed,
    interleaved schedule (so machine noise hits all alike), measured from the scheduled
    time with perf_counter (uvloop's loop.time() has only millisecond resolution)."""
    results: tuple[list[float], ...] = tuple([] for _ in urls)
    start = time.perf_counter() + 0.05
    step = 1.0 / (len(urls) * rate)

    async def one(i: int) -> None:
        at = start + i * step
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        url = urls[i % len(urls)]
        async with session.post(url, data=BODY, headers={"content-type": "application/json"}) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        results[i % len(urls)].append((time.perf_counter() - at) * 1000)

    await asyncio.gather(*(one(i) for i in range(int(len(urls) * rate * seconds))))
    return results


async def ttfb(session: aiohttp.ClientSession, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with session.post(url, data=STREAM_BODY, headers={"content-type": "application/json"}) as resp:
            await resp.content.readany()
            out.append((time.perf_counter() - t0) * 1000)
            await resp.read()
    return out


async def latency_report(direct: str, relay: str, seconds: float) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for rate in (25, 200):
            d, r = await open_loop(session, (direct, relay), rate, seconds)
            print(
                f"open loop {rate:>3}/s: direct p50 {pct(d, 0.5):.2f} ms p99 {pct(d, 0.99):.2f} ms | "
                f"relay p50 {pct(r, 0.5):.2f} ms p99 {pct(r, 0.99):.2f} ms | "
                f"added p50 {pct(r, 0.5) - pct(d, 0.5):.2f} ms p99 {pct(r, 0.99) - pct(d, 0.99):.2f} ms"
            )
        d_t = await ttfb(session, direct, 200)
        r_t = await ttfb(session, relay, 200)
        print(
            f"stream TTFB median: direct {statistics.median(d_t):.2f} ms | relay {statistics.median(r_t):.2f} ms | "
            f"added {statistics.median(r_t) - statistics.median(d_t):.2f} ms"
        )


@dataclass(frozen=True)
class Load:
    rps: float
    requests: int


def wrk_load(url: str, seconds: int, tmp: Path, connections: int = 64, threads: int = 2) -> Load | None:
    """`connections` keep-alive connections POSTing BODY for `seconds` (wrk, `threads`
    threads); None when wrk is not installed."""
    if shutil.which("wrk") is None:
        return None
    script = tmp / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\n'
        f"wrk.body = '{BODY.decode()}'\n"
    )
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = next(float(line.split()[1]) for line in out.splitlines() if line.startswith("Requests/sec:"))
    requests = next(int(line.split()[0]) for line in out.splitlines() if " requests in " in line)
    return Load(rps, requests)


def wrk(url: str, seconds: int, tmp: Path) -> float | None:
    load = wrk_load(url, seconds, tmp)
    return None if load is None else load.rps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    with relay_stack(lambda port: DEFS.format(port=port)) as stack:
        tmp, relay, up_port, relay_port = stack.tmp, stack.relay, stack.up_port, stack.relay_port
        direct = f"http://127.0.0.1:{up_port}/v1/chat/completions"
        via = f"http://127.0.0.1:{relay_port}/v1/chat/completions"
        uvloop.run(latency_report(direct, via, 1.0))  # warm both paths
        rss, pss = memory_mb(relay.pid)
        print(f"relay memory idle (main + worker): RSS {rss:.1f} MB, PSS {pss:.1f} MB")
        uvloop.run(latency_report(direct, via, args.seconds))
        seconds = max(int(args.seconds), 3)
        direct_rps = wrk(direct, seconds, tmp)
        peak = [0.0, 0.0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                rss, pss = memory_mb(relay.pid)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)

        sampler = threading.Thread(target=sample)
        sampler.start()
        relay_rps = wrk(via, seconds, tmp)
        stop.set()
        sampler.join()
        if relay_rps is None:
            print("throughput: wrk not installed (apt-get install wrk), skipped")
        else:
            print(f"throughput, 64 connections: direct {direct_rps:.0f} req/s | relay {relay_rps:.0f} req/s")
            print(f"relay memory under load (peak): RSS {peak[0]:.1f} MB, PSS {peak[1]:.1f} MB")


if __name__ == "__main__":
    main()

"""What relay costs beyond the least a Python relay can be, measured in one run.

relay (`relay run`, 1 worker, every default on: the SQLite usage store, metrics, events)
and a minimal pass-through (benchmarks/passthrough_app.py: Granian RSGI + one aiohttp
session) stand in front of the same fake upstream (benchmarks/upstream_server.py) and are
measured alternately, round after round, so machine noise hits both alike. Per round:

- CPU time of all server processes (main + workers, every thread: /proc/PID/stat utime +
  stime before and after) per proxied request, under wrk with 64 connections;
- throughput with those 64 connections;
- added p50/p99 at 25 requests/s, open loop, against the upstream called directly;
- added stream time to first byte (sequential streamed requests, median).

Prints each figure's median over the rounds with its spread (min-max), the idle RSS of
relay (main + worker), and last `cpu_us_per_request relay=… passthrough=… ratio=…`.
CPU per request is the figure a busy machine leaves intact; the wall-clock ones blur.
`--bare` serves a third, measured in the same rounds: relay with its ops feed empty (no
usage store, metrics, events or webhooks: benchmarks/relay_without_sinks.py) and no request
log line, for what relay's defaults cost apart from its routing and HTTP handling.

    python -m benchmarks.overhead [--quick] [--rounds 5] [--seconds 5] [--bare] [--docs]
    python -m benchmarks.overhead --scale redis://127.0.0.1:6379/0

`--scale` instead serves relay with that Redis as its state and 1, 2, 4, … workers (up to
half the cores: wrk needs the rest) and prints throughput and CPU per request at 256
connections for each, against N x the single worker's throughput.

Needs `wrk` (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import uvloop

from benchmarks.common import (
    README,
    REPO,
    cpu_seconds,
    free_port,
    relay_stack,
    serve_relay,
    wait_port,
    write_doc_block,
)
from benchmarks.relay_bench import BARE_SERVER, DEFS, STREAM_BODY, memory_mb, open_loop, pct, wrk_load

FIGURES = (
    ("cpu_us", "CPU per request, µs", "{:.0f}"),
    ("rps", "throughput, 64 connections, req/s", "{:.0f}"),
    ("p50", "added p50 at 25 req/s, ms", "{:.2f}"),
    ("p99", "added p99 at 25 req/s, ms", "{:.2f}"),
    ("ttfb", "added stream TTFB, ms", "{:.2f}"),
)


@dataclass(frozen=True)
class Served:
    name: str
    pid: int
    url: str


@dataclass(frozen=True)
class Plan:
    rounds: int
    load_seconds: int
    latency_seconds: float
    streams: int


QUICK = Plan(rounds=2, load_seconds=3, latency_seconds=3.0, streams=30)
FULL = Plan(rounds=5, load_seconds=5, latency_seconds=8.0, streams=100)


@dataclass
class Figures:
    """One list per figure, one value per round."""

    values: dict[str, list[float]] = field(default_factory=lambda: {key: [] for key, _, _ in FIGURES})


async def _stream_ttfb(session: aiohttp.ClientSession, url: str) -> float:
    t0 = time.perf_counter()
    async with session.post(url, data=STREAM_BODY, headers={"content-type": "application/json"}) as resp:
        await resp.content.readany()
        took = (time.perf_counter() - t0) * 1000
        await resp.read()
    return took


async def _latencies(direct: str, servers: Sequence[Served], plan: Plan) -> list[tuple[float, float, float]]:
    """(added p50, added p99, added TTFB) per server, all sent on one interleaved schedule."""
    urls = (direct, *(s.url for s in servers))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        lat = await open_loop(session, urls, 25, plan.latency_seconds)
        ttfbs: list[list[float]] = [[] for _ in urls]
        for _ in range(plan.streams):
            for i, url in enumerate(urls):
                ttfbs[i].append(await _stream_ttfb(session, url))
    base50, base99, base_t = pct(lat[0], 0.5), pct(lat[0], 0.99), statistics.median(ttfbs[0])
    return [
        (pct(lat[i], 0.5) - base50, pct(lat[i], 0.99) - base99, statistics.median(ttfbs[i]) - base_t)
        for i in range(1, len(urls))
    ]


def warm(direct: str, servers: Sequence[Served]) -> None:
    """A second of traffic through every path (connections made, code paths run)."""
    uvloop.run(_latencies(direct, servers, Plan(1, 1, 1.0, 5)))


def measure(direct: str, servers: Sequence[Served], plan: Plan, tmp: Path) -> dict[str, Figures]:
    """Every figure for every server, `plan.rounds` rounds, the load order turning each round."""
    found = {s.name: Figures() for s in servers}
    warm(direct, servers)
    for r in range(plan.rounds):
        turn = r % len(servers)
        for s in (*servers[turn:], *servers[:turn]):
            before = cpu_seconds(s.pid)
            load = wrk_load(s.url, plan.load_seconds, tmp)
            if load is None:
                sys.exit("benchmarks.overhead needs wrk (apt-get install wrk)")
            cpu = cpu_seconds(s.pid) - before
            found[s.name].values["cpu_us"].append(cpu / load.requests * 1e6)
            found[s.name].values["rps"].append(load.rps)
        for s, (p50, p99, ttfb) in zip(servers, uvloop.run(_latencies(direct, servers, plan)), strict=True):
            found[s.name].values["p50"].append(p50)
            found[s.name].values["p99"].append(p99)
            found[s.name].values["ttfb"].append(ttfb)
    return found


def spread(values: Sequence[float], fmt: str) -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


Row = tuple[str, str, str, str]
"""figure, the first server's median (min-max), the second's, the per-round ratio."""


def rows(found: dict[str, Figures], a: str, b: str) -> list[Row]:
    """Median (min-max) per figure for `a` and `b`, and the per-round ratio a/b where a
    ratio means something (CPU, throughput)."""
    out = []
    for key, label, fmt in FIGURES:
        va, vb = found[a].values[key], found[b].values[key]
        ratio = median_spread(found, a, b, key) if key in ("cpu_us", "rps") else ""
        out.append((label, spread(va, fmt), spread(vb, fmt), ratio))
    return out


def table(head: Row, body: list[Row]) -> list[str]:
    """For the terminal and docs/performance.md's code blocks."""
    return [f"{f:36s} {a:>22s} {b:>22s} {r:>20s}".rstrip() for f, a, b, r in (head, *body)]


def report(block: str, head: str, lines: list[str], docs: bool, summary: list[str]) -> None:
    """Print the figures; with `docs`, also write them (under `head`) into their block of
    docs/performance.md, and `summary` into the README's performance figures."""
    print("\n".join(lines))
    if docs:
        write_doc_block(block, [head, *lines])
        write_doc_block(block, [head, *summary], README)


def median_spread(found: dict[str, Figures], a: str, b: str, key: str) -> str:
    """The median of the per-round ratios a/b of one figure, with their spread."""
    va, vb = found[a].values[key], found[b].values[key]
    ratios = [x / y for x, y in zip(va, vb, strict=True) if y > 0]
    return spread(ratios, "{:.2f}") if ratios else ""


def context(rounds: int) -> str:
    """The revision measured and how busy the machine was."""
    rev = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"revision {rev or '?'}, {os.cpu_count()} cores, load average {load} (1/5/15 min), {rounds} rounds"


def start_passthrough(port: int, upstream: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.passthrough_app", str(port), upstream],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def scale(redis_url: str, seconds: int) -> None:
    """Throughput with Redis state and 1, 2, 4, … workers, 256 connections."""
    cores = os.cpu_count() or 2
    counts = [n for n in (1, 2, 4, 8, 16) if n <= max(1, cores // 2)]
    single = 0.0
    print(context(1), flush=True)
    for workers in counts:
        defs = DEFS + f"server:\n  state: {redis_url}\n"
        with relay_stack(lambda port, d=defs: d.format(port=port), workers=workers) as stack:
            url = f"http://127.0.0.1:{stack.relay_port}/v1/chat/completions"
            wrk_load(url, 1, stack.tmp, 256, min(8, cores // 2 or 1))  # warm
            before = cpu_seconds(stack.relay.pid)
            load = wrk_load(url, seconds, stack.tmp, 256, min(8, cores // 2 or 1))
            assert load is not None, "benchmarks.overhead needs wrk (apt-get install wrk)"
            cpu = (cpu_seconds(stack.relay.pid) - before) / load.requests * 1e6
            single = single or load.rps
            print(
                f"redis state, {workers} worker(s), 256 connections: {load.rps:.0f} req/s "
                f"({load.rps / (workers * single):.2f} x {workers} x single), CPU {cpu:.0f} µs per request",
                flush=True,
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overhead")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK.rounds} short rounds (under 45 s)")
    parser.add_argument("--rounds", type=int, help=f"default {FULL.rounds}")
    parser.add_argument(
        "--seconds", type=int, help=f"wrk seconds per server and round, default {FULL.load_seconds}"
    )
    parser.add_argument("--docs", action="store_true", help="also write the figures into docs/performance.md")
    parser.add_argument(
        "--bare", action="store_true", help="also relay without its ops feed and request log line"
    )
    parser.add_argument("--scale", metavar="REDIS_URL", help="measure scaling over workers with Redis state")
    args = parser.parse_args(argv)
    if args.scale:
        scale(args.scale, args.seconds or FULL.load_seconds)
        return
    base = QUICK if args.quick else FULL
    plan = Plan(
        args.rounds or base.rounds, args.seconds or base.load_seconds, base.latency_seconds, base.streams
    )
    head = context(plan.rounds)
    print(head, flush=True)
    with relay_stack(lambda port: DEFS.format(port=port)) as stack, tempfile.TemporaryDirectory() as tmp:
        pt_port = free_port()
        started = [start_passthrough(pt_port, f"http://127.0.0.1:{stack.up_port}")]
        try:
            path = "/v1/chat/completions"
            servers = [
                Served("relay", stack.relay.pid, f"http://127.0.0.1:{stack.relay_port}{path}"),
                Served("passthrough", started[0].pid, f"http://127.0.0.1:{pt_port}{path}"),
            ]
            if args.bare:
                bare_port = free_port()
                (stack.tmp / "bare").mkdir()
                defs = DEFS.format(port=stack.up_port) + BARE_SERVER
                env = {**os.environ, "BENCH_UPSTREAM_KEY": "bench-key-not-secret"}
                module = "benchmarks.relay_without_sinks"
                started.append(serve_relay(defs, stack.tmp / "bare", bare_port, REPO, env, module=module))
                servers.append(Served("relay-bare", started[1].pid, f"http://127.0.0.1:{bare_port}{path}"))
                wait_port(bare_port)
            wait_port(pt_port)
            direct = f"http://127.0.0.1:{stack.up_port}{path}"
            warm(direct, servers)
            idle = memory_mb(stack.relay.pid)  # idle after serving, as relay_bench reports it
            found = measure(direct, servers, plan, Path(tmp))
        finally:
            for proc in started:
                proc.terminate()
                proc.wait()
    relay_cpu = statistics.median(found["relay"].values["cpu_us"])
    pt_cpu = statistics.median(found["passthrough"].values["cpu_us"])
    body = rows(found, "relay", "passthrough")
    summary_cpu = f"CPU per request {relay_cpu:.0f} µs, pass-through {pt_cpu:.0f}: {body[0][3]}×"
    if args.bare:
        bare = rows(found, "relay-bare", "passthrough")[0]
        body.insert(1, ("CPU per request, --bare, µs", bare[1], "", bare[3]))
        summary_cpu += (
            f"; --bare {statistics.median(found['relay-bare'].values['cpu_us']):.0f} µs: {bare[3]}×"
        )
    lines = [
        *table(("figure", "relay", "passthrough", "relay/passthrough"), body),
        f"relay idle memory (main + worker): RSS {idle[0]:.1f} MB, PSS {idle[1]:.1f} MB",
        f"cpu_us_per_request relay={relay_cpu:.0f} passthrough={pt_cpu:.0f} ratio={relay_cpu / pt_cpu:.2f}",
    ]
    med = {key: statistics.median(found["relay"].values[key]) for key, _, _ in FIGURES}
    summary = [
        summary_cpu,
        f"64 connections {med['rps']:.0f} req/s; added p50 at 25 req/s {med['p50']:.2f} ms; "
        f"added stream TTFB {med['ttfb']:.2f} ms; idle RSS (main + worker) {idle[0]:.1f} MB",
    ]
    report("overhead", head, lines, args.docs, summary)


if __name__ == "__main__":
    main()

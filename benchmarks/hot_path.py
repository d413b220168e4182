"""One worker's request path in-process: relay's RSGI app and the minimal pass-through
(benchmarks/passthrough_app.py) each driven N times by an in-memory RSGI protocol against
the same fake upstream (a real Granian process on 127.0.0.1), for CPU per request without
Granian, wrk or the kernel's share of the network, and for a deterministic profile.

    python -m benchmarks.hot_path [--requests 3000] [--stream] [--profile relay|passthrough] [--top 40]
                                  [--state redis://127.0.0.1:6379/0] [--bare]
                                  [--stream --chunks 100 --gap-ms 0.5]

Prints CPU per request for each app, of the whole process (every thread: the log writer
and the usage store's feeder included; its writer process is not, `benchmarks.overhead`
counts that) and of the event loop's thread alone, the best of `--passes` passes (other
work on the machine only ever adds). With `--profile`, a cProfile of that app's requests
sorted by `--sort` (`--top` lines; `--callers`/`--callees REGEX` follow one function).
Both apps see wrk's request: POST with `content-type`, `content-length` and `host`, the
same small body. `--bare` adds a third: relay with its ops feed empty (no usage row,
metrics, events or webhooks) and no request log line, so what relay's defaults cost per
request and what its routing, translation and HTTP handling cost alone are measured apart,
in the same run. `--chunks N` makes each stream N content chunks long (`--gap-ms` apart,
so each is read on its own as a real model's tokens are) and adds what each chunk costs
beyond the pass-through's: what a long answer to Claude Code costs relay per event.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvloop

from benchmarks.common import REPO, free_port, wait_port
from benchmarks.passthrough_app import UPSTREAM_ENV, PassThrough
from benchmarks.relay_bench import BARE_SERVER, BODY, DEFS, STREAM_BODY

if TYPE_CHECKING:
    from runtime.server.app import RelayApp


class Transport:
    async def send_bytes(self, data: bytes) -> None:
        pass

    async def send_str(self, data: str) -> None:
        pass


class Proto:
    """Granian's RSGI HTTP protocol object, in memory: the body as one chunk and the end
    mark, a client that never leaves, answers counted and dropped."""

    def __init__(self, body: bytes, sent: list[int]) -> None:
        self.body = body
        self.sent = sent
        self._gone: asyncio.Future[None] | None = None

    async def __call__(self) -> bytes:
        return self.body

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        yield self.body
        yield b""

    def client_disconnect(self) -> Awaitable[None]:
        self._gone = asyncio.get_running_loop().create_future()
        return self._gone

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.sent.append(status)

    def response_empty(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.sent.append(status)

    def response_stream(self, status: int, headers: list[tuple[str, str]]) -> Transport:
        self.sent.append(status)
        return Transport()


class Scope:
    proto = "http"
    method = "POST"
    path = "/v1/chat/completions"
    query_string = ""

    def __init__(self, body: bytes) -> None:
        self.headers = {
            "host": "127.0.0.1:8080",
            "content-type": "application/json",
            "content-length": str(len(body)),
        }


App = Callable[[Any, Any], Awaitable[None]]


async def _drive(app: App, body: bytes, n: int) -> list[int]:
    sent: list[int] = []
    scope = Scope(body)
    for _ in range(n):
        await app(scope, Proto(body, sent))
    return sent


def _relay_app(tmp: Path, up_port: int, state: str | None, server: str = "") -> RelayApp:
    """relay's app on the benchmark definitions (with `state` as its routing state when
    given, `server` a `server:` block of its own), built by this checkout's compiler; the
    import waits for the environment it reads at start."""
    (tmp / "chains").mkdir(parents=True)
    server = server or ("server:\n" if state else "")
    defs = DEFS.format(port=up_port) + server + (f"  state: {state}\n" if state else "")
    (tmp / "chains" / "bench.yaml").write_text(defs)
    subprocess.run(
        [sys.executable, "-m", "compiler", "build", str(tmp / "chains"), "-o", str(tmp / "gen")],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    from runtime.server.app import POLL_ENV, RelayApp
    from runtime.server.lineage import ROOT_ENV

    os.environ.update({ROOT_ENV: str(tmp / "gen"), "XDG_STATE_HOME": str(tmp), POLL_ENV: "0"})
    return RelayApp()


def _strip(relay: RelayApp) -> None:
    """Benchmark use only: the ops feed emptied (metrics, events, webhooks), in this one app
    (nothing in this process reloads it, so it stays so); BARE_SERVER did the rest."""
    service = relay.service
    assert service is not None, "__rsgi_init__ made it"
    service.feed.sinks.clear()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hot_path")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--stream", action="store_true", help="streamed requests instead")
    parser.add_argument("--profile", choices=("relay", "passthrough"))
    parser.add_argument("--state", metavar="REDIS_URL", help="relay with this Redis as its routing state")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--callees", help="also print what functions matching this regex call")
    parser.add_argument("--callers", help="also print who calls functions matching this regex")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    parser.add_argument("--dump", metavar="FILE", help="also write the raw profile here (pstats format)")
    parser.add_argument(
        "--bare", action="store_true", help="also relay without its ops feed and request log line"
    )
    parser.add_argument("--chunks", type=int, help="with --stream: content chunks per stream")
    parser.add_argument("--gap-ms", type=float, default=0.5, help="with --chunks: ms before each chunk")
    args = parser.parse_args(argv)
    os.environ["BENCH_UPSTREAM_KEY"] = "bench-key-not-secret"
    body = STREAM_BODY if args.stream else BODY
    up_port = free_port()
    if args.chunks is not None and not args.stream:
        parser.error("--chunks is for --stream")
    shape = ["--chunks", str(args.chunks), "--gap-ms", str(args.gap_ms)] if args.chunks is not None else []
    upstream = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.upstream_server", str(up_port), *shape],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    out = os.dup(1)
    tmp_dir = tempfile.TemporaryDirectory()
    try:
        wait_port(up_port)
        os.environ[UPSTREAM_ENV] = f"http://127.0.0.1:{up_port}"
        loop = uvloop.new_event_loop()
        relays = {"relay": _relay_app(Path(tmp_dir.name) / "relay", up_port, args.state)}
        if args.bare:
            relays["relay-bare"] = _relay_app(Path(tmp_dir.name) / "bare", up_port, args.state, BARE_SERVER)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the request log lines: written, not shown
        for relay in relays.values():
            relay.__rsgi_init__(loop)
        if args.bare:
            _strip(relays["relay-bare"])
        passthrough = PassThrough()
        passthrough.__rsgi_init__(loop)
        apps: dict[str, App] = {name: relay.__rsgi__ for name, relay in relays.items()}
        apps["passthrough"] = passthrough.__rsgi__
        for app in apps.values():
            loop.run_until_complete(_drive(app, body, 200))  # warm: connections, code paths
        cpu: dict[str, float] = {name: float("inf") for name in apps}
        loop_cpu: dict[str, float] = dict(cpu)
        for _ in range(args.passes):
            for name, app in apps.items():
                t0, t0_loop = time.process_time(), time.thread_time()
                sent = loop.run_until_complete(_drive(app, body, args.requests))
                took_loop = time.thread_time() - t0_loop
                loop.run_until_complete(asyncio.sleep(0.3))  # the writer threads' batches land
                took = time.process_time() - t0
                assert sent == [200] * args.requests, sorted(set(sent))
                cpu[name] = min(cpu[name], took / args.requests * 1e6)
                loop_cpu[name] = min(loop_cpu[name], took_loop / args.requests * 1e6)
        report = os.fdopen(out, "w", closefd=False)
        for label, found in (("process", cpu), ("event loop thread", loop_cpu)):
            figures = " ".join(f"{name}={us:.0f}us" for name, us in found.items())
            ratios = " ".join(
                f"{name}/passthrough={found[name] / found['passthrough']:.2f}" for name in relays
            )
            print(f"{label}: {figures} {ratios}", file=report)
        if args.chunks:
            per_chunk = " ".join(
                f"{name}={(cpu[name] - cpu['passthrough']) / args.chunks:.2f}us" for name in relays
            )
            print(f"per content chunk beyond the pass-through (process): {per_chunk}", file=report)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            loop.run_until_complete(_drive(apps[args.profile], body, args.requests))
            profiler.disable()
            if args.dump:
                profiler.dump_stats(args.dump)
            stats = pstats.Stats(profiler, stream=report).sort_stats(args.sort)
            stats.print_stats(args.top)
            if args.callees:
                stats.print_callees(args.callees)
            if args.callers:
                stats.print_callers(args.callers)
        report.flush()
        for relay in relays.values():
            relay.__rsgi_del__(loop)
        if passthrough.session is not None:
            loop.run_until_complete(passthrough.session.close())
    finally:
        upstream.terminate()
        upstream.wait()
        tmp_dir.cleanup()


if __name__ == "__main__":
    main()

"""What the operator's sinks (Prometheus metrics, the admin event stream, the usage store,
webhooks) cost a request. Prints:

- CPU per finished request through the Feed, in this process: no sinks vs all four (metrics
  in multiprocess mode writing its mmap file, an event subscriber that keeps up, the usage
  sink's feeder thread, webhooks configured), counting every thread's CPU (the SQLite inserts
  run in the usage writer process, outside the worker, and are not counted);
- the same stack end to end: two `relay run`, one with sinks and one with the Feed emptied
  (`benchmarks/relay_without_sinks.py`), driven on one interleaved schedule at 25 req/s
  (open loop, p50/p99) and then by wrk with 64 connections, one after the other.

    python -m benchmarks.ops_bench [--seconds 8] [--records 50000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from benchmarks.common import REPO, free_port, wait_port
from benchmarks.relay_bench import DEFS, open_loop, pct, wrk
from runtime.ops.record import AttemptRecord, RequestRecord

HOOKS = """\
server:
  usage: {{store: "sqlite:///{db}"}}
  webhooks:
    - url: http://127.0.0.1:9/never
      events: [chain_exhausted]
"""


def _record(i: int) -> RequestRecord:
    return RequestRecord(
        at=time.time(),
        id=f"req_{i:08d}",
        chain="bench",
        format="openai",
        model="bench",
        provider="up",
        upstream_model="bench-up",
        key="sha256:1a2b3c4d",
        status=200,
        stream=False,
        attempts=[AttemptRecord("up", "bench-up", "ok", 200, "", 1.2, None, "sha256:1a2b3c4d")],
        skipped=[],
        latency_ms=3.4,
        ttfb_ms=None,
        queued_ms=None,
        tokens={"input": 12, "output": 30, "cached": 0, "total": 42, "cache_read": 0, "cache_write": 0},
        overhead_ms=0.4,
        cost_usd=0.00001,
        saved_usd=0.0002,
    )


def cpu_per_record(tmp: Path, records: int) -> None:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp / "prom")
    (tmp / "prom").mkdir()
    from runtime.ops.events import EventHub
    from runtime.ops.feed import Feed
    from runtime.ops.metrics import RequestMetrics
    from runtime.ops.usage.sink import UsageSink
    from runtime.ops.webhooks import Webhooks
    from runtime.server.loader import load

    gen = _build(tmp, DEFS.format(port=free_port()) + HOOKS.format(db=tmp / "usage.sqlite"))
    artifact = load(gen).artifact
    batch = [_record(i) for i in range(records)]

    def cost(*sinks: Any) -> float:
        """Process CPU (every thread) per record through a Feed holding `sinks`, including
        the metrics flush and the usage writer's inserts."""
        feed = Feed()
        for sink in sinks:
            feed.add(sink)
        usage = next((s for s in sinks if isinstance(s, UsageSink)), None)
        if usage is not None:
            usage.start()
        t0 = time.process_time()
        for i, record in enumerate(batch):
            feed.request(record)
            if usage is not None and i % 1000 == 0:
                _let_writer_catch_up(usage)  # a real relay's rows trickle in; here none is dropped
        for sink in sinks:
            if isinstance(sink, RequestMetrics):
                sink.publish(0, {})  # the flush a worker does every second, once for the batch
        if usage is not None:
            deadline = time.monotonic() + 60
            while usage.written + usage.dropped < records and time.monotonic() < deadline:
                time.sleep(0.05)
        spent = (time.process_time() - t0) / records * 1e6
        if usage is not None:
            usage.stop()
            assert usage.dropped == 0, f"{usage.dropped} usage rows dropped: the figure would be low"
        return spent

    def hub() -> EventHub:
        events = EventHub(buffer=records + 1)  # one subscriber that keeps up: nothing dropped
        events.subscribe()
        return events

    def usage(name: str) -> UsageSink:
        return UsageSink(f"sqlite:///{tmp / name}", 0)

    def metrics() -> RequestMetrics:
        return RequestMetrics(lambda: artifact)

    def hooks() -> Webhooks:
        return Webhooks(lambda: artifact.server.webhooks)

    bare = cost()
    parts = {
        "metrics": cost(metrics()) - bare,
        "events (1 subscriber)": cost(hub()) - bare,
        "usage (feeder thread included; SQLite in the writer process)": cost(usage("a.sqlite")) - bare,
        "webhooks": cost(hooks()) - bare,
    }
    together = cost(metrics(), usage("b.sqlite"), hooks()) - bare
    everything = cost(metrics(), hub(), usage("c.sqlite"), hooks()) - bare
    print(f"CPU per request through the Feed ({records} records, this process, every thread):")
    for name, micros in parts.items():
        print(f"  {name}: {micros:.2f} µs")
    print(f"  metrics + usage + webhooks (no admin subscriber): {together:.2f} µs")
    print(f"  metrics + events + usage + webhooks: {everything:.2f} µs")


def _let_writer_catch_up(usage: Any) -> None:
    """Bounded wait (sleeping costs no CPU) until the usage queue is mostly drained."""
    deadline = time.monotonic() + 30
    while usage.queued > 2000 and time.monotonic() < deadline:
        time.sleep(0.01)


def _build(tmp: Path, defs: str) -> Path:
    name = f"defs-{len(list(tmp.glob('defs-*')))}"
    chains = tmp / name
    chains.mkdir()
    (chains / "bench.yaml").write_text(defs)
    out = tmp / f"{name}-gen"
    env = {**os.environ, "BENCH_UPSTREAM_KEY": "bench-key-not-secret", "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "compiler", "build", str(chains), "-o", str(out)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    return out


def _serve(stack: ExitStack, tmp: Path, defs: str, module: str) -> int:
    out = _build(tmp, defs)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, str(out), "--listen", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.callback(proc.wait)
    stack.callback(proc.terminate)
    wait_port(port)
    return port


async def _latency(urls: tuple[str, str], seconds: float) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await open_loop(session, urls, 25, 1.0)  # warm both
        on, off = await open_loop(session, urls, 25, seconds)
    print(
        f"open loop 25/s: sinks on p50 {pct(on, 0.5):.2f} ms p99 {pct(on, 0.99):.2f} ms | "
        f"sinks off p50 {pct(off, 0.5):.2f} ms p99 {pct(off, 0.99):.2f} ms"
    )


def end_to_end(tmp: Path, seconds: float) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    up_port = free_port()
    with ExitStack() as stack:
        upstream = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.upstream_server", str(up_port)], cwd=REPO, env=env
        )
        stack.callback(upstream.wait)
        stack.callback(upstream.terminate)
        wait_port(up_port)
        hooks = HOOKS.format(db=tmp / "e2e-usage.sqlite")
        on = _serve(stack, tmp, DEFS.format(port=up_port) + hooks, "runtime.server.serve")
        off = _serve(stack, tmp, DEFS.format(port=up_port) + hooks, "benchmarks.relay_without_sinks")
        urls = tuple(f"http://127.0.0.1:{p}/v1/chat/completions" for p in (on, off))
        uvloop.run(_latency((urls[0], urls[1]), seconds))
        secs = max(int(seconds), 3)
        rates = [wrk(url, secs, tmp) for url in (*urls, *urls)]  # on, off, on, off
        if rates[0] is None:
            print("throughput: wrk not installed (apt-get install wrk), skipped")
            return
        print(
            "throughput, 64 connections (two rounds): sinks on "
            f"{rates[0]:.0f} / {rates[2]:.0f} req/s | sinks off {rates[1]:.0f} / {rates[3]:.0f} req/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--records", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        end_to_end(tmp, args.seconds)  # first: its relays must not inherit this process's metrics dir
        cpu_per_record(tmp, args.records)


if __name__ == "__main__":
    main()

"""The usage store's cost: what a request pays on its path, and how fast the writer drains.

Usage: python -m benchmarks.usage_bench [--rows N] [--requests N]

1. Per request (CPU µs, best of 5): building the `RequestRecord` as `_finish` does, pricing
   it (`runtime.ops.pricing.costs`) and offering it to the usage sink's bounded queue (the
   feeder thread is not running, and the queue is large enough that nothing is dropped).
2. The SQLite writer: N rows offered to a running `UsageSink` on a temporary file (WAL,
   batches of up to 1,000 per transaction) and the wall time until every row is committed.
3. The whole store at a worker's pace: rows offered at 2,500 a second to a running sink,
   CPU of every thread of this process (record, enqueue, the feeder thread's encoding and
   pipe writes) per row: what the default store costs a worker per request; and beside it
   the writer process's CPU per row (SQLite's inserts), which no longer runs in the worker.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from runtime.artifact import Price, Step
from runtime.ops.pricing import costs
from runtime.ops.record import AttemptRecord, RequestRecord
from runtime.ops.usage.sink import UsageSink

STEP = Step(
    provider="groq",
    model="llama-3.3-70b-versatile",
    price=Price(input=0.59, output=0.79, cache_read=0.59, cache_write=0.59),
    reference=Price(input=3, output=15, cache_read=0.3, cache_write=3.75),
)
TOKENS = {"input": 2400, "output": 350, "cached": 400, "total": 2750, "cache_read": 400, "cache_write": 0}


def one(sink: UsageSink, i: int) -> None:
    """What `_finish` adds per request for usage: the record with its prices, and the enqueue."""
    attempts = [AttemptRecord("groq", STEP.model, "ok", 200, "", 120.0, None, "sha256:1a2b3c4d")]
    actual, reference = costs(STEP, TOKENS)
    record = RequestRecord(
        at=time.time(),
        id=f"req_{i:024x}",
        chain="free",
        format="openai",
        model="free",
        provider="groq",
        upstream_model=STEP.model,
        key="sha256:1a2b3c4d",
        status=200,
        stream=True,
        attempts=attempts,
        skipped=[],
        latency_ms=412.5,
        ttfb_ms=180.2,
        queued_ms=None,
        tokens=TOKENS,
        cost_usd=actual,
        saved_usd=reference - actual,
    )
    sink.request(record)


def per_request(requests: int) -> float:
    best = float("inf")
    for _ in range(5):
        sink = UsageSink("sqlite:///unused", 0, capacity=requests + 1)
        started = time.process_time()
        for i in range(requests):
            one(sink, i)
        best = min(best, (time.process_time() - started) / requests * 1e6)
        assert sink.dropped == 0
    return best


def writer(rows: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        sink = UsageSink(f"sqlite://{Path(tmp) / 'usage.sqlite'}", 0, capacity=rows + 1)
        for i in range(rows):
            one(sink, i)
        started = time.perf_counter()
        sink.start()
        sink.stop(timeout=600)
        elapsed = time.perf_counter() - started
        assert sink.written == rows, (sink.written, rows)
    return rows / elapsed


def paced(rows: int, rate: float = 2_500.0) -> tuple[float, float]:
    """Worker CPU and writer-process CPU per row, in µs."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        sink = UsageSink(f"sqlite://{Path(tmp) / 'usage.sqlite'}", 0, capacity=rows + 1)
        sink.start()
        started, t0 = time.process_time(), time.perf_counter()
        for i in range(rows):
            one(sink, i)
            if i % 25 == 0:  # a worker's pace, slept in steps of 10 ms
                time.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
        deadline = time.monotonic() + 60
        while sink.written < rows and time.monotonic() < deadline:
            time.sleep(0.05)
        spent = (time.process_time() - started) / rows * 1e6
        sink.stop()  # the writer has exited: its CPU is in RUSAGE_CHILDREN
        assert sink.written == rows, (sink.written, rows)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    writer_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    return spent, writer_cpu / rows * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50_000)
    args = parser.parse_args()
    print(f"record + pricing + enqueue: {per_request(args.requests):.1f} µs CPU per request (best of 5)")
    print(f"SQLite writer: {writer(args.rows):,.0f} rows/s ({args.rows:,} rows, WAL, batches of 1,000)")
    worker, writer_process = paced(args.requests // 2)
    print(
        f"whole store at 2,500 rows/s: {worker:.1f} µs worker CPU per row (every thread), "
        f"{writer_process:.1f} µs in the writer process"
    )


if __name__ == "__main__":
    main()

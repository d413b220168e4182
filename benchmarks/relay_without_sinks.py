"""`relay run` with nothing ever joining the ops Feed: the "sinks off" side of
benchmarks/ops_bench.py. Granian forks its workers from this process, so the patch holds
in them. Benchmark use only.

    python -m benchmarks.relay_without_sinks GENERATED_DIR --listen HOST:PORT
"""

from __future__ import annotations

import sys

from runtime.ops.feed import Feed, Sink
from runtime.server import serve


def _ignore(self: Feed, sink: Sink) -> None:
    """Feed.add, doing nothing."""


Feed.add = _ignore  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(serve.main())

"""The usage writer process: rows from its worker's pipe into the store.

`python -m runtime.ops.usage.writer WORKER_PID`, started by `sink.UsageSink` on a worker's
first row. SQLite maps its WAL index (`-shm`) into the writing process, and a store file
truncated or lost under it ends that process with SIGBUS; here that ends this process, which
the worker counts and restarts, instead of the worker and the requests it serves. The writer
ends at the end of its input (the worker closed the pipe: it finishes what it was sent), and
is killed when its worker dies (`PR_SET_PDEATHSIG`), even while it retries a failing store.

One batch at a time: a batch the store refuses stays in hand and is retried with backoff
(reconnecting), and nothing more is read meanwhile, so the pipe and then the worker's
bounded queue fill and further rows are dropped and counted there. Rows older than the
retention are pruned hourly.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

from runtime.ops.usage.frames import Config, Report, frame, read_message
from runtime.ops.usage.store import Store, StoreError, open_store
from runtime.parent_watch import die_with_parent

PRUNE_EVERY = 3600.0
BACKOFF_MIN = 0.5
BACKOFF_MAX = 10.0


class Writer:
    def __init__(
        self,
        report: Callable[[Report], None],
        opener: Callable[[str], Store] = open_store,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = ""
        self.retention = 0.0
        self.written = 0
        self._report = report
        self._opener = opener
        self._now = now
        self._sleep = sleep
        self._store: Store | None = None
        self._failing = False
        self._pruned = 0.0

    def serve(self, stream: IO[bytes]) -> None:
        """Every message of `stream`, until it ends."""
        while (message := read_message(stream)) is not None:
            if isinstance(message, Config):
                self.url, self.retention = message.url, message.retention
            else:
                self.write(message.rows)
        if self._store is not None:
            self._store.close()

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write `rows` in one transaction, retrying until the store takes them."""
        backoff = BACKOFF_MIN
        while True:
            try:
                if self._store is None:
                    self._store = self._opener(self.url)
                self._store.insert(rows)
                if self.retention > 0 and self._now() - self._pruned > PRUNE_EVERY:
                    self._store.prune(self._now() - self.retention)
                    self._pruned = self._now()
            except Exception as exc:
                self._failed(exc)
                self._sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            self.written += len(rows)
            self._failing = False
            self._report(Report(self.written))
            return

    def _failed(self, exc: Exception) -> None:
        if self._store is not None:
            with contextlib.suppress(Exception):  # a broken connection may refuse to close
                self._store.close()
            self._store = None
        if not self._failing:
            self._failing = True
            reason = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
            self._report(Report(self.written, reason.splitlines()[0] if reason else type(exc).__name__))


def main(argv: Sequence[str] = sys.argv[1:]) -> None:
    # Ctrl-C and a service manager's SIGTERM reach the whole process group; the writer stays
    # to write what its worker sends while draining, and ends at the end of its input. When
    # the worker dies instead, the writer is killed: no one is left to send or to wait.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    die_with_parent(int(argv[0]), signal.SIGKILL)
    out = sys.stdout.buffer

    def report(r: Report) -> None:
        out.write(frame(r))
        out.flush()

    with contextlib.suppress(BrokenPipeError):  # the worker is gone: nobody is left to tell
        Writer(report).serve(sys.stdin.buffer)


if __name__ == "__main__":
    main()

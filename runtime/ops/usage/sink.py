"""The usage store's Feed sink and its batching writer thread.

On the request path `request()` only builds a tuple and appends it to a bounded deque; a full
deque drops the row and counts it, so a slow disk or a lost PostgreSQL never holds up a
request. Nothing signals the writer per row: a wake-up per row would hand the GIL back and
forth between the worker's loop and the writer thousands of times a second, which cost
more than the insert itself. The writer thread instead wakes every `FLUSH_EVERY` seconds
and takes what gathered in batches (one `executemany` transaction each). When the store
fails it keeps the batch in hand, logs one warning, and retries with backoff, reconnecting;
meanwhile the queue fills to its bound and further rows are dropped and counted (logged as
the count grows). Rows older than the retention are pruned hourly.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from runtime.artifact import UsageStore
from runtime.ops.record import RequestRecord, StateEvent
from runtime.ops.usage.store import Store, StoreError, describe, open_store

log = logging.getLogger("relay.usage")

BATCH_ROWS = 1_000
FLUSH_EVERY = 0.2
"""Seconds between the writer's looks at the deque: rows reach the store that late at most."""
PRUNE_EVERY = 3600.0
BACKOFF_MAX = 10.0

Row = tuple[Any, ...]


def row_of(r: RequestRecord) -> Row:
    """A record as a usage row (`schema.COLUMNS` order); list cost = cost + saved."""
    t = r.tokens or {}
    return (
        r.at,
        r.id,
        r.chain,
        r.format,
        r.model,
        r.provider,
        r.upstream_model,
        r.key,
        r.status,
        len(r.attempts),
        r.latency_ms,
        r.ttfb_ms,
        t.get("input", 0),
        t.get("output", 0),
        t.get("cache_read", 0),
        t.get("cache_write", 0),
        r.cost_usd,
        r.cost_usd + r.saved_usd,
        r.route,
    )


class UsageSink:
    def __init__(
        self,
        url: str,
        retention: float,
        capacity: int = UsageStore().queue,
        opener: Callable[[str], Store] = open_store,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.retention = retention
        self.capacity = capacity
        self._rows: deque[Row] = deque()
        self.dropped = 0
        """Rows lost to a full queue (read by /admin/usage and metrics)."""
        self.written = 0
        self.failing = False
        self._opener = opener
        self._now = now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def queued(self) -> int:
        """Rows waiting for the writer."""
        return len(self._rows)

    def request(self, record: RequestRecord) -> None:
        if len(self._rows) >= self.capacity:
            self.dropped += 1
        else:
            self._rows.append(row_of(record))  # deque.append is atomic: no lock, no wake-up

    def state(self, event: StateEvent) -> None:
        """State changes are not usage."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="relay-usage-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued (within `timeout`), then end the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _take(self, wait: bool = True) -> list[Row]:
        """Up to BATCH_ROWS rows, after waiting FLUSH_EVERY (if `wait`) unless that many are
        there or the sink is stopping."""
        if wait and len(self._rows) < BATCH_ROWS:
            self._stop.wait(FLUSH_EVERY)
        rows = self._rows
        return [rows.popleft() for _ in range(min(len(rows), BATCH_ROWS))]

    def _run(self) -> None:
        store: Store | None = None
        batch: list[Row] = []
        backoff = 0.5
        pruned = 0.0
        reported = 0
        while True:
            stopping = self._stop.is_set()
            if not batch:
                batch = self._take()
            if stopping and not batch:
                break
            if self.dropped > reported:
                log.warning(f"usage rows dropped: {self.dropped} so far (the store is slow or unreachable)")
                reported = self.dropped
            try:
                if store is None:
                    store = self._opener(self.url)
                while batch:  # once back from a failure, what queued meanwhile goes at once
                    store.insert(batch)
                    self.written += len(batch)
                    batch = self._take(wait=False) if self.failing else []
                if self.retention > 0 and self._now() - pruned > PRUNE_EVERY:
                    store.prune(self._now() - self.retention)
                    pruned = self._now()
            except Exception as exc:
                self._failed(store, exc)
                store = None
                if stopping or self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            if self.failing:
                self.failing = False
                log.warning(f"usage store {describe(self.url)} is back; writing rows again")
            backoff = 0.5
        if store is not None:
            store.close()

    def _failed(self, store: Store | None, exc: Exception) -> None:
        if not self.failing:
            self.failing = True
            reason = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
            log.warning(
                f"usage store {describe(self.url)} failed; rows queue up to {self.capacity}, then "
                f"are dropped and counted: {reason.splitlines()[0] if reason else ''}"
            )
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()

"""The usage store's Feed sink and its batching writer thread.

On the request path `request()` only builds a tuple and offers it to a bounded queue; a full
queue drops the row and counts it, so a slow disk or a lost PostgreSQL never holds up a
request. The writer thread takes rows in batches (one transaction each). When the store
fails it keeps the batch in hand, logs one warning, and retries with backoff, reconnecting;
meanwhile the queue fills to its bound and further rows are dropped and counted (logged as
the count grows). Rows older than the retention are pruned hourly.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from runtime.artifact import UsageStore
from runtime.ops.record import RequestRecord, StateEvent
from runtime.ops.usage.store import Store, StoreError, describe, open_store

log = logging.getLogger("relay.usage")

BATCH_ROWS = 1_000
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
        self.rows: queue.Queue[Row] = queue.Queue(capacity)
        self.dropped = 0
        """Rows lost to a full queue (read by /admin/usage and metrics)."""
        self.written = 0
        self.failing = False
        self._opener = opener
        self._now = now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def request(self, record: RequestRecord) -> None:
        try:
            self.rows.put_nowait(row_of(record))
        except queue.Full:
            self.dropped += 1

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

    def _take(self) -> list[Row]:
        try:
            batch = [self.rows.get(timeout=0.5)]
        except queue.Empty:
            return []
        with contextlib.suppress(queue.Empty):
            while len(batch) < BATCH_ROWS:
                batch.append(self.rows.get_nowait())
        return batch

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
                if batch:
                    store.insert(batch)
                    self.written += len(batch)
                    batch = []
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
                f"usage store {describe(self.url)} failed; rows queue up to {self.rows.maxsize}, then "
                f"are dropped and counted: {reason.splitlines()[0] if reason else ''}"
            )
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()

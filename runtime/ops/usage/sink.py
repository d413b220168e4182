"""The usage store's Feed sink: rows leave the worker for a writer process it owns.

On the request path `request()` only builds a tuple and appends it to a deque; when the rows
not yet in the store (queued here, or sent and not yet written) reach the bound, the row is
dropped and counted, so a slow disk or a lost PostgreSQL never holds up a request. Nothing signals per row (a wake-up per row would hand the GIL back and forth between
the worker's loop and a thread thousands of times a second): a feeder thread wakes every
`FLUSH_EVERY` seconds and sends what gathered, msgpack batches of up to `BATCH_ROWS`, down a
non-blocking pipe to the writer process (`writer`), which does the SQLite or PostgreSQL work
outside this interpreter. A store whose files are truncated or unwritable can then only end
the writer (SQLite's shared memory raises SIGBUS in the process that maps it), never the
worker: the feeder sees it exit, counts it (`writer_exits`) and the rows it had not written
(as dropped), logs one line, and starts a new writer with backoff. The writer starts on the
first row, so an idle worker holds no second process; the feeder thread starts it, and lives
as long as the worker, because the writer's death signal follows the thread that started it.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Any

from runtime.artifact import UsageStore
from runtime.ops.record import RequestRecord, StateEvent
from runtime.ops.usage.frames import PACKAGE_ROOT, Batch, Config, Reports, frame
from runtime.ops.usage.store import describe
from runtime.ops.usage.writer import BACKOFF_MAX, BACKOFF_MIN

log = logging.getLogger("relay.usage")

BATCH_ROWS = 1_000
FLUSH_EVERY = 0.2
"""Seconds between the feeder's looks at the deque: rows reach the writer that late at most."""

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


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class _Writer:
    """One writer process as its worker sees it."""

    def __init__(self, proc: subprocess.Popen[bytes], first: bytes) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self.to = proc.stdin.fileno()
        self.back = proc.stdout.fileno()
        os.set_blocking(self.to, False)
        os.set_blocking(self.back, False)
        self.pending = memoryview(first)
        """Bytes of the current frame the pipe has not taken yet."""
        self.sent = 0
        """Rows handed to this process (whole or partly sent frames)."""
        self.written = 0
        self.reports = Reports()

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


class UsageSink:
    def __init__(self, url: str, retention: float, capacity: int = UsageStore().queue) -> None:
        self.url = url
        self.capacity = capacity
        self._retention = retention
        self._rows: deque[Row] = deque()
        self.dropped = 0
        """Rows lost: to a full queue, or in a writer process that died (/admin/usage, metrics)."""
        self.written = 0
        self.failing = False
        self.writer_exits = 0
        """Writer processes that ended unasked (each was restarted)."""
        self._writer: _Writer | None = None
        self._unwritten = 0
        """Rows sent to the writer and not yet written: they count against `capacity` too, so
        the bound holds for every row not in the store, whatever the pipe buffers."""
        self._written_before = 0
        self._config_due = False
        self._backoff = BACKOFF_MIN
        self._restart_at = 0.0
        self._reported = 0
        self._said = ""
        self._stop = threading.Event()
        self._grace = 5.0
        self._thread: threading.Thread | None = None

    @property
    def retention(self) -> float:
        return self._retention

    @retention.setter
    def retention(self, seconds: float) -> None:
        """A reload's new retention reaches the writer with the next batch."""
        self._retention = seconds
        self._config_due = True

    @property
    def queued(self) -> int:
        """Rows not yet in the store: waiting for the feeder, or sent and not yet written."""
        return len(self._rows) + self._unwritten

    @property
    def writer_pid(self) -> int | None:
        writer = self._writer
        return None if writer is None else writer.proc.pid

    def request(self, record: RequestRecord) -> None:
        if len(self._rows) + self._unwritten >= self.capacity:
            self.dropped += 1
        else:
            self._rows.append(row_of(record))  # deque.append is atomic: no lock, no wake-up

    def state(self, event: StateEvent) -> None:
        """State changes are not usage."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="relay-usage-feeder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Hand what is queued to the writer and let it finish (within `timeout`), then end it."""
        self._grace = timeout
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout + 1.0)

    def _run(self) -> None:
        flowing = True
        while True:
            stopping = self._stop.is_set()
            if not stopping and not (flowing and len(self._rows) >= BATCH_ROWS):
                stopping = self._stop.wait(FLUSH_EVERY)  # a full pipe or no writer: no spinning
            if stopping:
                self._finish(time.monotonic() + self._grace)
                return
            try:
                flowing = self._tick()
            except Exception as exc:  # the feeder must outlive any surprise: its end ends the writer
                said = f"usage feeder: {type(exc).__name__}: {exc}"
                if said != self._said:  # once, not five times a second
                    log.error(said)
                    self._said = said
                flowing = False

    def _tick(self) -> bool:
        """One look: the writer's reports and health, a restart when due, rows sent. True when
        the pipe took every row there was."""
        writer = self._writer
        if writer is not None:
            self._hear(writer)
            if writer.proc.poll() is not None:
                self._lost(writer)
                writer = None
        if writer is None and self._rows and time.monotonic() >= self._restart_at:
            writer = self._spawn()
        flowing = writer is not None and self._send(writer)
        if self.dropped > self._reported:
            log.warning(f"usage rows dropped: {self.dropped} so far (the store is slow or unreachable)")
            self._reported = self.dropped
        return flowing

    def _spawn(self) -> _Writer | None:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "runtime.ops.usage.writer", str(os.getpid())],
                cwd=PACKAGE_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except OSError as exc:
            self._detach(f"usage writer cannot be started ({exc})")
            return None
        self._config_due = False
        self._writer = _Writer(proc, frame(Config(self.url, self._retention)))
        return self._writer

    def _send(self, writer: _Writer) -> bool:
        """Fill the pipe with what it takes now; the rest waits for the next tick. False when
        the pipe is full (or gone)."""
        rows = self._rows
        while True:
            if not writer.pending:
                if self._config_due:
                    self._config_due = False
                    writer.pending = memoryview(frame(Config(self.url, self._retention)))
                elif rows:
                    size = min(len(rows), BATCH_ROWS)
                    writer.sent += size
                    self._unwritten = writer.sent - writer.written  # before the rows leave the deque
                    batch = [rows.popleft() for _ in range(size)]
                    writer.pending = memoryview(frame(Batch(batch)))
                else:
                    return True
            try:
                taken = os.write(writer.to, writer.pending)
            except (BlockingIOError, BrokenPipeError):  # full: next tick; gone: `_tick` sees it exit
                return False
            writer.pending = writer.pending[taken:]

    def _hear(self, writer: _Writer) -> None:
        while True:
            try:
                data = os.read(writer.back, 65536)
            except BlockingIOError:
                return
            if not data:
                return
            for report in writer.reports.feed(data):
                writer.written = report.written
                self._unwritten = writer.sent - writer.written
                self.written = self._written_before + report.written
                # Each line is logged before the state it reports changes: whoever sees the
                # state (metrics, tests) finds the line there.
                if report.failing:  # once per writer and failure: a line per restart at most
                    log.warning(
                        f"usage store {describe(self.url)} failed; rows queue up to {self.capacity}, "
                        f"then are dropped and counted: {report.failing}"
                    )
                    self.failing = True
                elif not report.failing and report.written:
                    self._backoff = BACKOFF_MIN
                    if self.failing:
                        log.warning(f"usage store {describe(self.url)} is back; writing rows again")
                        self.failing = False

    def _lost(self, writer: _Writer) -> None:
        """The writer ended unasked: count it and its unwritten rows, detach, restart later."""
        self._hear(writer)
        writer.close()
        self._writer = None
        self._unwritten = 0
        self._written_before += writer.written
        lost = writer.sent - writer.written
        self.dropped += lost
        self._detach(
            f"usage writer (pid {writer.proc.pid}) {_exit_reason(writer.proc.returncode)}; "
            f"{lost} rows it had not written are dropped"
        )
        self.writer_exits += 1  # last: whoever reads the count (metrics, tests) finds the line logged

    def _detach(self, what: str) -> None:
        log.warning(f"{what}; requests go on, a new writer starts in {self._backoff:g}s")
        self.failing = True
        self._restart_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_MAX)

    def _finish(self, deadline: float) -> None:
        """At worker exit: send what is queued, close the pipe, wait for the writer to end."""
        writer = self._writer
        if writer is None and self._rows:
            writer = self._spawn()
        if writer is None:
            return
        while time.monotonic() < deadline and writer.proc.poll() is None and (self._rows or writer.pending):
            self._send(writer)
            self._hear(writer)
            select.select([writer.back], [writer.to], [], 0.05)
        writer.pending = memoryview(b"")
        if writer.proc.stdin is not None:
            writer.proc.stdin.close()
        while time.monotonic() < deadline and writer.proc.poll() is None:
            select.select([writer.back], [], [], 0.05)
            self._hear(writer)
        if writer.proc.poll() is None:
            writer.proc.kill()
            writer.proc.wait()
        self._hear(writer)
        self.dropped += len(self._rows) + writer.sent - writer.written
        self._rows.clear()
        writer.close()
        self._writer = None

"""The usage store can never take a worker down (issue 18 §3): each worker writes through a
writer process of its own, and a store file truncated under it (SIGBUS from SQLite's shared
memory) or a `kill -9` ends only that process, which the worker counts, logs and restarts
while every request is answered; the writer ends with its worker."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import RelayFactory
from tests.e2e.procs import FakeUpstream, Relay, wait_until
from tests.e2e.test_admin_events import PLAIN
from tests.e2e.test_metrics import scrape, total
from tests.e2e.test_process_tree import _load, alive, workers

pytestmark = pytest.mark.e2e


def defs(fake: FakeUpstream, db: Path) -> dict[str, str]:
    """test_admin_events' plain chain, with the usage store in `db`."""
    return {"r.yaml": PLAIN.format(url=fake.url, state=f'memory\n  usage: {{store: "sqlite://{db}"}}')}


@contextmanager
def serving(fake: FakeUpstream, start_relay: RelayFactory, db: Path) -> Iterator[tuple[Relay, int]]:
    """`relay run` with one worker and its usage store in `db`; yields it and the worker's pid."""
    with start_relay(defs(fake, db)) as relay:
        wait_until(lambda: len(workers(relay.proc.pid)) == 1, "the worker")
        (worker,) = workers(relay.proc.pid)
        yield relay, worker


@contextmanager
def under_load(relay: Relay) -> Iterator[list[int]]:
    """One client sending one request after another; yields the statuses as they come."""
    stop, statuses = threading.Event(), list[int]()
    load = threading.Thread(target=_load, args=(relay, stop, statuses))
    load.start()
    try:
        yield statuses
    finally:
        stop.set()
        load.join()


def writer_of(worker: int) -> int | None:
    """The worker's usage writer process, if it has one now."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == worker and fields[0] != "Z" and b"runtime.ops.usage.writer" in cmdline:
            return int(stat.parent.name)
    return None


def rows_since(relay: Relay, at: float) -> int:
    """Rows since `at`, as `/admin/usage` reads them: in a reader process of its own, since
    a process holding the store open here could itself get SIGBUS from the truncation."""
    found = httpx.get(f"{relay.url}/admin/usage?by=chain&since={at}", timeout=10)
    assert found.status_code == 200, found.text
    return int(found.json()["totals"]["requests"])


def test_a_truncated_store_or_a_killed_writer_never_fails_a_request(
    fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path
) -> None:
    """Was: a store file truncated mid-run ended the worker with SIGBUS, and with it the relay."""
    db = tmp_path / "usage.sqlite"
    with serving(fake, start_relay, db) as (relay, worker):
        with under_load(relay) as statuses:
            wait_until(lambda: rows_since(relay, 0) > 0, "rows written")
            first = writer_of(worker)
            assert first is not None
            os.truncate(f"{db}-shm", 0)  # what a careless backup or a full disk does to a live store
            wait_until(lambda: f"usage writer (pid {first}) was killed by SIGBUS" in relay.output(), "SIGBUS")
            restored = time.time()
            wait_until(lambda: rows_since(relay, restored) > 0, "rows written by a new writer")
            second = writer_of(worker)
            assert second not in (None, first)
            os.kill(second or 0, signal.SIGKILL)
            wait_until(lambda: f"usage writer (pid {second}) was killed by SIGKILL" in relay.output(), "kill")
            killed = time.time()
            wait_until(lambda: rows_since(relay, killed) > 0, "rows written after the kill")
            served = len(statuses)
            wait_until(lambda: len(statuses) >= served + 10, "load served after both")
        assert relay.proc.poll() is None and workers(relay.proc.pid) == [worker]  # the worker lived
        assert len(statuses) >= 20 and set(statuses) == {200}, [s for s in statuses if s != 200]
        assert total(scrape(relay), "relay_usage_writer_exits_total") == 2
        output = relay.output()
        assert output.count("usage writer (pid") == 2 and "requests go on, a new writer starts in" in output
        assert "is back; writing rows again" in output


def test_the_writer_exits_when_its_worker_dies(
    fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path
) -> None:
    db = tmp_path / "usage.sqlite"
    with serving(fake, start_relay, db) as (relay, worker):
        assert writer_of(worker) is None  # an idle worker holds no writer
        with under_load(relay):
            wait_until(lambda: writer_of(worker) is not None, "the writer")
            writer = writer_of(worker) or 0
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: not alive(writer), "the writer exits with its worker", timeout=10)

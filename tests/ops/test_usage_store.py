"""The usage store: schema migration, the bounded queue, the writer process, aggregates and their reader."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.errors import BadRequest
from runtime.ops.usage.frames import Batch, Config, Report, Reports, frame
from runtime.ops.usage.query import read
from runtime.ops.usage.report import UsageQuery, aggregate, parse_when
from runtime.ops.usage.schema import MIGRATIONS, VERSION
from runtime.ops.usage.sink import Row, UsageSink, row_of
from runtime.ops.usage.store import Store, StoreError, default_sqlite_path, describe, open_store, resolve
from runtime.ops.usage.writer import Writer
from runtime.server.admin_usage import parse_query
from tests.ops.usage_rows import record

NOW = 1_800_000_000.0


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'usage.sqlite'}"


def count(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "usage.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM usage").fetchone()[0])


def test_a_version_1_store_migrates_forward_keeping_its_rows(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "usage.sqlite")
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1)")
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO usage VALUES (?, 'req_old', 'free', 'openai', 'free', 'groq', 'llama', NULL, 200, 1, "
        "50.0, NULL, 100, 20, 40, 0.0, 0.5)",
        (NOW,),
    )
    conn.commit()
    conn.close()
    store = open_store(url(tmp_path))
    assert store.version() == VERSION == 3
    assert store.fetch("SELECT request_id, cache_read_tokens, cache_write_tokens, route FROM usage") == [
        ("req_old", 40, 0, None)
    ]
    store.close()
    reopened = open_store(url(tmp_path))  # already current: nothing to apply
    assert reopened.version() == VERSION
    reopened.close()


def test_a_store_newer_than_relay_is_refused(tmp_path: Path) -> None:
    open_store(url(tmp_path)).close()
    with sqlite3.connect(tmp_path / "usage.sqlite") as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="schema version 99, newer"):
        open_store(url(tmp_path))


def test_an_unwritable_path_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite://{blocker}/usage.sqlite")
    assert "cannot be opened for writing" in str(caught.value) and "\n" not in str(caught.value)


def test_a_full_queue_drops_and_counts_without_blocking(tmp_path: Path) -> None:
    sink = UsageSink(url(tmp_path), 0, capacity=3)  # not started: nothing drains the queue
    started = time.perf_counter()
    for i in range(10):
        sink.request(record(NOW, rid=f"req_{i}"))
    assert time.perf_counter() - started < 1.0
    assert sink.queued == 3 and sink.dropped == 7


def test_rows_sent_to_a_failing_writer_count_against_the_bound(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    sink = UsageSink(f"sqlite://{blocker}/usage.sqlite", 0, capacity=5)
    sink.start()
    for i in range(5):
        sink.request(record(NOW + i, rid=f"req_{i}"))
    wait_for(lambda: sink.failing)  # the writer holds its batch and retries it
    assert sink.queued == 5 and sink.dropped == 0
    for i in range(8):
        sink.request(record(NOW + 10 + i, rid=f"late_{i}"))
    assert sink.queued == 5 and sink.dropped == 8
    assert f"usage store {blocker}/usage.sqlite failed; rows queue up to 5" in caplog.text
    sink.stop(timeout=0.5)  # the writer cannot finish: it is ended, its rows counted
    assert sink.dropped == 13 and sink.written == 0


def test_a_full_pipe_to_a_failing_writer_costs_the_worker_no_spinning(tmp_path: Path) -> None:
    """A backlog of more than a batch once made the feeder retry its write without pausing."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    sink = UsageSink(f"sqlite://{blocker}/usage.sqlite", 0, capacity=5000)
    sink.start()
    for i in range(4000):  # a batch of 1,000 rows is more than the pipe holds
        sink.request(record(NOW + i, rid=f"req_{i}"))
    wait_for(lambda: sink.failing)
    started = time.process_time()
    time.sleep(1.0)  # a window to measure this process's CPU in, not a wait for an event
    spent = time.process_time() - started
    sink.stop(timeout=0.5)
    assert spent < 0.1, f"{spent:.2f} s of CPU in 1 s while the writer was stuck"


def test_the_writer_process_writes_every_queued_row_and_flushes_at_stop(tmp_path: Path) -> None:
    sink = UsageSink(url(tmp_path), 0)
    sink.start()
    assert sink.writer_pid is None  # no row yet: no second process
    for i in range(2500):
        sink.request(record(NOW + i, rid=f"req_{i}"))
    wait_for(lambda: sink.writer_pid is not None)
    writer = sink.writer_pid
    sink.stop()
    assert count(tmp_path) == 2500 and sink.written == 2500 and sink.dropped == 0
    assert writer is not None and not alive(writer)


def alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_a_writer_that_dies_is_counted_and_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sink = UsageSink(url(tmp_path), 0)
    sink.start()
    sink.request(record(NOW, rid="first"))
    wait_for(lambda: sink.written == 1)
    first = sink.writer_pid
    assert first is not None
    os.truncate(tmp_path / "usage.sqlite-shm", 0)  # SQLite's mapped WAL index: the next write faults
    sink.request(record(NOW + 1, rid="lost"))
    wait_for(lambda: sink.writer_exits == 1)
    assert sink.dropped == 1 and sink.failing
    assert (
        f"usage writer (pid {first}) was killed by SIGBUS; 1 rows it had not written are dropped"
        in caplog.text
    )
    sink.request(record(NOW + 2, rid="after"))
    wait_for(lambda: sink.written == 2 and not sink.failing)
    assert sink.writer_pid not in (None, first) and "is back; writing rows again" in caplog.text
    os.kill(sink.writer_pid or 0, signal.SIGKILL)
    wait_for(lambda: sink.writer_exits == 2)
    sink.stop()
    store = open_store(url(tmp_path))
    assert sorted(r[0] for r in store.fetch("SELECT request_id FROM usage")) == ["after", "first"]
    store.close()


class Reported(list[Report]):
    def __call__(self, report: Report) -> None:
        self.append(report)


def messages(*batches: list[Row], config: Config | None = None) -> io.BytesIO:
    out = frame(config) if config else b""
    return io.BytesIO(out + b"".join(frame(Batch(rows)) for rows in batches))


def test_a_failing_store_keeps_its_batch_and_retries_with_backoff(tmp_path: Path) -> None:
    attempts: list[str] = []
    slept: list[float] = []

    def opener(u: str) -> Store:
        attempts.append(u)
        if len(attempts) <= 5:
            raise StoreError(
                "usage store postgresql://db/relay is unreachable or refused: connection refused"
            )
        return open_store(u)

    reports = Reported()
    writer = Writer(reports, opener=opener, sleep=slept.append)
    rows = [row_of(record(NOW + i, rid=f"req_{i}")) for i in range(3)]
    writer.serve(messages(rows, rows[:1], config=Config(url(tmp_path), 0)))
    assert slept == [0.5, 1.0, 2.0, 4.0, 8.0]  # doubling, up to BACKOFF_MAX
    assert reports == [
        Report(0, "usage store postgresql://db/relay is unreachable or refused: connection refused"),
        Report(3),
        Report(4),
    ]
    assert count(tmp_path) == 4


def test_a_cut_frame_is_the_end_of_input(tmp_path: Path) -> None:
    reports = Reported()
    whole = messages([row_of(record(NOW, rid="whole"))], config=Config(url(tmp_path), 0)).getvalue()
    cut = frame(Batch([row_of(record(NOW, rid="cut"))]))[:-3]
    Writer(reports).serve(io.BytesIO(whole + cut))
    assert reports == [Report(1)] and count(tmp_path) == 1


def test_retention_prunes_old_rows_and_follows_a_reload(tmp_path: Path) -> None:
    writer = Writer(Reported(), now=lambda: NOW)
    writer.serve(
        messages(
            [row_of(record(NOW - 7200, rid="old"))],
            [row_of(record(NOW - 60, rid="new"))],
            config=Config(url(tmp_path), 0),
        )
    )
    assert count(tmp_path) == 2  # retention 0: kept
    Writer(Reported(), now=lambda: NOW).serve(
        messages([row_of(record(NOW - 30, rid="newer"))], config=Config(url(tmp_path), 3600))
    )
    store = open_store(url(tmp_path))
    assert sorted(r[0] for r in store.fetch("SELECT request_id FROM usage")) == ["new", "newer"]
    store.close()


def test_a_reloaded_retention_reaches_the_running_writer(tmp_path: Path) -> None:
    now = time.time()
    sink = UsageSink(url(tmp_path), 0)
    sink.start()
    sink.request(record(now - 7200, rid="old"))
    wait_for(lambda: sink.written == 1)
    sink.retention = 3600  # what `Service.reload` does
    sink.request(record(now, rid="new"))
    wait_for(lambda: sink.written == 2)
    sink.stop()
    store = open_store(url(tmp_path))
    assert store.fetch("SELECT request_id FROM usage") == [("new",)]
    store.close()


def test_the_feeder_outlives_a_row_it_cannot_send(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sink = UsageSink(url(tmp_path), 0)
    sink.start()
    sink._rows.append((object(),))  # no record yields this; a bug that did must not end usage
    wait_for(lambda: "usage feeder: TypeError" in caplog.text)
    sink.request(record(NOW, rid="after"))
    wait_for(lambda: sink.written == 1)
    sink.stop()
    assert count(tmp_path) == 1


def test_reports_arrive_whole_from_any_split() -> None:
    data = b"".join(frame(Report(n, "down" if n % 2 else None)) for n in range(5))
    for step in (1, 3, 7, len(data)):
        parser = Reports()
        found = [r for i in range(0, len(data), step) for r in parser.feed(data[i : i + step])]
        assert found == [Report(n, "down" if n % 2 else None) for n in range(5)]


def fill(tmp_path: Path) -> Store:
    store = open_store(url(tmp_path))
    rows = [
        record(NOW + 10, "groq", latency=100, cost=0.0, saved=0.5),
        record(NOW + 20, "groq", latency=300, cost=0.0, saved=0.5),
        record(NOW + 30, "groq", latency=200, status=500, cost=0.0, saved=0.0),
        record(NOW + 3700, "anthropic", chain="claude", latency=900, cost=1.25, saved=0.0),
        record(NOW + 3800, None, chain="claude", status=529, latency=5, tokens={}),
        record(NOW - 100, "groq", latency=1),  # before the range
    ]
    store.insert([row_of(r) for r in rows])
    return store


def test_aggregates_by_provider_with_totals_and_medians(tmp_path: Path) -> None:
    store = fill(tmp_path)
    out = aggregate(store, UsageQuery(NOW, NOW + 86400, "provider"))
    by = {row["group"]: row for row in out["rows"]}
    assert list(by) == ["-", "anthropic", "groq"]
    groq = by["groq"]
    assert (groq["requests"], groq["errors"], groq["input_tokens"], groq["output_tokens"]) == (3, 1, 300, 60)
    assert (groq["cost_usd"], groq["list_cost_usd"], groq["saved_usd"]) == (0.0, 1.0, 1.0)
    assert groq["latency_ms_p50"] == 200.0 and groq["ttfb_ms_p50"] is None
    assert by["-"]["errors"] == 1 and by["-"]["input_tokens"] == 0
    assert out["totals"]["requests"] == 5 and out["totals"]["cost_usd"] == 1.25
    assert out["totals"]["saved_usd"] == 1.0


def test_aggregates_by_hour_and_filters(tmp_path: Path) -> None:
    store = fill(tmp_path)
    out = aggregate(store, UsageQuery(NOW, NOW + 86400, "hour"))
    assert [(r["group"], r["requests"]) for r in out["rows"]] == [
        ("2027-01-15T08:00Z", 3),
        ("2027-01-15T09:00Z", 2),
    ]
    only = aggregate(store, UsageQuery(NOW, NOW + 86400, "chain", chain="claude", provider="anthropic"))
    assert [(r["group"], r["requests"], r["cost_usd"]) for r in only["rows"]] == [("claude", 1, 1.25)]


def test_query_values_are_checked_and_named() -> None:
    assert parse_when("24h", NOW) == NOW - 86400 and parse_when("7d", NOW) == NOW - 7 * 86400
    assert parse_when(str(NOW - 5), NOW) == NOW - 5
    assert parse_query({}, NOW) == UsageQuery(NOW - 86400, NOW, "provider")
    for params, param in (
        ({"by": "week"}, "by"),
        ({"since": "yesterday"}, "since"),
        ({"until": "-5"}, "until"),
        ({"since": "1h", "until": "2h"}, "since"),
        ({"chain": ""}, "chain"),
    ):
        with pytest.raises(BadRequest) as caught:
            parse_query(params, NOW)
        assert caught.value.param == param


def test_several_writers_share_one_sqlite_file(tmp_path: Path) -> None:
    """Each worker has its own writer process and connection on the same file (WAL, busy timeout)."""
    sinks = [UsageSink(url(tmp_path), 0) for _ in range(3)]
    for sink in sinks:
        sink.start()
    for i in range(3000):
        sinks[i % 3].request(record(NOW + i, rid=f"req_{i}"))
    for sink in sinks:
        sink.stop()
    assert count(tmp_path) == 3000 and sum(s.dropped for s in sinks) == 0


def test_an_operator_never_sees_store_credentials() -> None:
    shown = describe("postgresql://relay:s3cret-pass@db.internal:5433/usage?sslmode=require")
    assert shown == "postgresql://db.internal:5433/usage" and "s3cret" not in shown
    assert describe("sqlite:///var/lib/relay/usage.sqlite") == "/var/lib/relay/usage.sqlite"


def test_the_sqlalchemy_spelling_of_an_absolute_path_is_the_same_file(tmp_path: Path) -> None:
    """`sqlite:////tmp/x` (four slashes) once printed as `//tmp/x` and named another file."""
    four = f"sqlite:///{tmp_path}/usage.sqlite"
    assert describe(four) == f"{tmp_path}/usage.sqlite"
    open_store(four).close()
    assert (tmp_path / "usage.sqlite").exists()


def test_each_build_folder_has_its_own_default_store() -> None:
    """A relay's usage views show its own traffic, not every relay the user ever ran."""
    root = Path("/home/op/checkouts/relay/generated")
    mine = default_sqlite_path(root, {"XDG_STATE_HOME": "/state"})
    assert mine.parent == Path("/state/relay/usage") and mine.name.startswith("relay-generated-")
    assert default_sqlite_path(root, {"HOME": "/home/op"}).parent == Path("/home/op/.local/state/relay/usage")
    other = default_sqlite_path(Path("/home/op/other/relay/generated"), {"XDG_STATE_HOME": "/state"})
    assert other != mine and other.name.startswith("relay-generated-")
    assert resolve("sqlite", root) == f"sqlite://{default_sqlite_path(root)}"
    assert resolve("postgresql://db/relay", root) == "postgresql://db/relay"


def test_reads_run_in_a_process_of_their_own_and_fail_in_one_line(tmp_path: Path) -> None:
    fill(tmp_path).close()
    q = UsageQuery(NOW, NOW + 86400, "provider")
    store = open_store(url(tmp_path))
    assert read(url(tmp_path), q) == aggregate(store, q)
    store.close()
    with pytest.raises(StoreError) as caught:
        read(f"sqlite://{tmp_path}/missing/usage.sqlite", q)
    assert str(caught.value) == "no such table: usage"

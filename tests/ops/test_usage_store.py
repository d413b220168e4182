"""The usage store: schema migration, the bounded queue, the writer thread, aggregates."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.errors import BadRequest
from runtime.ops.usage.report import UsageQuery, aggregate, parse_when
from runtime.ops.usage.schema import MIGRATIONS, VERSION
from runtime.ops.usage.sink import UsageSink
from runtime.ops.usage.store import Store, StoreError, default_sqlite_path, describe, open_store, resolve
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


def test_the_writer_writes_every_queued_row_and_flushes_at_stop(tmp_path: Path) -> None:
    sink = UsageSink(url(tmp_path), 0)
    sink.start()
    for i in range(2500):
        sink.request(record(NOW + i, rid=f"req_{i}"))
    sink.stop()
    assert count(tmp_path) == 2500 and sink.written == 2500 and sink.dropped == 0


def test_a_failing_store_queues_to_the_bound_then_drops_and_recovers(tmp_path: Path) -> None:
    down = threading.Event()
    down.set()

    def opener(u: str) -> Store:
        if down.is_set():
            raise StoreError(
                "usage store postgresql://db/relay is unreachable or refused: connection refused"
            )
        return open_store(u)

    sink = UsageSink(url(tmp_path), 0, capacity=5, opener=opener)
    sink.start()
    for i in range(20):
        sink.request(record(NOW + i, rid=f"req_{i}"))
    wait_for(lambda: sink.failing)
    assert sink.dropped >= 10  # at most five queued (the bound) and five in the writer's hand
    before, room = sink.dropped, 5 - sink.queued
    for i in range(8):  # the writer holds its batch while the store is down: the queue fills
        sink.request(record(NOW + 100 + i, rid=f"late_{i}"))
    assert sink.queued == 5 and sink.dropped == before + 8 - room
    down.clear()
    wait_for(lambda: sink.written == 28 - sink.dropped and not sink.failing)
    sink.stop()
    assert count(tmp_path) == 28 - sink.dropped


def test_retention_prunes_old_rows(tmp_path: Path) -> None:
    sink = UsageSink(url(tmp_path), retention=3600, now=lambda: NOW)
    sink.start()
    sink.request(record(NOW - 7200, rid="old"))
    sink.stop()
    sink = UsageSink(url(tmp_path), retention=3600, now=lambda: NOW)
    sink.start()
    sink.request(record(NOW - 60, rid="new"))
    sink.stop()
    store = open_store(url(tmp_path))
    assert store.fetch("SELECT request_id FROM usage") == [("new",)]
    store.close()


def fill(tmp_path: Path) -> Store:
    store = open_store(url(tmp_path))
    from runtime.ops.usage.sink import row_of

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
    """Each worker has its own writer and connection on the same file (WAL, busy timeout)."""
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

"""Usage history and money saved end to end: a real relay writing to SQLite or a real
PostgreSQL, `/admin/usage`, and `relay usage` as an operator runs it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.conftest import UPSTREAM_KEYS, RelayFactory
from tests.e2e.postgres import postgres
from tests.e2e.procs import (
    REPO,
    FakeUpstream,
    Relay,
    anthropic_client,
    build,
    clean_env,
    relay_run,
    wait_until,
    write_defs,
)

pytestmark = pytest.mark.e2e

ADMIN_KEY = "admin-key-0123456789abcdef"
ENV = {"RELAY_ADMIN_KEY": ADMIN_KEY}

DEFS = """\
version: 1
server:
  admin: {{keys: ["${{RELAY_ADMIN_KEY}}"]}}
  usage: {{store: "{store}", queue: {queue}}}
providers:
  paid:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_A}}"]
    timeouts: {{first_byte: 2s}}
  free:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_B}}"]
    timeouts: {{first_byte: 2s}}
models:
  sonnet:
    cost: {{input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}}
    providers: {{paid: claude-up}}
  gratis:
    cost: {{input: 0, output: 0}}
    providers: {{free: free-up}}
chains:
  claude:
    match: ["claude-*"]
    steps: [free/gratis, paid/sonnet]
references:
  claude: {{input: 3, output: 15, cache_read: 0.3, cache_write: 3.75, date: "2026-11-01"}}
"""

USAGE = {
    "input_tokens": 1000,
    "output_tokens": 200,
    "cache_read_input_tokens": 4000,
    "cache_creation_input_tokens": 2000,
}
"""Reference cost: (1000 * 3 + 200 * 15 + 4000 * 0.3 + 2000 * 3.75) / 1e6 = 0.0147 USD."""
REFERENCE = 0.0147


def answer(model: str = "free-up") -> dict[str, Any]:
    return {
        "body": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": USAGE,
        }
    }


def ask(relay: Relay) -> None:
    client = anthropic_client(relay)
    client.messages.create(model="claude-x", max_tokens=50, messages=[{"role": "user", "content": "hi"}])


def admin_usage(relay: Relay, query: str, key: str | None = ADMIN_KEY) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{relay.url}/admin/usage?{query}", headers=headers, timeout=10)


def sqlite_rows(path: Path) -> list[sqlite3.Row]:
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute("SELECT * FROM usage ORDER BY at"))


def defs(fake: FakeUpstream, store: str, queue: int = 10_000) -> dict[str, str]:
    return {"relay.yaml": DEFS.format(url=fake.url, store=store, queue=queue)}


def relay_usage(relay: Relay, *args: str, key: str | None = ADMIN_KEY) -> subprocess.CompletedProcess[str]:
    env = {} if key is None else {"RELAY_ADMIN_KEY": key}
    return subprocess.run(
        [sys.executable, "-m", "compiler", "usage", "--url", relay.url, *args],
        cwd=REPO,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_requests_become_rows_with_cost_and_saved(
    fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path
) -> None:
    db = tmp_path / "usage.sqlite"
    with start_relay(defs(fake, f"sqlite://{db}"), env=ENV) as relay:
        fake.script(
            answer(),
            {
                "status": 529,
                "body": {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
            },
            answer("claude-up"),
        )
        ask(relay)  # served free
        ask(relay)  # free overloaded, served by paid
        wait_until(lambda: len(sqlite_rows(db)) == 2, "two usage rows")
        free, paid = sqlite_rows(db)
        assert (free["chain"], free["provider"], free["upstream_model"], free["status"]) == (
            "claude",
            "free",
            "free-up",
            200,
        )
        assert (free["format"], free["model"], free["attempts"]) == ("anthropic", "claude-x", 1)
        assert free["key"].startswith("sha256:") and free["request_id"].startswith("req_")
        assert (free["input_tokens"], free["output_tokens"]) == (7000, 200)
        assert (free["cache_read_tokens"], free["cache_write_tokens"]) == (4000, 2000)
        assert free["cost_usd"] == 0 and free["list_cost_usd"] == pytest.approx(REFERENCE)
        assert (paid["provider"], paid["attempts"]) == ("paid", 2)
        assert paid["cost_usd"] == pytest.approx(REFERENCE) and paid["list_cost_usd"] == pytest.approx(
            REFERENCE
        )

        by_provider = admin_usage(relay, "by=provider&since=1h")
        assert by_provider.status_code == 200, by_provider.text
        body = by_provider.json()
        rows = {row["group"]: row for row in body["rows"]}
        assert rows["free"]["requests"] == 1 and rows["free"]["saved_usd"] == pytest.approx(REFERENCE)
        assert rows["paid"]["saved_usd"] == 0 and rows["paid"]["cost_usd"] == pytest.approx(REFERENCE)
        assert rows["free"]["latency_ms_p50"] > 0
        assert body["totals"]["requests"] == 2 and body["totals"]["cached_tokens"] == 12000
        assert body["totals"]["saved_usd"] == pytest.approx(REFERENCE) and body["dropped_rows"] == 0

        by_hour = admin_usage(relay, "by=hour").json()
        assert len(by_hour["rows"]) in (1, 2) and sum(r["requests"] for r in by_hour["rows"]) == 2
        only_paid = admin_usage(relay, "by=chain&provider=paid").json()
        assert [(r["group"], r["requests"]) for r in only_paid["rows"]] == [("claude", 1)]

        bad = admin_usage(relay, "by=week")
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "by"
        assert admin_usage(relay, "since=yesterday").json()["error"]["param"] == "since"
        assert admin_usage(relay, "by=provider", key="wrong-key-0123456789abcdef").status_code == 401

        table = relay_usage(relay, "--since", "24h", "--by", "provider")
        assert table.returncode == 0, table.stderr
        assert (
            "relay usage by provider" in table.stdout and "free" in table.stdout and "total" in table.stdout
        )
        assert "0.0147" in table.stdout  # saved on the free row, and in the totals

        refused = relay_usage(relay, key="wrong-key-0123456789abcdef")
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr.count("\n") == 1 and "refused the admin key (401)" in refused.stderr

    unreachable = relay_usage(relay)
    assert unreachable.returncode == 1 and "relay is not reachable at" in unreachable.stderr
    assert unreachable.stderr.count("\n") == 1


def test_each_relays_default_store_holds_its_own_traffic_and_says_where_it_is(
    fake: FakeUpstream, tmp_path: Path
) -> None:
    """Two relays built in two folders by one user, each on the default `sqlite` store: each
    one's `/admin/usage` and `relay usage` count only its own requests and name its file."""
    env = {**UPSTREAM_KEYS, **ENV, "XDG_STATE_HOME": str(tmp_path / "state")}
    fake.script()
    counts, stores = [], []
    for name, asks in (("one", 1), ("two", 2)):
        root = tmp_path / name
        chains = write_defs(root / "chains", defs(fake, "sqlite"))
        assert build(chains, root / "generated", env).returncode == 0
        with relay_run(root / "generated", env=env) as relay:
            for _ in range(asks):
                ask(relay)

            def recorded(relay: Relay = relay, asks: int = asks) -> bool:
                return admin_usage(relay, "by=chain").json()["totals"]["requests"] >= asks

            wait_until(recorded, f"{asks} usage rows")
            body = admin_usage(relay, "by=chain").json()
            counts.append(body["totals"]["requests"])
            stores.append(body["store"])
            shown = relay_usage(relay)
            assert shown.returncode == 0 and f"store: {body['store']}" in " ".join(shown.stdout.split()), (
                shown
            )
    assert counts == [1, 2]
    assert stores[0] != stores[1]
    assert all(s.startswith(f"{tmp_path}/state/relay/usage/") and Path(s).is_file() for s in stores), stores


def test_an_unwritable_store_refuses_start_in_one_line(fake: FakeUpstream, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    chains = write_defs(tmp_path / "chains", defs(fake, f"sqlite://{blocker}/usage.sqlite"))
    out = tmp_path / "generated"
    assert build(chains, out, {**UPSTREAM_KEYS, **ENV}).returncode == 0
    run = subprocess.run(
        [sys.executable, "-m", "compiler", "run", str(out), "--listen", "127.0.0.1:1"],
        cwd=REPO,
        env=clean_env({**UPSTREAM_KEYS, **ENV}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert (
        run.stderr.count("\n") == 1
        and f"usage store {blocker}/usage.sqlite cannot be opened for writing" in run.stderr
    )


def test_unreachable_postgresql_refuses_start_in_one_line(fake: FakeUpstream, tmp_path: Path) -> None:
    from tests.e2e.procs import free_port

    chains = write_defs(tmp_path / "chains", defs(fake, f"postgresql://relay@127.0.0.1:{free_port()}/relay"))
    out = tmp_path / "generated"
    assert build(chains, out, {**UPSTREAM_KEYS, **ENV}).returncode == 0
    run = subprocess.run(
        [sys.executable, "-m", "compiler", "run", str(out)],
        cwd=REPO,
        env=clean_env({**UPSTREAM_KEYS, **ENV}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "is unreachable or refused" in run.stderr


def test_postgresql_end_to_end_and_lost_mid_run(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    with postgres() as pg, start_relay(defs(fake, pg.url, queue=3), env=ENV) as relay:

        def rows() -> int:
            with psycopg.connect(pg.url) as conn:
                found = conn.execute("SELECT COUNT(*) FROM usage").fetchone()
                return int(found[0]) if found else 0

        fake.script(answer(), answer())
        ask(relay)
        ask(relay)
        wait_until(lambda: rows() == 2, "two rows in PostgreSQL")
        body = admin_usage(relay, "by=provider").json()
        assert body["totals"]["requests"] == 2 and body["totals"]["saved_usd"] == pytest.approx(2 * REFERENCE)

        pg.stop()
        fake.script(*[answer() for _ in range(12)])
        for _ in range(12):
            ask(relay)  # serving goes on with the store gone
        wait_until(  # the writer process reports the failure, the worker counts the drops: either first
            lambda: "usage rows dropped" in relay.output() and "failed; rows queue up to 3" in relay.output(),
            "warnings about the failure and dropped rows",
        )
        down = admin_usage(relay, "by=provider")
        assert down.status_code == 502 and "cannot be read" in down.json()["error"]["message"]

        pg.start()
        wait_until(
            lambda: "is back; writing rows again" in relay.output(), "the writer to reconnect", timeout=60
        )
        body = admin_usage(relay, "by=provider").json()
        assert body["dropped_rows"] > 0
        assert body["totals"]["requests"] == 14 - body["dropped_rows"]

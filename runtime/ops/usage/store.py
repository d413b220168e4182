"""Open a usage store (SQLite or PostgreSQL), migrate it forward, write and read rows.

`server.usage.store`: `off`, `sqlite` (the default file of this build, `default_sqlite_path`),
`sqlite:///absolute/path`, or a `postgresql://` URL. SQLite runs in WAL mode with a busy
timeout, so several workers (and `/admin/usage` readers) share one file. Every failure to
open is a `StoreError` whose message is one line naming the store (credentials left out):
`relay run` prints it and refuses to start.

One `Store` per process: the writer process (`writer`) owns one, each read (`query`) opens
its own; a worker never opens the store (SQLite's mapped shared memory can SIGBUS the process
that holds it).
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from runtime.ops.usage.schema import COLUMNS, MIGRATIONS, VERSION

Dialect = Literal["sqlite", "postgresql"]
BUSY_TIMEOUT = 5.0
"""Seconds SQLite waits for another worker's write lock before giving up on a batch."""
CONNECT_TIMEOUT = 5
_ADVISORY_LOCK = 0x7E1A7
_INSERT = f"INSERT INTO usage ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


class StoreError(Exception):
    """The store cannot be opened, migrated or written; the message is one line."""


def default_sqlite_path(root: Path, env: Mapping[str, str] = os.environ) -> Path:
    """The default store of the relay serving build `root`:
    $XDG_STATE_HOME/relay/usage/<folder>-<hash>.sqlite (else under ~/.local/state). One file
    per build folder, so a relay's usage views show its own traffic, not that of every relay
    the user ever ran (tests, other checkouts); the readable part names the folder."""
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{root.parent.name}-{root.name}").strip("_-") or "root"
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:10]
    return Path(base) / "relay" / "usage" / f"{folder}-{digest}.sqlite"


def resolve(url: str, root: Path) -> str:
    """`server.usage.store` with `sqlite` spelled out as the default file for build `root`."""
    return f"sqlite://{default_sqlite_path(root)}" if url == "sqlite" else url


def _sqlite_path(url: str) -> Path:
    """`sqlite:///abs/path`, and SQLAlchemy's `sqlite:////abs/path` spelling, are one path."""
    return Path("/" + url[len("sqlite://") :].lstrip("/"))


def describe(url: str) -> str:
    """The store as an operator may read it: a path, or a URL without its credentials."""
    if url.startswith("sqlite:///"):
        return str(_sqlite_path(url))
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class Store:
    __slots__ = ("conn", "dialect", "name")

    def __init__(self, conn: Any, dialect: Dialect, name: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.name = name

    def sql(self, text: str) -> str:
        return text if self.dialect == "sqlite" else text.replace("?", "%s")

    def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """One transaction per batch: a batch is written whole or not at all."""
        if self.dialect == "sqlite":
            with self.conn:
                self.conn.executemany(_INSERT, rows)
        else:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.executemany(self.sql(_INSERT), rows)

    def prune(self, before: float) -> None:
        self.execute("DELETE FROM usage WHERE at < ?", (before,))

    def execute(self, text: str, params: Iterable[Any] = ()) -> None:
        if self.dialect == "sqlite":
            with self.conn:
                self.conn.execute(text, tuple(params))
        else:
            self.conn.execute(self.sql(text), tuple(params))

    def fetch(self, text: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(self.sql(text), tuple(params))
        rows: list[tuple[Any, ...]] = list(cur.fetchall())
        return rows

    def version(self) -> int:
        return int(self.fetch("SELECT version FROM schema_version")[0][0])

    def close(self) -> None:
        self.conn.close()


def _sqlite(url: str, migrate: bool) -> Store:
    import sqlite3  # here: workers resolve and describe stores, only the writer and reader processes open one

    path = _sqlite_path(url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.isolation_level = "DEFERRED"  # `with conn:` wraps each batch in a transaction
        store = Store(conn, "sqlite", str(path))
        if migrate:
            _migrate_sqlite(store)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"usage store {path} cannot be opened for writing: {exc}") from None
    return store


def _migrate_sqlite(store: Store) -> None:
    conn = store.conn
    conn.execute("BEGIN IMMEDIATE")  # also proves the file is writable
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        _apply(store)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _postgresql(url: str, migrate: bool) -> Store:
    import psycopg

    name = describe(url)
    try:
        conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, autocommit=True)
        store = Store(conn, "postgresql", name)
        if not migrate:
            return store
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            _apply(store)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"usage store {name} is unreachable or refused: {first}") from None
    return store


def _apply(store: Store) -> None:
    """Inside the caller's transaction: every migration past the recorded version."""
    found = store.fetch("SELECT version FROM schema_version")
    current = int(found[0][0]) if found else 0
    if not found:
        store.conn.execute(store.sql("INSERT INTO schema_version (version) VALUES (?)"), (0,))
    if current > VERSION:
        raise StoreError(
            f"usage store {store.name} has schema version {current}, newer than this relay's "
            f"{VERSION}: upgrade relay, or point server.usage.store elsewhere"
        )
    for version in range(current + 1, VERSION + 1):
        for statement in MIGRATIONS[version - 1]:
            store.conn.execute(statement)
        store.conn.execute(store.sql("UPDATE schema_version SET version = ?"), (version,))


def open_store(url: str, migrate: bool = True) -> Store:
    """Open the store `server.usage.store` names (`resolve`d) and migrate it to VERSION (readers, which
    run after the writer migrated, skip that)."""
    if url.startswith(("postgresql://", "postgres://")):
        return _postgresql(url, migrate)
    if url.startswith("sqlite:///"):
        return _sqlite(url, migrate)
    raise StoreError(f"usage store {describe(url)!r} is not sqlite, sqlite:///path or postgresql://…")

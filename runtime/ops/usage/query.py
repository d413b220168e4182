"""`/admin/usage` reads in a process of their own: `python -m runtime.ops.usage.query`.

Reading a SQLite store in WAL mode maps its `-shm` file, as writing does, and a file
truncated under a reader ends the reading process with SIGBUS; so a worker never opens the
store itself, it runs this (`read`), which prints the aggregate as JSON. A read is an
operator's occasional look, so a process start (~0.1 s) per read is affordable, and the
same isolation holds for PostgreSQL without a second code path.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import msgspec

from runtime.ops.usage.frames import PACKAGE_ROOT
from runtime.ops.usage.report import UsageQuery, aggregate
from runtime.ops.usage.store import StoreError, open_store

TIMEOUT = 30.0


class Ask(msgspec.Struct, frozen=True):
    url: str
    since: float
    until: float
    by: str
    chain: str | None
    provider: str | None


def read(url: str, q: UsageQuery, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The aggregate of `q` (blocking: call it from a thread); `StoreError` in one line when
    the store cannot be read or the reader dies."""
    ask = Ask(url, q.since, q.until, q.by, q.chain, q.provider)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "runtime.ops.usage.query"],
            cwd=PACKAGE_ROOT,
            input=msgspec.msgpack.encode(ask),
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise StoreError(f"the usage query took longer than {timeout:g}s") from None
    if done.returncode == 0:
        result: dict[str, Any] = msgspec.json.decode(done.stdout)
        return result
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    if done.returncode < 0:
        raise StoreError(f"the usage reader was killed by {signal.Signals(-done.returncode).name}")
    raise StoreError(lines[-1] if lines else f"the usage reader exited with status {done.returncode}")


def main() -> None:
    ask = msgspec.msgpack.decode(sys.stdin.buffer.read(), type=Ask)
    try:
        store = open_store(ask.url, migrate=False)
        try:
            result = aggregate(store, UsageQuery(ask.since, ask.until, ask.by, ask.chain, ask.provider))
        finally:
            store.close()
    except Exception as exc:  # StoreError, sqlite3's or psycopg's: one line for the operator
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(message + "\n")
        sys.exit(1)
    sys.stdout.buffer.write(msgspec.json.encode(result))


if __name__ == "__main__":
    main()

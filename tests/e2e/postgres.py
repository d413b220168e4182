"""A real PostgreSQL server for the usage store's tests: initdb + pg_ctl in a temporary
folder, on a free loopback port, run as the `postgres` user when the tests run as root
(PostgreSQL refuses to run as root). `.ci/run` installs Debian's `postgresql` package."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.procs import free_port


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class Postgres:
    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir = bindir
        self.root = root
        self.port = port
        self.url = f"postgresql://relay@127.0.0.1:{port}/postgres"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr

    def start(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"),
            "start",
            "-w",
            "-D",
            str(self.root / "data"),
            "-l",
            str(self.root / "log"),
            "-o",
            f"-p {self.port} -h 127.0.0.1 -k {self.root}",
        )

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.root / "data"))


@contextmanager
def postgres() -> Iterator[Postgres]:
    bindir = _bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (bash .ci/run installs Debian's postgresql)")
    root = Path(tempfile.mkdtemp(prefix="relay-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = Postgres(bindir, root, free_port())
    try:
        server._run(
            str(bindir / "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", "relay", "-E", "UTF8"
        )
        server.start()
        yield server
    finally:
        with contextlib.suppress(AssertionError):  # already stopped by the test
            server.stop()
        shutil.rmtree(root, ignore_errors=True)

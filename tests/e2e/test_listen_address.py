"""`server.listen: localhost:PORT` passes `relay check` and then serves: the compiler writes an
address Granian can bind (it crashed on the name before)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import REPO, build, clean_env, free_port, stop, wait_until, write_defs

pytestmark = pytest.mark.e2e


def test_localhost_in_server_listen_is_served_on_127_0_0_1(tmp_path: Path) -> None:
    port = free_port()
    defs = f"version: 1\nserver:\n  listen: localhost:{port}\nproviders:\n  sim:\n    api: simulated\n"
    chains = write_defs(tmp_path / "chains", {"r.yaml": defs + "chains:\n  main:\n    steps: [sim/demo]\n"})
    result = build(chains, tmp_path / "generated")
    assert result.returncode == 0, result.stdout + result.stderr
    log = tmp_path / "relay.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "compiler", "run", str(tmp_path / "generated")],
            cwd=REPO,
            env=clean_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/ready"

        def ready() -> bool:
            try:
                return httpx.get(url, timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, "relay run on server.listen", proc=proc, log=log)
    finally:
        stop(proc)

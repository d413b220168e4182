"""Shared bits for benchmark scripts: loopback ports, readiness, the relay stack."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} not open after {timeout}s")


def serve_relay(
    definitions: str, tmp: Path, port: int, repo: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Build `definitions` (one YAML file) under `tmp` and start `relay run` (1 worker) on
    127.0.0.1:`port`, quiet; the caller terminates it. Its usage rows go to the default
    SQLite store under `tmp`, so the figures include recording them."""
    (tmp / "chains").mkdir()
    (tmp / "chains" / "bench.yaml").write_text(definitions)
    subprocess.run(
        [sys.executable, "-m", "compiler", "build", str(tmp / "chains"), "-o", str(tmp / "gen")],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "runtime.server.serve", str(tmp / "gen"), "--listen", f"127.0.0.1:{port}"],
        cwd=repo,
        env={**env, "XDG_STATE_HOME": str(tmp)},  # the default usage store, in the run's own folder
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass
class Stack:
    up_port: int
    relay_port: int
    relay: subprocess.Popen[bytes]
    tmp: Path


@contextmanager
def relay_stack(defs: Callable[[int], str]) -> Iterator[Stack]:
    """The benchmark upstream (benchmarks/upstream_server.py) and `relay run` (1 worker) in
    front of it, on free loopback ports; `defs(upstream_port)` is the definition file."""
    env = {**os.environ, "BENCH_UPSTREAM_KEY": "bench-key-not-secret", "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        up_port, relay_port = free_port(), free_port()
        upstream = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.upstream_server", str(up_port)], cwd=REPO, env=env
        )
        relay = serve_relay(defs(up_port), tmp, relay_port, REPO, env)
        try:
            wait_port(up_port)
            wait_port(relay_port)
            yield Stack(up_port, relay_port, relay, tmp)
        finally:
            for proc in (relay, upstream):
                proc.terminate()
                proc.wait()

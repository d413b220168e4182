"""Shared bits for benchmark scripts: loopback ports, readiness, and a built `relay run`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


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
    127.0.0.1:`port`, quiet; the caller terminates it."""
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
        [sys.executable, "-m", "runtime.serve", str(tmp / "gen"), "--listen", f"127.0.0.1:{port}"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

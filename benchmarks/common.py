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


PERFORMANCE_DOC = REPO / "docs" / "performance.md"
README = REPO / "README.md"


def write_doc_block(name: str, lines: list[str], doc: Path = PERFORMANCE_DOC) -> None:
    """Replace what stands between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in `doc`
    with `lines` as a code block, so a benchmark regenerates its own figures there."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = doc.read_text(encoding="utf-8")
    head, found, rest = text.partition(begin)
    if not found or end not in rest:
        raise SystemExit(f"{doc}: no {begin} … {end} block to regenerate")
    block = "\n".join([begin, "```", *lines, "```", end])
    doc.write_text(head + block + rest.partition(end)[2], encoding="utf-8")


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


def serve_module(repo: Path) -> str:
    """The module `relay run` execs into in the checkout at `repo` (older revisions kept the
    runtime flat: `runtime.serve`), so `benchmarks.ab` can serve any revision."""
    return "runtime.server.serve" if (repo / "runtime" / "server" / "serve.py").exists() else "runtime.serve"


def serve_relay(
    definitions: str,
    tmp: Path,
    port: int,
    repo: Path,
    env: dict[str, str],
    workers: int = 1,
    module: str | None = None,
) -> subprocess.Popen[bytes]:
    """Build `definitions` (one YAML file) under `tmp` with the compiler in `repo` and start
    that checkout's `relay run` (or `module`, a wrapper of it) on 127.0.0.1:`port`, quiet;
    the caller terminates it. Its usage rows go to the default SQLite store under `tmp`, so
    the figures include recording them."""
    env = {**env, "PYTHONPATH": str(repo)}
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
        [
            sys.executable,
            "-m",
            module or serve_module(repo),
            str(tmp / "gen"),
            "--listen",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ],
        cwd=repo,
        env={**env, "XDG_STATE_HOME": str(tmp)},  # the default usage store, in the run's own folder
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Granian's main process forks its workers)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its live descendants, every thread counted
    (/proc/PID/stat utime + stime)."""
    ticks = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Stack:
    up_port: int
    relay_ports: list[int]
    relays: list[subprocess.Popen[bytes]]
    tmp: Path

    @property
    def relay(self) -> subprocess.Popen[bytes]:
        return self.relays[0]

    @property
    def relay_port(self) -> int:
        return self.relay_ports[0]


@contextmanager
def relay_stack(
    defs: Callable[[int], str], repos: tuple[Path, ...] = (REPO,), workers: int = 1
) -> Iterator[Stack]:
    """The benchmark upstream (benchmarks/upstream_server.py) and, in front of it, one
    `relay run` per checkout in `repos` (each built and served by its own code), on free
    loopback ports; `defs(upstream_port)` is the definition file."""
    env = {**os.environ, "BENCH_UPSTREAM_KEY": "bench-key-not-secret", "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        up_port, relay_ports = free_port(), [free_port() for _ in repos]
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "benchmarks.upstream_server", str(up_port)], cwd=REPO, env=env
            )
        ]
        try:
            for i, (repo, port) in enumerate(zip(repos, relay_ports, strict=True)):
                (tmp / f"relay{i}").mkdir()
                procs.append(serve_relay(defs(up_port), tmp / f"relay{i}", port, repo, env, workers))
            for port in (up_port, *relay_ports):
                wait_port(port)
            yield Stack(up_port, relay_ports, procs[1:], tmp)
        finally:
            for proc in reversed(procs):
                proc.terminate()
                proc.wait()

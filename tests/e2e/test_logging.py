"""The request log of a real `relay run`: a stdout nobody reads never stalls requests;
`server.log.format: text` and `server.log.prompts: true` do what they say."""

from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import BASIC, UPSTREAM_KEYS
from tests.e2e.procs import REPO, FakeUpstream, build, clean_env, free_port, stop, wait_until, write_defs

pytestmark = pytest.mark.e2e

F_SETPIPE_SZ = 1031  # Linux fcntl: resize a pipe (the smallest is one page)
CHAT = {"model": "free", "messages": [{"role": "user", "content": "the secret word is test-upstream-key-o"}]}


@contextmanager
def relay_on_a_pipe(tmp_path: Path, defs: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`relay run` whose stdout is a one-page pipe the test reads only when it wants to."""
    assert (
        build(write_defs(tmp_path / "chains", {"r.yaml": defs}), tmp_path / "gen", UPSTREAM_KEYS).returncode
        == 0
    )
    port = free_port()
    with (tmp_path / "stderr.log").open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runtime.server.serve",
                str(tmp_path / "gen"),
                "--listen",
                f"127.0.0.1:{port}",
            ],
            cwd=REPO,
            env=clean_env(UPSTREAM_KEYS),
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert proc.stdout is not None
    fcntl.fcntl(proc.stdout.fileno(), F_SETPIPE_SZ, 4096)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(url), "relay run", proc=proc, log=tmp_path / "stderr.log")
        yield proc, url
    finally:
        stop(proc)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def read_until(proc: subprocess.Popen[bytes], marker: bytes, count: int = 1, timeout: float = 15.0) -> bytes:
    """Read the relay's stdout until `count` whole lines held `marker` (or the deadline): a
    read can end inside a line, so what follows the last newline is not counted yet."""
    assert proc.stdout is not None
    fd, seen = proc.stdout.fileno(), b""
    deadline = time.monotonic() + timeout
    while seen[: seen.rfind(b"\n") + 1].count(marker) < count and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            seen += os.read(fd, 65536)
    return seen


def test_requests_never_wait_for_a_stdout_nobody_reads(fake: FakeUpstream, tmp_path: Path) -> None:
    with (
        relay_on_a_pipe(tmp_path, BASIC.format(url=fake.url)) as (proc, url),
        httpx.Client(timeout=5) as client,
    ):
        for i in range(60):  # ~30 KB of request lines into a 4 KB pipe that is never read
            body = {**CHAT, "messages": [{"role": "user", "content": f"n{i}"}]}
            assert client.post(url + "/v1/chat/completions", json=body).status_code == 200
        out = read_until(proc, b'"msg":"request"', count=60)  # now read what queued up
    records = [json.loads(line) for line in out.splitlines() if b'"msg":"request"' in line]
    assert len(records) == 60  # all kept: the queue holds 10,000 lines (drops: tests/runtime/test_log.py)


def test_text_format_with_prompts_logs_the_conversation_but_no_key(
    fake: FakeUpstream, tmp_path: Path
) -> None:
    defs = BASIC.format(url=fake.url).replace(
        "version: 1\n", "version: 1\nserver:\n  log: {format: text, prompts: true}\n"
    )
    with relay_on_a_pipe(tmp_path, defs) as (proc, url):
        assert httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=5).status_code == 200
        out = read_until(proc, b" info request ")
    line = next(line for line in out.decode().splitlines() if " info request " in line)
    assert " chain=free " in line and " status=200 " in line
    assert 'messages=[{"role":"user","content":"the secret word is [redacted]"}]' in line
    assert "test-upstream-key" not in out.decode()


def test_prompts_stay_out_of_the_log_by_default(fake: FakeUpstream, tmp_path: Path) -> None:
    with relay_on_a_pipe(tmp_path, BASIC.format(url=fake.url)) as (proc, url):
        assert httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=5).status_code == 200
        out = read_until(proc, b'"msg":"request"')
    record = next(json.loads(line) for line in out.splitlines() if b'"msg":"request"' in line)
    assert record["chain"] == "free" and "messages" not in record and b"secret word" not in out
    assert list(record) == [  # the line's keys, in their order (readers may rely on either)
        "ts",
        "level",
        "msg",
        "id",
        "chain",
        "route",
        "model",
        "stream",
        "status",
        "provider",
        "upstream_model",
        "attempts",
        "latency_ms",
        "ttfb_ms",
        "queued_ms",
        "tokens",
    ]

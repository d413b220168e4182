"""The process tree (issue 18 §3): a worker that dies is respawned while relay keeps
answering; workers die with their main process; stale metrics directories are removed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import RelayFactory
from tests.e2e.procs import FakeUpstream, Relay, wait_until
from tests.e2e.test_admin_events import PLAIN
from tests.routing.redis_server import running_redis

pytestmark = pytest.mark.e2e

MAX_LOST = 5
"""Requests a `kill -9` of one of two workers may fail: at most those it held at that moment
(one client, one request at a time here), plus connections the kernel had queued on it."""


def workers(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def listeners(url: str) -> int:
    """Listening sockets on `url`'s port. On Linux each Granian worker binds its own
    (SO_REUSEPORT): a worker counts as serving once its socket is listening, and until
    then a connection the kernel cannot give another worker is refused."""
    port = f":{int(url.rsplit(':', 1)[1]):04X}"
    rows = (row.split() for row in Path("/proc/net/tcp").read_text().splitlines()[1:])
    return sum(1 for row in rows if row[1].endswith(port) and row[3] == "0A")  # 0A: LISTEN


def _load(relay: Relay, stop: threading.Event, statuses: list[int | str]) -> None:
    body = {"model": "free", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            try:
                statuses.append(client.post(relay.url + "/v1/chat/completions", json=body).status_code)
            except httpx.HTTPError as e:
                statuses.append(f"{type(e).__name__}: {e}")


def test_a_worker_killed_under_load_is_respawned_and_relay_keeps_answering(
    fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path
) -> None:
    """Was: `kill -9` of one worker made `relay run` exit 1 with no respawn."""
    with (
        running_redis(tmp_path) as redis,
        start_relay({"r.yaml": PLAIN.format(url=fake.url, state=redis.url)}, "--workers", "2") as relay,
    ):
        # Both listening, not just both started: a kill while the other worker is still
        # loading leaves no socket on the port, and every connection until then is refused.
        wait_until(
            lambda: len(workers(relay.proc.pid)) == 2 and listeners(relay.url) == 2, "two workers listening"
        )
        before = workers(relay.proc.pid)
        stop, statuses = threading.Event(), list[int | str]()
        load = threading.Thread(target=_load, args=(relay, stop, statuses))
        load.start()
        try:
            wait_until(lambda: len(statuses) >= 20, "load running")
            os.kill(before[0], signal.SIGKILL)
            wait_until(
                lambda: (
                    len(set(workers(relay.proc.pid)) - set(before)) == 1 and len(workers(relay.proc.pid)) == 2
                ),
                "a new worker",
            )
            served = len(statuses)
            wait_until(lambda: len(statuses) >= served + 20, "load served after the respawn")
        finally:
            stop.set()
            load.join()
        assert relay.proc.poll() is None
        failed = [s for s in statuses if s != 200]
        assert len(failed) <= MAX_LOST, failed
        assert statuses[-10:] == [200] * 10
        assert "worker 1 died (exit code -9); starting a new one" in relay.output()


def test_workers_exit_when_the_main_process_is_killed(fake: FakeUpstream, start_relay: RelayFactory) -> None:
    """Was: `kill -9` of the main process left the workers serving the port as orphans."""
    with start_relay({"r.yaml": PLAIN.format(url=fake.url, state="memory")}) as relay:
        wait_until(lambda: len(workers(relay.proc.pid)) == 1, "the worker")
        (worker,) = workers(relay.proc.pid)
        relay.proc.kill()
        relay.proc.wait()
        wait_until(lambda: not alive(worker), "the orphaned worker exits", timeout=20)
        host, port = relay.url.removeprefix("http://").split(":")
        with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=1):
            pass


def test_stale_metrics_directories_are_removed_at_start(
    fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path
) -> None:
    tmp = tmp_path / "tmp"
    gone = subprocess.Popen(["true"])
    gone.wait()
    for name, owner in (("relay-metrics-stale", gone.pid), ("relay-metrics-live", os.getpid())):
        (tmp / name).mkdir(parents=True)
        (tmp / name / "owner.pid").write_text(str(owner))
    (tmp / "relay-metrics-unowned").mkdir()
    with start_relay({"r.yaml": PLAIN.format(url=fake.url, state="memory")}, env={"TMPDIR": str(tmp)}):
        left = sorted(p.name for p in tmp.glob("relay-metrics-*"))
        assert "relay-metrics-stale" not in left
        assert {"relay-metrics-live", "relay-metrics-unowned"} <= set(left) and len(left) == 3

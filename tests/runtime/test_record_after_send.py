"""A whole answer is handed to the server before relay records the request (record, metrics,
usage row, log line): the client does not wait for the bookkeeping.

The worker's app runs in a child process (its start sets signal handlers, threads and a usage
writer), driven through an in-memory RSGI protocol (benchmarks.hot_path) against the tests'
fake upstream on loopback; a feed sink notes how many answers had been sent when the
record arrived."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.procs import REPO, clean_env, fake_upstream

DRIVER = """
import sys
from pathlib import Path

import uvloop

from benchmarks.hot_path import Proto, Scope, _relay_app
from benchmarks.relay_bench import BODY

relay = _relay_app(Path(sys.argv[2]), int(sys.argv[1]), None)
loop = uvloop.new_event_loop()
relay.__rsgi_init__(loop)
sent: list[int] = []
sent_when_recorded: list[int] = []


class Probe:
    def request(self, record: object) -> None:
        sent_when_recorded.append(len(sent))

    def state(self, event: object) -> None:
        pass


relay.service.feed.add(Probe())
loop.run_until_complete(relay.__rsgi__(Scope(BODY), Proto(BODY, sent)))
relay.__rsgi_del__(loop)
print(sent, sent_when_recorded)
"""


def test_a_whole_answer_is_sent_before_the_request_is_recorded(tmp_path: Path) -> None:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    (tmp_path / "relay").mkdir()
    with fake_upstream() as fake:
        port = fake.url.rsplit(":", 1)[1]
        done = subprocess.run(
            [sys.executable, str(driver), port, str(tmp_path / "relay")],
            cwd=REPO,
            env=clean_env({"BENCH_UPSTREAM_KEY": "bench-key-not-secret"}),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[200] [1]"  # sent: 200; recorded after one answer

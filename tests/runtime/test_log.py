"""The log never blocks a request: a stuck stdout fills a bounded queue, drops are counted
and reported when it drains and at shutdown; text format; prompts only when asked."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest

from runtime.artifact import LogConfig
from runtime.server.log import Log, text_line


class StuckPipe(io.RawIOBase):
    """A stdout whose reader stopped reading: every write blocks until `release`."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.entered = threading.Event()
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.entered.set()
        if not self.released.wait(10):
            raise OSError("test pipe never released")
        self.data += b
        return len(b)


def lines(pipe: StuckPipe) -> list[dict[str, object]]:
    return [json.loads(line) for line in bytes(pipe.data).splitlines()]


def test_a_stuck_stdout_never_blocks_emit_and_drops_are_reported() -> None:
    pipe = StuckPipe()
    log = Log("info", pipe, capacity=50)  # type: ignore[arg-type]
    log.info("first")
    assert pipe.entered.wait(5)  # the writer thread is now stuck inside write()
    started = time.perf_counter()
    for i in range(500):
        log.info("request", n=i)
    assert time.perf_counter() - started < 1.0  # 500 lines without waiting on stdout
    assert log.dropped == 450
    pipe.released.set()
    assert log.close(5)
    out = lines(pipe)
    assert [r["n"] for r in out if r["msg"] == "request"] == list(range(50))
    recovery = [r for r in out if r["msg"].startswith("log lines dropped:")]  # type: ignore[union-attr]
    assert recovery and recovery[0]["dropped"] == 450
    assert out[-1]["msg"] == "log lines dropped in all" and out[-1]["total"] == 450


def test_close_gives_up_on_a_stdout_that_stays_blocked() -> None:
    pipe = StuckPipe()
    log = Log("info", pipe)  # type: ignore[arg-type]
    log.info("x")
    assert pipe.entered.wait(5)
    assert log.close(0.2) is False
    pipe.released.set()


def test_text_format_is_one_readable_line() -> None:
    line = text_line(
        1767322800.5,
        "info",
        "request",
        {"id": "req_1", "status": 200, "chain": "free chain", "attempts": [{"p": "a"}], "gone": None},
    )
    assert line == (
        b'2026-01-02T03:00:00.500Z info request id=req_1 status=200 chain="free chain" attempts=[{"p":"a"}]\n'
    )


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_configure_switches_format_and_prompts_on_reload(fmt: str) -> None:
    out = io.BytesIO()
    log = Log.from_config(LogConfig(), out)
    assert not log.prompts and not log.text
    log.configure(LogConfig(format=fmt, prompts=True))  # type: ignore[arg-type]
    log.info("hello", a=1)
    assert log.close(5)
    assert log.prompts
    written = out.getvalue()
    assert written.startswith(b"{") if fmt == "json" else b" info hello a=1\n" in written

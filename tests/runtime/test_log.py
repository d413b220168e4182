"""The log never blocks a request: a stuck stdout fills a bounded queue, drops are counted
and reported when it drains and at shutdown; text format; prompts only when asked."""

from __future__ import annotations

import io
import json
import threading
import time

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.artifact import LogConfig
from runtime.ops.record import AttemptRecord
from runtime.server.exchange import RequestLine
from runtime.server.log import Log, json_line, struct_line, text_line


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


@given(st.text())
@settings(max_examples=300)
def test_a_text_line_is_one_line_whatever_the_values(model: str) -> None:
    """Client-chosen values (a model name with a carriage return or a control character)
    cannot break a text line or start a forged one; plain words stay bare."""
    line = text_line(1767322800.5, "info", "request", {"model": model})
    assert line.endswith(b"\n") and all(byte >= 0x20 for byte in line[:-1])
    value = line.split(b" model=", 1)[1][:-1]
    assert msgspec.json.decode(value) == model if value.startswith(b'"') else value.decode() == model


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


def _fields(line: msgspec.Struct) -> dict[str, object]:
    return {name: getattr(line, name) for name in line.__struct_fields__}


floats = st.floats(allow_nan=False)
names = st.text(max_size=12)
attempts = st.builds(
    AttemptRecord,
    provider=names,
    model=names,
    outcome=st.sampled_from(["ok", "error", "timeout"]),
    status=st.none() | st.integers(100, 599),
    detail=st.text(max_size=40),
    ms=floats,
    cooldown_left=st.none() | floats,
    key=st.none() | names,
)
request_lines = st.builds(
    RequestLine,
    id=names,
    chain=names,
    route=st.none() | names,
    model=names,
    stream=st.booleans(),
    status=st.integers(100, 599),
    provider=st.none() | names,
    upstream_model=st.none() | names,
    attempts=st.lists(attempts, max_size=3),
    latency_ms=floats,
    ttfb_ms=st.none() | floats,
    queued_ms=st.none() | floats,
    tokens=st.none() | st.dictionaries(names, st.integers(0, 2**40), max_size=6),
)


@given(st.floats(0, 4e9), request_lines)
def test_a_struct_line_is_the_dict_line_byte_for_byte(ts: float, line: RequestLine) -> None:
    assert struct_line(ts, "info", "request", line) == json_line(ts, "info", "request", _fields(line))


def test_a_struct_without_fields_is_the_head_alone() -> None:
    class Empty(msgspec.Struct):
        pass

    assert (
        struct_line(1.5, "info", "x", Empty())
        == json_line(1.5, "info", "x", {})
        == (b'{"ts":1.5,"level":"info","msg":"x"}\n')
    )


@pytest.mark.parametrize(
    ("fmt", "prompts"), [("json", False), ("json", True), ("text", False), ("text", True)]
)
@settings(deadline=None, max_examples=25)  # a writer thread per example; the bytes are tested above
@given(line=request_lines)
def test_emit_struct_writes_what_emit_writes(fmt: str, prompts: bool, line: RequestLine) -> None:
    """In every format, with the prompt fields after the struct's or without (the time
    stamp apart: each call reads the clock)."""
    extra = {"messages": msgspec.Raw(b'[{"role":"user","content":"hi"}]')} if prompts else None
    out = io.BytesIO()
    log = Log("info", out, format=fmt)
    log.emit_struct("info", "request", line, extra)
    log.emit("info", "request", **_fields(line), **(extra or {}))
    assert log.close(5)
    first, second = out.getvalue().split(b"\n")[:2]
    if fmt == "json":
        first, second = (msgspec.json.decode(x) for x in (first, second))
        assert first.pop("ts") and second.pop("ts")
    else:
        first, second = (x.split(b" ", 1)[1] for x in (first, second))
    assert first == second

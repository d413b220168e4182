"""SIGTERM with long streams in flight: each ends at `server.drain` with a proper error
event in its client's format and a log line, and relay exits 0 well before the kill."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import BASIC, RelayFactory
from tests.e2e.procs import FakeUpstream
from tests.e2e.sse import frame, stream_body

pytestmark = pytest.mark.e2e

DRAINED = BASIC.replace("version: 1\n", "version: 1\nserver:\n  drain: 2s\n")
STREAMS = 20


def forty_second_anthropic_stream() -> list[str]:
    message = {"id": "msg_up", "type": "message", "role": "assistant", "model": "claude-up-a", "content": []}
    message |= {"stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "tick "}}
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    return [
        frame("message_start", {"type": "message_start", "message": message}),
        frame("content_block_start", start),
        *[frame("content_block_delta", delta) for _ in range(40)],
        frame("content_block_stop", {"type": "content_block_stop", "index": 0}),
        frame("message_stop", {"type": "message_stop"}),
    ]


def forty_second_openai_stream() -> list[str]:
    head = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "llama-up-a"}
    chunk = {**head, "choices": [{"index": 0, "delta": {"content": "tick "}, "finish_reason": None}]}
    return [frame(None, chunk) for _ in range(41)] + ["data: [DONE]\n\n"]


def test_sigterm_ends_long_streams_at_the_drain_deadline(
    fake: FakeUpstream, start_relay: RelayFactory, tmp_path: Path
) -> None:
    half = STREAMS // 2
    anthropic_step = {"frames": forty_second_anthropic_stream(), "frame_delay": 1.0}
    openai_step = {"frames": forty_second_openai_stream(), "frame_delay": 1.0}
    fake.script(  # matched by upstream model: the twenty requests arrive in any order
        *[{**anthropic_step, "match": {"contains": "claude-up-a"}} for _ in range(half)],
        *[{**openai_step, "match": {"contains": "llama-up-a"}} for _ in range(half)],
    )
    with start_relay({"r.yaml": DRAINED.format(url=fake.url)}) as relay:
        answers: dict[int, bytes] = {}
        started = threading.Barrier(STREAMS + 1, timeout=30)

        def client(i: int) -> None:
            anthropic = i < half
            path = "/v1/messages" if anthropic else "/v1/chat/completions"
            body = stream_body("claude-x") if anthropic else {**stream_body("free"), "max_tokens": 5}
            with httpx.stream("POST", relay.url + path, json=body, timeout=60) as resp:
                parts = resp.iter_raw()
                data = next(parts)
                started.wait()
                answers[i] = data + b"".join(parts)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(STREAMS)]
        for thread in threads:
            thread.start()
        started.wait()
        t0 = time.monotonic()
        relay.proc.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(30)
        code = relay.proc.wait(30)  # on its own, after the one SIGTERM
        elapsed = time.monotonic() - t0
        output = relay.output()
    assert code == 0
    assert elapsed < 15  # the drain (2 s), not the 40 s streams nor Granian's kill timeout
    assert sorted(answers) == list(range(STREAMS))
    for i, data in answers.items():
        last = data.rstrip(b"\n").rsplit(b"\n\n", 1)[-1]
        if i < half:
            assert last.startswith(b"event: error\ndata: "), data[-300:]
            error = json.loads(last.split(b"data: ", 1)[1])["error"]
            assert error["type"] == "overloaded_error" and "shutting down" in error["message"]
        else:
            assert last.startswith(b'data: {"error"'), data[-300:]
            assert "shutting down" in json.loads(last[6:])["error"]["message"]
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert sum(r["msg"] == "stream cut at shutdown" for r in records) == STREAMS
    assert sum(r["msg"] == "request" for r in records) == STREAMS

"""SIGTERM with long streams in flight: each ends at `server.drain` with a proper error
event in its client's format and a log line, and relay exits 0 well before the kill. Ctrl-C
says what it waits for; Ctrl-C again ends every stream at once, each with its error."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.e2e.conftest import BASIC, RelayFactory
from tests.e2e.procs import FakeUpstream, Relay, anthropic_client, openai_client, wait_until
from tests.e2e.sse import frame, stream_body
from tests.e2e.test_responses import _events

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


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def ctrl_c(relay: Relay) -> None:
    """What a terminal does on Ctrl-C: SIGINT to every process of the foreground group."""
    for pid in [relay.proc.pid, *_descendants(relay.proc.pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)


def test_ctrl_c_says_what_it_drains_and_ctrl_c_again_ends_streams_at_once(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    """The default 30 s drain; the official SDKs as clients, one per format."""
    fake.script(
        {"frames": forty_second_anthropic_stream(), "frame_delay": 1.0, "match": {"contains": "claude-up-a"}},
        {"frames": forty_second_openai_stream(), "frame_delay": 1.0, "match": {"contains": "llama-up-a"}},
    )
    with start_relay({"r.yaml": BASIC.format(url=fake.url)}) as relay:
        ticks = {"anthropic": 0, "openai": 0}
        ended: dict[str, BaseException | None] = {}
        started = threading.Barrier(3, timeout=30)

        def claude() -> None:
            messages = [{"role": "user", "content": "x"}]
            try:
                with anthropic_client(relay).messages.stream(
                    model="claude-x",
                    max_tokens=5,
                    messages=messages,  # type: ignore[arg-type]
                ) as stream:
                    for n, _ in enumerate(stream.text_stream):
                        ticks["anthropic"] += 1
                        if n == 0:
                            started.wait()
                ended["anthropic"] = None
            except anthropic.APIError as exc:
                ended["anthropic"] = exc

        def gpt() -> None:
            messages = [{"role": "user", "content": "x"}]
            try:
                stream = openai_client(relay).chat.completions.create(
                    model="free",
                    max_tokens=5,
                    messages=messages,
                    stream=True,  # type: ignore[arg-type]
                )
                for n, _ in enumerate(stream):
                    ticks["openai"] += 1
                    if n == 0:
                        started.wait()
                ended["openai"] = None
            except openai.APIError as exc:
                ended["openai"] = exc

        threads = [threading.Thread(target=claude), threading.Thread(target=gpt)]
        for thread in threads:
            thread.start()
        started.wait()
        ctrl_c(relay)
        line = "relay: draining 2 streams, up to 30 s; Ctrl-C again to stop now"
        wait_until(lambda: line in relay.output(), "the draining line")
        before = dict(ticks)
        try:
            wait_until(lambda: all(ticks[k] > before[k] for k in ticks), "streams flowing while draining")
        except TimeoutError:
            raise AssertionError((before, ticks, relay.output()[-3000:])) from None
        assert relay.proc.poll() is None and not ended
        t0 = time.monotonic()
        ctrl_c(relay)
        for thread in threads:
            thread.join(15)
        code = relay.proc.wait(15)
        elapsed = time.monotonic() - t0
        output = relay.output()
    assert code == 0, output[-3000:]
    assert elapsed < 8, (
        elapsed,
        output[-4000:],
    )  # at once: not the 30 s drain, not the 40 s streams, not the kill
    assert "relay: stopping now: ending 2 streams with an error in each client's format" in output
    assert isinstance(ended["anthropic"], anthropic.APIError) and "shutting down" in str(ended["anthropic"])
    assert isinstance(ended["openai"], openai.APIError) and "shutting down" in str(ended["openai"])
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert sum(r["msg"] == "stream cut at shutdown" for r in records) == 2


def forty_second_responses_stream() -> list[str]:
    events: list[dict[str, object]] = []
    response = {
        "id": "resp_up",
        "object": "response",
        "status": "in_progress",
        "model": "gpt-up-a",
        "output": [],
    }
    where = {"item_id": "msg_up", "output_index": 0, "content_index": 0}
    message = {"type": "message", "id": "msg_up", "status": "in_progress", "role": "assistant", "content": []}
    for kind, fields in [
        ("response.created", {"response": response}),
        ("response.output_item.added", {"output_index": 0, "item": message}),
        *[("response.output_text.delta", {**where, "delta": "tick "}) for _ in range(40)],
    ]:
        events.append({"type": kind, "sequence_number": len(events), **fields})
    return [frame(str(e["type"]), e) for e in events]


def test_responses_streams_cut_at_the_drain_deadline_end_in_response_failed(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    """On `/v1/responses` the cut is a `response.failed` numbered after what was sent,
    whichever step was streaming: Anthropic-format, chat, or a Responses step passed through."""
    native = '  native:\n    api: openai-responses\n    base_url: {url}/v1\n    keys: ["${{UP_KEY_O}}"]\n'
    defs = DRAINED.replace("chains:\n", native + "chains:\n  native-x:\n    steps: [native/gpt-up-a]\n")
    fake.script(
        {"frames": forty_second_anthropic_stream(), "frame_delay": 1.0, "match": {"contains": "claude-up-a"}},
        {"frames": forty_second_openai_stream(), "frame_delay": 1.0, "match": {"contains": "llama-up-a"}},
        {"frames": forty_second_responses_stream(), "frame_delay": 1.0, "match": {"contains": "gpt-up-a"}},
    )
    models = ["claude-x", "free", "native-x"]
    with start_relay({"r.yaml": defs.format(url=fake.url)}) as relay:
        answers: dict[str, bytes] = {}
        started = threading.Barrier(len(models) + 1, timeout=30)

        def client(model: str) -> None:
            body = {"model": model, "input": "hi", "stream": True}
            with httpx.stream("POST", relay.url + "/v1/responses", json=body, timeout=60) as resp:
                parts = resp.iter_raw()
                data = next(parts)
                started.wait()
                answers[model] = data + b"".join(parts)

        threads = [threading.Thread(target=client, args=(m,)) for m in models]
        for thread in threads:
            thread.start()
        started.wait()
        relay.proc.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(30)
        assert relay.proc.wait(30) == 0
    assert sorted(answers) == models
    for model, data in answers.items():
        events = _events(data)  # sequence numbers unbroken, relay's event included
        last = events[-1]
        assert last["type"] == "response.failed", (model, data[-300:])
        assert "shutting down" in last["response"]["error"]["message"]
        assert sum(e["type"] == "response.output_text.delta" for e in events) >= 1

"""The real Codex CLI (0.171.0), headless, through a real `relay run` on `/v1/responses`.

A plain prompt and a tool round trip (Codex really runs `exec_command` and sends its output
back as a `function_call_output`) through an Anthropic-format step, a Chat Completions
step and a Responses-native step (`openai-responses`, passthrough); a 429 on the first step of a chain falling over to the second; a stream that fails
mid-answer reaching Codex as a failed turn with the upstream's message. And the shipped
example chains, with no keys, answering Codex from the simulated provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.codex_cli import CODEX, INSTALL_HINT, run_codex
from tests.e2e.conftest import UPSTREAM_KEYS
from tests.e2e.procs import FakeUpstream, Relay, served
from tests.e2e.sse import frame
from tests.e2e.test_responses import DEFS, RATE_429

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(CODEX is None, reason=INSTALL_HINT)]
STEPS = ["on-anthropic", "on-chat", "on-responses"]
UPSTREAM_MODEL = {"on-anthropic": "claude-up", "on-chat": "gpt-up", "on-responses": "gpt-native"}


@pytest.fixture(scope="module")
def relay(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    with served(tmp_path_factory.mktemp("codex"), DEFS.format(url=fake.url), UPSTREAM_KEYS) as r:
        yield r


def test_example_chains_serve_codex_with_no_keys(examples: Relay, tmp_path: Path) -> None:
    rc, events, stderr = run_codex(examples.url, tmp_path, "claude", "hello")
    assert rc == 0, stderr
    assert [m["text"] for m in _items(events, "agent_message")] == [
        "Simulated provider sim-steady here. You said: hello"
    ]


def _items(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["item"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == kind]


@pytest.mark.parametrize("chain", STEPS)
def test_codex_answers_a_plain_prompt(relay: Relay, fake: FakeUpstream, tmp_path: Path, chain: str) -> None:
    fake.script({"text": "Hello from the fake."})
    rc, events, stderr = run_codex(relay.url, tmp_path, chain, "say hello")
    assert rc == 0, stderr
    assert [m["text"] for m in _items(events, "agent_message")] == ["Hello from the fake."]
    turn = next(e for e in events if e["type"] == "turn.completed")
    assert turn["usage"]["input_tokens"] > 0 and turn["usage"]["output_tokens"] == 3
    sent = fake.requests()[-1]
    assert sent["body"]["model"] == UPSTREAM_MODEL[chain]
    if chain == "on-responses":  # Codex's own request, as it sent it
        assert sent["path"] == "/v1/responses" and sent["body"]["store"] is False
        assert "say hello" in str(sent["body"]["input"][-1]["content"])
    else:
        assert "say hello" in str(sent["body"]["messages"][-1]["content"])


@pytest.mark.parametrize("chain", STEPS)
def test_codex_tool_round_trip(relay: Relay, fake: FakeUpstream, tmp_path: Path, chain: str) -> None:
    fake.script(
        {
            "tool_call": {"id": "call_e2e1", "name": "exec_command", "input": {"cmd": "echo relay-codex-ok"}},
            "text": "",
        },
        {"text": "The command printed relay-codex-ok."},
    )
    rc, events, stderr = run_codex(relay.url, tmp_path, chain, "run echo relay-codex-ok")
    assert rc == 0, stderr
    command = _items(events, "command_execution")[0]
    assert "echo relay-codex-ok" in command["command"] and command["exit_code"] == 0
    assert command["aggregated_output"] == "relay-codex-ok\n"
    assert [m["text"] for m in _items(events, "agent_message")] == ["The command printed relay-codex-ok."]
    if chain == "on-responses":
        output = fake.requests()[-1]["body"]["input"][-1]
        assert output["type"] == "function_call_output" and output["call_id"] == "call_e2e1"
        assert "relay-codex-ok" in str(output["output"])
        return
    back = fake.requests()[-1]["body"]["messages"]
    if chain == "on-anthropic":
        result = back[-1]["content"][0]
        assert result["type"] == "tool_result" and result["tool_use_id"] == "call_e2e1"
        assert "relay-codex-ok" in str(result["content"])
    else:
        assert back[-1]["role"] == "tool" and back[-1]["tool_call_id"] == "call_e2e1"
        assert "relay-codex-ok" in back[-1]["content"]


def test_codex_429_on_the_first_step_falls_over(relay: Relay, fake: FakeUpstream, tmp_path: Path) -> None:
    fake.script(RATE_429, {"text": "From the second step."})
    rc, events, stderr = run_codex(relay.url, tmp_path, "failover", "hi")
    assert rc == 0, stderr
    assert [m["text"] for m in _items(events, "agent_message")] == ["From the second step."]
    assert [r["body"]["model"] for r in fake.requests()[-2:]] == ["claude-first", "gpt-second"]


@pytest.mark.parametrize("chain", STEPS)
def test_codex_sees_a_mid_stream_failure(
    relay: Relay, fake: FakeUpstream, tmp_path: Path, chain: str
) -> None:
    fake.script({"error_after_text": "partial answer", "pause": 0})
    rc, events, _ = run_codex(relay.url, tmp_path, chain, "hi")
    assert rc != 0
    failed = next(e for e in events if e["type"] == "turn.failed")
    assert "upstream failed mid-stream" in failed["error"]["message"]


def _thinking_then_tool() -> list[str]:
    """An Anthropic answer that thinks, says a sentence and calls exec_command."""
    start = {"id": "msg_up", "type": "message", "role": "assistant", "model": "claude-up", "content": []}
    start |= {"stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 30, "output_tokens": 1}}
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
        (
            {"type": "thinking", "thinking": "", "signature": ""},
            [
                {"type": "thinking_delta", "thinking": "The user wants echo."},
                {"type": "signature_delta", "signature": "c2ln"},
            ],
        ),
        ({"type": "text", "text": ""}, [{"type": "text_delta", "text": "Running it."}]),
        (
            {"type": "tool_use", "id": "toolu_think1", "name": "exec_command", "input": {}},
            [{"type": "input_json_delta", "partial_json": '{"cmd": "echo relay-codex-ok"}'}],
        ),
    ]
    frames = [frame("message_start", {"type": "message_start", "message": start})]
    for index, (block, deltas) in enumerate(blocks):
        frames.append(
            frame(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
            )
        )
        frames += [
            frame("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
            for d in deltas
        ]
        frames.append(frame("content_block_stop", {"type": "content_block_stop", "index": index}))
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 20},
    }
    return [*frames, frame("message_delta", end), frame("message_stop", {"type": "message_stop"})]


def test_codex_shows_anthropic_thinking_as_reasoning_and_sends_no_reasoning_back(
    relay: Relay, fake: FakeUpstream, tmp_path: Path
) -> None:
    fake.script({"frames": _thinking_then_tool()}, {"text": "It printed relay-codex-ok."})
    rc, events, stderr = run_codex(relay.url, tmp_path, "on-anthropic", "run echo relay-codex-ok")
    assert rc == 0, stderr
    assert [r["text"] for r in _items(events, "reasoning")] == ["The user wants echo."]
    assert _items(events, "command_execution")[0]["aggregated_output"] == "relay-codex-ok\n"
    assert [m["text"] for m in _items(events, "agent_message")][-1] == "It printed relay-codex-ok."
    turn = fake.requests()[-1]["body"]["messages"][-2]
    assert turn["role"] == "assistant" and [b["type"] for b in turn["content"]] == ["text", "tool_use"]

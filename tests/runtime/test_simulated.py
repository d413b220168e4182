"""The built-in simulated provider: its own rpm with real-looking headers, failures, thinking,
tool calls only when configured or forced, and what Claude Code sends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgspec
import pytest

from runtime.artifact import Provider, Simulate
from runtime.clock import FakeClock
from runtime.translate.sse import SSEParser
from runtime.upstream.simulated import SimulatedUpstream
from tests.e2e.claude_code import CLAUDE_CODE_TOOLS, claude_code_body
from tests.translate.validators import sdk_anthropic_message, validate_anthropic, validate_openai


async def _no_sleep(_: float) -> None:
    return None


def _upstream(clock: FakeClock, **sim: Any) -> SimulatedUpstream:
    provider = Provider(
        name="sim",
        api="simulated",
        base_url="",
        module="sim",
        rate_limit_family="none",
        simulate=Simulate(latency=0.0, tokens_per_s=0, **sim),
    )
    return SimulatedUpstream(provider, clock=clock, sleep=_no_sleep)


def _open(up: SimulatedUpstream, fmt: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    async def go() -> tuple[int, dict[str, str], bytes]:
        resp = await up.open(f"simulated:{fmt}", [], msgspec.json.encode(body))
        parts = []
        while chunk := await resp.next_chunk():
            parts.append(chunk)
        return resp.status, dict(resp.headers), b"".join(parts)

    return asyncio.run(go())


def test_rpm_limit_answers_429_with_headers_until_the_window_moves() -> None:
    clock = FakeClock()
    up = _upstream(clock, rpm=2)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert _open(up, "openai", body)[0] == 200
    status, headers, _ = _open(up, "openai", body)
    assert status == 200 and headers["x-ratelimit-remaining-requests"] == "0"
    status, headers, payload = _open(up, "openai", body)
    assert status == 429 and int(headers["retry-after"]) == 60
    assert json.loads(payload)["error"]["code"] == "rate_limit_exceeded"
    status, headers, _ = _open(up, "anthropic", {**body, "max_tokens": 5})
    assert status == 429 and headers["anthropic-ratelimit-requests-remaining"] == "0"
    clock.advance(60.0)
    assert _open(up, "anthropic", {**body, "max_tokens": 5})[0] == 200


def test_injected_failures() -> None:
    status, _, payload = _open(
        _upstream(FakeClock(), failure_rate=1.0), "anthropic", {"model": "m", "messages": []}
    )
    assert status == 500 and json.loads(payload)["error"]["type"] == "api_error"


def test_anthropic_stream_calls_the_offered_tool_when_configured_then_answers_its_result() -> None:
    up = _upstream(FakeClock(), call_tools=True)
    tool = WEATHER
    body = {
        "model": "m",
        "max_tokens": 50,
        "stream": True,
        "tools": [tool],
        "messages": [{"role": "user", "content": "weather?"}],
    }
    status, headers, data = _open(up, "anthropic", body)
    events = SSEParser().feed(data)
    assert status == 200 and headers["content-type"] == "text/event-stream"
    names = [e.event for e in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    start = json.loads(
        next(e.data for e in events if e.event == "content_block_start" and '"tool_use"' in e.data)
    )
    args = json.loads(next(e.data for e in events if "input_json_delta" in e.data))["delta"]["partial_json"]
    assert start["content_block"]["name"] == "get_weather" and json.loads(args) == {"city": "example"}
    result = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": start["content_block"]["id"], "content": "sunny"}],
    }
    status, _, payload = _open(
        up, "anthropic", {**body, "stream": False, "messages": [*body["messages"], result]}
    )
    answer = json.loads(payload)
    assert answer["stop_reason"] == "end_turn" and "The tool said: sunny" in answer["content"][0]["text"]


def test_openai_stream_with_usage_ends_with_done() -> None:
    body = {
        "model": "m",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "hi"}],
    }
    _, _, data = _open(_upstream(FakeClock()), "openai", body)
    events = SSEParser().feed(data)
    assert events[-1].data == "[DONE]" and json.loads(events[-2].data)["usage"]["completion_tokens"] > 0


WEATHER = {
    "name": "get_weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
BASH = CLAUDE_CODE_TOOLS[0]


def test_claude_code_turn_gets_signed_thinking_then_text_and_no_tool_call() -> None:
    status, _, data = _open(_upstream(FakeClock()), "anthropic", claude_code_body())
    result = validate_anthropic(data)
    assert status == 200 and result.ended == "stop"
    thinking, text = result.message["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] and thinking["signature"] == "relay:sim"
    assert text["type"] == "text" and "You said: hello" in text["text"]
    assert result.message["stop_reason"] == "end_turn"
    assert sdk_anthropic_message(data)["content"] == result.message["content"]


def test_non_streaming_thinking_block_comes_first_and_is_signed() -> None:
    _, _, payload = _open(_upstream(FakeClock()), "anthropic", claude_code_body(stream=False))
    answer = json.loads(payload)
    assert [b["type"] for b in answer["content"]] == ["thinking", "text"]
    assert answer["content"][0]["signature"] == "relay:sim" and answer["stop_reason"] == "end_turn"


def test_no_thinking_unless_asked() -> None:
    body = claude_code_body(stream=False, thinking={"type": "disabled"})
    _, _, payload = _open(_upstream(FakeClock()), "anthropic", body)
    assert [b["type"] for b in json.loads(payload)["content"]] == ["text"]


@pytest.mark.parametrize("stream", [True, False])
def test_openai_reasoning_effort_gets_reasoning_content(stream: bool) -> None:
    body = {
        "model": "m",
        "stream": stream,
        "reasoning_effort": "low",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": WEATHER["input_schema"]}}],
    }
    _, _, data = _open(_upstream(FakeClock()), "openai", body)
    if stream:
        result = validate_openai(data, include_usage=False)
        message, finish = result.message, result.finish_reason
    else:
        choice = json.loads(data)["choices"][0]
        message, finish = choice["message"], choice["finish_reason"]
    assert message["reasoning_content"] and "You said: hi" in message["content"]
    assert finish == "stop" and not message.get("tool_calls")


@pytest.mark.parametrize(
    ("fmt", "choice", "called"),
    [
        ("anthropic", {"type": "any"}, "Bash"),
        ("anthropic", {"type": "tool", "name": "get_weather"}, "get_weather"),
        ("anthropic", {"type": "auto"}, None),
        ("openai", "required", "Bash"),
        ("openai", {"type": "function", "function": {"name": "get_weather"}}, "get_weather"),
        ("openai", "auto", None),
    ],
)
def test_a_forced_tool_choice_is_honoured_without_call_tools(
    fmt: str, choice: Any, called: str | None
) -> None:
    tools: list[dict[str, Any]] = [BASH, WEATHER]
    if fmt == "openai":
        tools = [
            {"type": "function", "function": {"name": t["name"], "parameters": t["input_schema"]}}
            for t in tools
        ]
    body = {"model": "m", "max_tokens": 9, "tool_choice": choice, "tools": tools}
    body["messages"] = [{"role": "user", "content": "go"}]
    _, _, payload = _open(_upstream(FakeClock()), fmt, body)
    answer = json.loads(payload)
    if fmt == "anthropic":
        names = [b["name"] for b in answer["content"] if b["type"] == "tool_use"]
    else:
        names = [c["function"]["name"] for c in answer["choices"][0]["message"].get("tool_calls") or []]
    assert names == ([called] if called else [])


def test_tool_choice_none_wins_over_call_tools() -> None:
    body = {"model": "m", "max_tokens": 9, "tool_choice": {"type": "none"}, "tools": [WEATHER]}
    body["messages"] = [{"role": "user", "content": "go"}]
    _, _, payload = _open(_upstream(FakeClock(), call_tools=True), "anthropic", body)
    assert [b["type"] for b in json.loads(payload)["content"]] == ["text"]


READ = {
    "name": "Read",
    "input_schema": {
        "type": "object",
        "properties": {
            "file_path": {"type": "string"},
            "offset": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "exclusiveMinimum": 0},
            "pages": {"type": "string"},
        },
        "required": ["file_path"],
        "additionalProperties": False,
    },
}
"""Claude Code 2.1.197's Read, as it sends it (descriptions left out)."""
AGENT = {
    "name": "Agent",
    "input_schema": {
        "type": "object",
        "properties": {"description": {"type": "string"}, "prompt": {"type": "string"}},
        "required": ["description", "prompt"],
    },
}


def _call(tools: list[dict[str, Any]], prompt: str) -> list[dict[str, Any]]:
    body = {"model": "m", "max_tokens": 9, "tools": tools, "messages": [{"role": "user", "content": prompt}]}
    _, _, payload = _open(_upstream(FakeClock(), call_tools=True), "anthropic", body)
    return [b for b in json.loads(payload)["content"] if b["type"] == "tool_use"]


@pytest.mark.parametrize(
    ("prompt", "path"),
    [
        ("Read /etc/hostname.", "/etc/hostname"),
        ("what does '/tmp/x.txt' hold", "/tmp/x.txt"),
        ("summarise ~/notes and then /srv/n.md", "/srv/n.md"),
        ("fetch https://example.org/a then read /srv/b.md", "/srv/b.md"),
        ("read the note", "example"),
    ],
)
def test_claude_codes_tools_get_a_read_of_the_path_the_prompt_names(prompt: str, path: str) -> None:
    """Claude Code offers Agent first: an unforced call picks Read, with only its required
    parameter, so the call is one Claude Code runs (an Agent call starts a sub-agent; Read's
    optional `pages` filled in makes the call invalid)."""
    (call,) = _call([AGENT, BASH, READ], prompt)
    assert call["name"] == "Read" and call["input"] == {"file_path": path}


def test_required_parameters_get_values_their_schema_accepts() -> None:
    props = {
        "n": {"type": "integer", "minimum": 5},
        "m": {"type": "integer", "exclusiveMinimum": 0},
        "x": {"type": "number"},
        "mode": {"type": "string", "enum": ["fast", "slow"]},
        "flag": {"type": "boolean"},
        "items": {"type": "array"},
        "extra": {"type": "string"},
    }
    tool = {
        "name": "t",
        "input_schema": {"type": "object", "properties": props, "required": list(props)[:-1]},
    }
    (call,) = _call([tool], "go")
    assert call["input"] == {"n": 5, "m": 1, "x": 1, "mode": "fast", "flag": False, "items": []}

"""Anthropic-format upstream → OpenAI chunks: grammar, meaning, split invariance and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.translate.stream_a2o import AnthropicToOpenAIStream
from tests.translate.upstreams import Expected, anthropic_frame, anthropic_streams, drive, split
from tests.translate.validators import sdk_openai_message, sdk_openai_stream, validate_openai


def run(chunks: list[bytes], include_usage: bool = True) -> bytes:
    machine = AnthropicToOpenAIStream(
        "gpt-client", include_usage, provider="zai", completion_id="chatcmpl-test", created=1700000000
    )
    return drive(machine, chunks)


def frames(*payloads: dict[str, Any]) -> list[bytes]:
    return [anthropic_frame(p).encode() for p in payloads]


START = {
    "type": "message_start",
    "message": {
        "id": "msg_up",
        "type": "message",
        "role": "assistant",
        "model": "up",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    },
}


def block(index: int, content_block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": content_block}


def delta(index: int, d: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": d}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def text_block(index: int, text: str) -> list[dict[str, Any]]:
    return [
        block(index, {"type": "text", "text": ""}),
        delta(index, {"type": "text_delta", "text": text}),
        stop(index),
    ]


def end(reason: str, output: int = 5) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": None},
            "usage": {"output_tokens": output},
        },
        {"type": "message_stop"},
    ]


@settings(max_examples=150, deadline=None)
@given(anthropic_streams(), st.lists(st.integers(0, 5000), max_size=20), st.booleans())
def test_any_valid_stream_split_anywhere_is_well_formed(
    stream: tuple[list[str], Expected], cuts: list[int], include_usage: bool
) -> None:
    upstream, expected = stream
    raw = "".join(upstream).encode()
    whole = run([raw], include_usage)
    assert run(split(raw, cuts), include_usage) == whole
    result = validate_openai(whole, include_usage)
    assert result.ended == "done"
    message = result.message
    assert (message["content"] or "") == expected.text
    assert message.get("reasoning_content", "") == expected.reasoning
    tools = [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in message.get("tool_calls", [])
    ]
    assert tools == expected.tools
    assert result.finish_reason == expected.stop
    if include_usage:
        assert result.usage is not None and expected.usage is not None
        assert {k: result.usage[k] for k in expected.usage} == expected.usage
    sdk_message, sdk_finish, _ = sdk_openai_message(whole)
    assert sdk_finish == expected.stop
    assert sdk_message["content"] == message["content"]
    assert [(c["id"], c["function"]["arguments"]) for c in sdk_message.get("tool_calls") or []] == [
        (c["id"], c["function"]["arguments"]) for c in message.get("tool_calls", [])
    ]


@settings(max_examples=150, deadline=None)
@given(anthropic_streams(), st.integers(0, 10**6), st.booleans())
def test_a_stream_cut_anywhere_makes_the_openai_sdk_raise_after_what_was_sent(
    stream: tuple[list[str], Expected], cut: int, include_usage: bool
) -> None:
    """The mirror of Anthropic's mid-stream `error`: one `data: {"error": …}` chunk after the
    deltas sent so far, no finish chunk and no `[DONE]`, which the openai SDK turns into an
    `APIError` (a stream that just stopped would look complete to it)."""
    upstream, _ = stream
    raw = "".join(upstream).encode()
    whole = run([raw], include_usage)
    cut_off = run([raw[: cut % len(raw)]], include_usage)
    result = validate_openai(cut_off, include_usage)
    if result.ended == "done":  # cut after message_delta: EOF then is a proper end
        return
    assert result.error is not None and result.error["message"].startswith("zai: ")
    head = cut_off[: cut_off.rindex(b'data: {"error"')]
    assert whole.startswith(head)
    yielded, raised = sdk_openai_stream(cut_off)
    assert yielded == len(result.chunks) - 1
    assert raised is not None and raised.message == result.error["message"]


def test_thinking_text_and_two_tools() -> None:
    out = run(
        frames(
            START,
            block(0, {"type": "thinking", "thinking": "", "signature": ""}),
            delta(0, {"type": "thinking_delta", "thinking": "Need data."}),
            delta(0, {"type": "signature_delta", "signature": "EqQB"}),
            stop(0),
            block(1, {"type": "text", "text": ""}),
            delta(1, {"type": "text_delta", "text": "Reading both."}),
            stop(1),
            block(2, {"type": "tool_use", "id": "toolu_a", "name": "read", "input": {}}),
            delta(2, {"type": "input_json_delta", "partial_json": '{"path": '}),
            delta(2, {"type": "input_json_delta", "partial_json": '"a"}'}),
            stop(2),
            block(3, {"type": "tool_use", "id": "toolu_b", "name": "read", "input": {}}),
            stop(3),
            *end("tool_use"),
        )
    )
    result = validate_openai(out, include_usage=True)
    assert result.message == {
        "role": "assistant",
        "content": "Reading both.",
        "reasoning_content": "Need data.",
        "tool_calls": [
            {"id": "toolu_a", "type": "function", "function": {"name": "read", "arguments": '{"path": "a"}'}},
            {"id": "toolu_b", "type": "function", "function": {"name": "read", "arguments": "{}"}},
        ],
    }
    assert result.finish_reason == "tool_calls"
    assert result.usage == {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    assert b"EqQB" not in out


def test_tool_only_answer_has_null_content_and_empty_answer_has_empty_content() -> None:
    tool_only = run(
        frames(
            START,
            block(0, {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}),
            stop(0),
            *end("tool_use"),
        )
    )
    message = validate_openai(tool_only, True).message
    assert message["content"] is None
    assert message["tool_calls"][0]["function"]["arguments"] == '{"a":1}'
    empty = validate_openai(run(frames(START, *end("end_turn"))), True)
    assert empty.message["content"] == "" and empty.finish_reason == "stop"


def test_without_include_usage_there_is_no_usage_chunk() -> None:
    out = run(
        frames(
            START,
            *text_block(0, "hi"),
            *end("max_tokens"),
        ),
        include_usage=False,
    )
    result = validate_openai(out, include_usage=False)
    assert result.usage is None and result.finish_reason == "length"


@pytest.mark.parametrize(
    ("chunks", "error_type", "needle"),
    [
        (
            frames(START, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            "server_error",
            "zai: Overloaded",
        ),
        (
            frames(START, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}),
            "rate_limit_exceeded",
            "slow down",
        ),
        (frames(START, block(0, {"type": "text", "text": ""})), "server_error", "closed the stream before"),
        ([b"event: message_start\ndata: {oops\n\n"], "server_error", "malformed"),
        ([b"data: 17\n\n"], "server_error", "malformed"),
    ],
)
def test_bad_upstreams_end_in_a_well_formed_error(chunks: list[bytes], error_type: str, needle: str) -> None:
    out = run(chunks)
    result = validate_openai(out, include_usage=True)
    assert result.ended == "error" and result.error is not None
    assert result.error["type"] == error_type and needle in result.error["message"]
    assert b"[DONE]" not in out


def test_message_delta_without_message_stop_still_finishes() -> None:
    out = run(
        frames(
            START,
            *text_block(0, "x"),
            end("end_turn")[0],
        )
    )
    assert validate_openai(out, True).ended == "done"


def test_unknown_events_and_blocks_are_ignored() -> None:
    out = run(
        frames(
            START,
            {"type": "ping"},
            {"type": "future_event"},
            block(0, {"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {}}),
            delta(0, {"type": "input_json_delta", "partial_json": "{}"}),
            stop(0),
            delta(9, {"type": "text_delta", "text": "orphan"}),
            *end("end_turn"),
        )
    )
    result = validate_openai(out, True)
    assert result.message == {"role": "assistant", "content": ""}


@pytest.mark.parametrize(
    ("error_type", "openai_type", "code"),
    [
        ("timeout_error", "server_error", "timeout"),
        ("api_error", "server_error", None),
        ("custom", "custom", None),
    ],
)
def test_fail_renders_the_relay_message(error_type: str, openai_type: str, code: str | None) -> None:
    machine = AnthropicToOpenAIStream("m", True, completion_id="chatcmpl-x", created=1)
    machine.feed(anthropic_frame(START).encode())
    tail = machine.fail(error_type, "upstream went quiet")
    assert json.loads(tail[6:]) == {
        "error": {"message": "upstream went quiet", "type": openai_type, "param": None, "code": code}
    }
    assert machine.done and machine.fail("api_error", "x") == b""
    assert machine.keepalive() == b""

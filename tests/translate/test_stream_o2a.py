"""OpenAI-format upstream → Anthropic SSE: grammar, meaning, split invariance and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.translate.stream_o2a import OpenAIToAnthropicStream
from tests.translate.upstreams import Expected, drive, openai_streams, split
from tests.translate.validators import AnthropicResult, sdk_anthropic_message, validate_anthropic


def run(chunks: list[bytes], *, buffer_tools: bool = False) -> bytes:
    machine = OpenAIToAnthropicStream(
        "claude-client", 42, provider="groq", buffer_tools=buffer_tools, message_id="msg_test"
    )
    return drive(machine, chunks)


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "id": "c",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }
    body.update(extra)
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def call(index: int | None, args: str, call_id: str | None = None, name: str | None = None) -> dict[str, Any]:
    fragment: dict[str, Any] = {"function": {"arguments": args}}
    if index is not None:
        fragment["index"] = index
    if call_id is not None:
        fragment["id"] = call_id
        fragment["type"] = "function"
    if name is not None:
        fragment["function"]["name"] = name
    return {"tool_calls": [fragment]}


def check_meaning(result: AnthropicResult, expected: Expected) -> None:
    content = result.message["content"]
    assert "".join(b["text"] for b in content if b["type"] == "text") == expected.text
    assert "".join(b["thinking"] for b in content if b["type"] == "thinking") == expected.reasoning
    assert all(b["signature"] == "relay:groq" for b in content if b["type"] == "thinking")
    tools = [(b["id"], b["name"], b["input"]) for b in content if b["type"] == "tool_use"]
    assert tools == expected.tools
    assert result.message["stop_reason"] == expected.stop
    if expected.usage is not None:
        assert {k: result.message["usage"][k] for k in expected.usage} == expected.usage


@settings(max_examples=150, deadline=None)
@given(openai_streams(), st.lists(st.integers(0, 5000), max_size=20), st.booleans())
def test_any_valid_stream_split_anywhere_is_well_formed(
    stream: tuple[list[str], Expected], cuts: list[int], buffer_tools: bool
) -> None:
    frames, expected = stream
    raw = "".join(frames).encode()
    whole = run([raw], buffer_tools=buffer_tools)
    assert run(split(raw, cuts), buffer_tools=buffer_tools) == whole
    result = validate_anthropic(whole)
    assert result.ended == "stop"
    check_meaning(result, expected)
    sdk = sdk_anthropic_message(whole)
    assert sdk["content"] == result.message["content"]
    assert sdk["stop_reason"] == expected.stop


@settings(max_examples=150, deadline=None)
@given(openai_streams(), st.integers(0, 10**6), st.booleans())
def test_a_stream_cut_anywhere_adds_only_the_error_event(
    stream: tuple[list[str], Expected], cut: int, buffer_tools: bool
) -> None:
    """Anthropic's own sequence on a mid-stream failure: the `error` event follows the last
    delta and nothing is closed first (no `content_block_stop`, no signature, no held tool),
    which is what lets Claude Code retry instead of keeping a truncated block."""
    frames, _ = stream
    raw = "".join(frames).encode()
    raw = raw[: cut % len(raw)]
    whole = run(["".join(frames).encode()], buffer_tools=buffer_tools)
    cut_off = run([raw], buffer_tools=buffer_tools)
    result = validate_anthropic(cut_off)
    if result.ended == "stop":  # cut after the finish chunk: EOF then is a proper end
        return
    error = result.events[-1]
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    head = cut_off[: cut_off.rindex(b"event: error\n")]
    assert whole.startswith(head)


def test_interleaved_text_and_two_tools_get_indices_in_order() -> None:
    out = run(
        [
            chunk({"role": "assistant", "content": "Let me look."}),
            chunk(call(0, "", "call_a", "read")),
            chunk(call(0, '{"path":')),
            chunk(call(0, '"a.py"}')),
            chunk(call(1, '{"path": "b.py"}', "call_b", "read")),
            chunk(finish="tool_calls"),
            b"data: [DONE]\n\n",
        ]
    )
    result = validate_anthropic(out)
    assert [(b["type"], b.get("id")) for b in result.message["content"]] == [
        ("text", None),
        ("tool_use", "call_a"),
        ("tool_use", "call_b"),
    ]
    assert result.message["content"][1]["input"] == {"path": "a.py"}
    assert result.message["stop_reason"] == "tool_use"


def test_message_start_carries_the_estimate_and_message_delta_the_real_usage() -> None:
    usage = {
        "prompt_tokens": 120,
        "completion_tokens": 7,
        "total_tokens": 127,
        "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 5},
    }
    out = run(
        [
            chunk({"content": "hi"}),
            chunk(finish="stop"),
            b'data: {"choices":[],"usage":' + json.dumps(usage).encode() + b"}\n\n",
        ]
    )
    result = validate_anthropic(out)
    assert result.events[0]["message"]["usage"] == {
        "input_tokens": 42,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
    }
    assert result.message["usage"] == {
        "input_tokens": 15,
        "cache_creation_input_tokens": 5,
        "cache_read_input_tokens": 100,
        "output_tokens": 7,
    }


def test_stop_with_tool_calls_means_tool_use() -> None:
    out = run([chunk(call(0, "{}", "call_1", "ls")), chunk(finish="stop")])
    assert validate_anthropic(out).message["stop_reason"] == "tool_use"


def test_empty_response_is_one_empty_text_block() -> None:
    result = validate_anthropic(
        run([chunk({"role": "assistant"}), chunk(finish="stop"), b"data: [DONE]\n\n"])
    )
    assert result.message["content"] == [{"type": "text", "text": ""}]
    assert result.message["stop_reason"] == "end_turn"


@pytest.mark.parametrize(
    ("chunks", "error_type", "needle"),
    [
        ([chunk({"content": "partial"})], "api_error", "groq: upstream closed the stream before it finished"),
        ([b"data: {not json\n\n"], "api_error", "malformed"),
        ([b"data: [1, 2]\n\n"], "api_error", "malformed"),
        (
            [b'data: {"error":{"message":"Rate limit reached","code":429}}\n\n'],
            "rate_limit_error",
            "Rate limit",
        ),
        ([b'data: {"error":{"message":"busy","code":"503"}}\n\n'], "overloaded_error", "busy"),
        (
            [
                b'data: {"error":{"message":"maximum context length is 8192 tokens, you requested 9000 tokens",'
                b'"code":"context_length_exceeded"}}\n\n'
            ],
            "invalid_request_error",
            "prompt is too long: 9000 tokens > 8192",
        ),
        (
            [chunk({"content": "x"}, finish="error", error={"message": "provider died"})],
            "api_error",
            "provider died",
        ),
        ([chunk({"content": "x"}), chunk(finish="error")], "api_error", "upstream reported an error"),
        (
            [chunk(call(0, '{"a": ', "call_1", "f")), chunk({"content": "oops"})],
            "api_error",
            "not valid JSON",
        ),
        ([chunk(call(0, '{"a": 1', "call_1", "f")), chunk(finish="stop")], "api_error", "not valid JSON"),
        (
            [chunk(call(0, "{}", "c1", "f")), chunk(call(1, "{}", "c2", "g")), chunk(call(0, ', "b": 2}'))],
            "api_error",
            "continued after another block",
        ),
    ],
)
def test_bad_upstreams_end_in_a_well_formed_error(chunks: list[bytes], error_type: str, needle: str) -> None:
    result = validate_anthropic(run(chunks))
    assert result.ended == "error"
    assert result.error is not None
    assert result.error["type"] == error_type
    assert needle in result.error["message"]


@pytest.mark.parametrize(
    ("args", "expected_input"),
    [
        ("", {}),
        ("   ", {}),
        ("null", {}),
        ("[1, 2]", {"_raw": "[1, 2]"}),
        ("not json", {"_raw": "not json"}),
        ('  {"ok": true}', {"ok": True}),
    ],
)
def test_arguments_that_do_not_start_an_object_are_held_and_rewritten(args: str, expected_input: Any) -> None:
    result = validate_anthropic(run([chunk(call(0, args, "call_1", "f")), chunk(finish="tool_calls")]))
    assert result.ended == "stop"
    assert result.message["content"][0]["input"] == expected_input


def test_cut_off_arguments_after_length_are_sent_as_anthropic_would() -> None:
    result = validate_anthropic(
        run([chunk(call(0, '{"content": "very lo', "call_1", "write")), chunk(finish="length")])
    )
    assert result.ended == "stop" and result.message["stop_reason"] == "max_tokens"


def test_buffered_mode_survives_interleaving_and_invalid_json() -> None:
    out = run(
        [
            chunk(call(0, '{"a"', "c1", "f")),
            chunk({"content": "between"}),
            chunk(call(1, "broken", "c2", "g")),
            chunk(call(0, ": 1}")),
            chunk(finish="tool_calls"),
        ],
        buffer_tools=True,
    )
    result = validate_anthropic(out)
    assert [b["type"] for b in result.message["content"]] == ["text", "tool_use", "tool_use"]
    assert result.message["content"][1]["input"] == {"a": 1}
    assert result.message["content"][2]["input"] == {"_raw": "broken"}


def test_ollama_whole_calls_reusing_index_zero_are_separate_calls() -> None:
    out = run(
        [
            chunk(call(0, '{"x": 1}', "call_1", "f")),
            chunk(call(0, '{"y": 2}', "call_2", "g")),
            chunk(finish="tool_calls"),
        ]
    )
    tools = validate_anthropic(out).message["content"]
    assert [(t["id"], t["input"]) for t in tools] == [("call_1", {"x": 1}), ("call_2", {"y": 2})]


def test_missing_and_invalid_tool_ids_are_synthesized_or_sanitized() -> None:
    out = run(
        [chunk(call(0, "{}", None, "f")), chunk(call(1, "{}", "functions.g:1", "g")), chunk(finish="stop")]
    )
    first, second = validate_anthropic(out).message["content"]
    assert first["id"].startswith("toolu_")
    assert second["id"].startswith("functions_g_1_")


def test_garbage_lines_and_chunks_without_choices_are_skipped() -> None:
    out = run(
        [
            b": comment\n\nretry: 5\n\ndata: \n\n",
            b'data: {"id":"x","choices":[]}\n\n',
            b'data: {"choices":[{"index":0}]}\n\n',
            chunk({"content": "ok"}),
            chunk(finish="stop"),
        ]
    )
    result = validate_anthropic(out)
    assert result.ended == "stop" and result.message["content"][0]["text"] == "ok"


def test_fail_and_keepalive() -> None:
    machine = OpenAIToAnthropicStream("m", 1, message_id="msg_x")
    assert machine.keepalive() == b""
    machine.start()
    machine.feed(chunk({"content": "part"}))
    assert machine.keepalive() == b'event: ping\ndata: {"type":"ping"}\n\n'
    tail = machine.fail("timeout_error", "upstream went quiet")
    assert machine.done and machine.fail("api_error", "again") == b""
    assert tail == (  # the text block stays open, as Anthropic leaves it
        b'event: error\ndata: {"type":"error","error":{"type":"timeout_error",'
        b'"message":"upstream went quiet"}}\n\n'
    )


def test_feed_before_start_starts() -> None:
    machine = OpenAIToAnthropicStream("m", 1, message_id="msg_x")
    out = machine.feed(chunk({"content": "a"})) + machine.feed(chunk(finish="stop")) + machine.finish()
    assert validate_anthropic(out).ended == "stop"
    assert machine.start() == b""

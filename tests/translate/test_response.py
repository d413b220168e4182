"""Non-streaming responses both ways, and agreement with what the streaming twins accumulate."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.translate.response import anthropic_response_to_openai, openai_response_to_anthropic
from runtime.translate.stream_a2o import AnthropicToOpenAIStream
from runtime.translate.stream_o2a import OpenAIToAnthropicStream
from tests.translate.validators import validate_anthropic, validate_openai


def oai(message: dict[str, Any], finish: Any = "stop", usage: Any = None) -> dict[str, Any]:
    resp: dict[str, Any] = {"id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "up"}
    resp["choices"] = [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}]
    if usage is not None:
        resp["usage"] = usage
    return resp


def o2a(resp: dict[str, Any]) -> dict[str, Any]:
    return openai_response_to_anthropic(
        resp, client_model="claude-client", provider="groq", message_id="msg_t", input_estimate=9
    )


@pytest.mark.parametrize(
    ("finish", "message", "stop"),
    [
        ("stop", {"content": "hi"}, "end_turn"),
        ("length", {"content": "hi"}, "max_tokens"),
        ("content_filter", {"content": None}, "refusal"),
        ("tool_calls", {"content": None}, "end_turn"),
        ("stop", {"tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}, "tool_use"),
        ("length", {"tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{"}}]}, "max_tokens"),
        ("mystery", {"content": "hi"}, "end_turn"),
        (None, {"content": "hi"}, "end_turn"),
        ("stop", {"content": None, "refusal": "I won't."}, "refusal"),
    ],
)
def test_finish_reasons(finish: Any, message: dict[str, Any], stop: str) -> None:
    assert o2a(oai(message, finish))["stop_reason"] == stop


def test_openai_to_anthropic_full_message() -> None:
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 50,
        "total_tokens": 1050,
        "prompt_tokens_details": {"cached_tokens": 800},
        "completion_tokens_details": {"reasoning_tokens": 20},
    }
    resp = oai(
        {
            "content": "Reading two files.",
            "reasoning_content": "Need both.",
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "read", "arguments": '{"path":"a"}'},
                },
                {"id": "call_b", "type": "function", "function": {"name": "read", "arguments": "{oops"}},
            ],
        },
        "tool_calls",
        usage,
    )
    assert o2a(resp) == {
        "id": "msg_t",
        "type": "message",
        "role": "assistant",
        "model": "claude-client",
        "content": [
            {"type": "thinking", "thinking": "Need both.", "signature": "relay:groq"},
            {"type": "text", "text": "Reading two files."},
            {"type": "tool_use", "id": "call_a", "name": "read", "input": {"path": "a"}},
            {"type": "tool_use", "id": "call_b", "name": "read", "input": {"_raw": "{oops"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 200,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 800,
            "output_tokens": 50,
        },
    }


@pytest.mark.parametrize(
    "resp",
    [
        oai({"content": ""}),
        oai({"content": None}),
        {"choices": []},
        {},
        {"choices": [{"message": "garbage"}]},
    ],
)
def test_empty_or_broken_openai_responses_become_one_empty_text_block(resp: dict[str, Any]) -> None:
    out = o2a(resp)
    assert out["content"] == [{"type": "text", "text": ""}]
    assert out["usage"] == {
        "input_tokens": 9,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 0,
    }


def test_reasoning_field_variants_and_text_parts() -> None:
    out = o2a(
        oai(
            {
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                "reasoning": "r1",
                "reasoning_details": [{"type": "reasoning.text", "text": "r1"}],
            }
        )
    )
    assert out["content"][:2] == [
        {"type": "thinking", "thinking": "r1", "signature": "relay:groq"},
        {"type": "text", "text": "ab"},
    ]
    details = o2a(oai({"content": "x", "reasoning_details": [{"type": "reasoning.summary", "summary": "s"}]}))
    assert details["content"][0]["thinking"] == "s"


def test_missing_tool_id_is_synthesized() -> None:
    out = o2a(oai({"tool_calls": [{"function": {"name": "f", "arguments": ""}}]}, "tool_calls"))
    assert out["content"][0]["id"].startswith("toolu_") and out["content"][0]["input"] == {}


def test_anthropic_to_openai_full_message() -> None:
    resp = {
        "id": "msg_up",
        "type": "message",
        "role": "assistant",
        "model": "claude-up",
        "content": [
            {"type": "thinking", "thinking": "Plan.", "signature": "EqQB"},
            {"type": "redacted_thinking", "data": "zzz"},
            {"type": "text", "text": "First."},
            {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {"path": "a"}},
            {"type": "text", "text": "Second."},
            {"type": "tool_use", "id": "toolu_2", "name": "ls", "input": {}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 5,
            "cache_read_input_tokens": 100,
            "output_tokens": 30,
        },
    }
    out = anthropic_response_to_openai(resp, client_model="gpt-client", completion_id="chatcmpl-t", created=7)
    assert out == {
        "id": "chatcmpl-t",
        "object": "chat.completion",
        "created": 7,
        "model": "gpt-client",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "logprobs": None,
                "message": {
                    "role": "assistant",
                    "content": "First.\n\nSecond.",
                    "reasoning_content": "Plan.",
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "read", "arguments": '{"path":"a"}'},
                        },
                        {"id": "toolu_2", "type": "function", "function": {"name": "ls", "arguments": "{}"}},
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 115,
            "completion_tokens": 30,
            "total_tokens": 145,
            "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 5},
        },
    }


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
        ("novel", "stop"),
    ],
)
def test_stop_reasons(stop: Any, finish: str) -> None:
    out = anthropic_response_to_openai({"content": [], "stop_reason": stop}, client_model="m")
    assert out["choices"][0]["finish_reason"] == finish
    assert out["choices"][0]["message"]["content"] == ""
    assert out["id"].startswith("chatcmpl-") and isinstance(out["created"], int)


def _sse_from_openai_response(resp: dict[str, Any]) -> bytes:
    """The same answer an OpenAI-format upstream would stream: one delta per field."""
    message = resp["choices"][0]["message"]
    chunks: list[dict[str, Any]] = []
    for key in ("reasoning_content", "content"):
        if message.get(key):
            chunks.append({"choices": [{"index": 0, "delta": {key: message[key]}}]})
    for i, tool_call in enumerate(message.get("tool_calls", [])):
        chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": i, **tool_call}]}}]})
    chunks.append(
        {
            "choices": [{"index": 0, "delta": {}, "finish_reason": resp["choices"][0]["finish_reason"]}],
            "usage": resp.get("usage"),
        }
    )
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


@pytest.mark.parametrize(
    "resp",
    [
        oai({"content": "hi"}, "stop", {"prompt_tokens": 5, "completion_tokens": 1}),
        oai(
            {
                "content": None,
                "reasoning_content": "r",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": [1, 2]}'}},
                    {"id": "c2", "type": "function", "function": {"name": "g", "arguments": ""}},
                ],
            },
            "tool_calls",
            {"prompt_tokens": 50, "completion_tokens": 9, "prompt_tokens_details": {"cached_tokens": 40}},
        ),
        oai({"content": ""}, "stop", {"prompt_tokens": 5, "completion_tokens": 0}),
    ],
)
def test_streamed_and_non_streamed_openai_answers_agree(resp: dict[str, Any]) -> None:
    machine = OpenAIToAnthropicStream("claude-client", 9, provider="groq", message_id="msg_t")
    streamed = validate_anthropic(
        machine.start() + machine.feed(_sse_from_openai_response(resp)) + machine.finish()
    )
    assert streamed.message == o2a(resp)


def _sse_from_anthropic_response(resp: dict[str, Any]) -> bytes:
    start = {**resp, "content": [], "stop_reason": None}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for i, block in enumerate(resp["content"]):
        empty: dict[str, dict[str, Any]] = {
            "text": {"text": ""},
            "thinking": {"thinking": "", "signature": ""},
            "tool_use": {"input": {}},
        }
        events.append(
            {"type": "content_block_start", "index": i, "content_block": {**block, **empty[block["type"]]}}
        )
        delta = {
            "text": {"type": "text_delta", "text": block.get("text")},
            "thinking": {"type": "thinking_delta", "thinking": block.get("thinking")},
            "tool_use": {
                "type": "input_json_delta",
                "partial_json": json.dumps(block.get("input"), separators=(",", ":")),
            },
        }
        events.append({"type": "content_block_delta", "index": i, "delta": delta[block["type"]]})
        events.append({"type": "content_block_stop", "index": i})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": resp["stop_reason"]},
            "usage": {"output_tokens": resp["usage"]["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


@pytest.mark.parametrize(
    "content",
    [
        [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        [
            {"type": "thinking", "thinking": "t"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}},
        ],
        [],
    ],
)
def test_streamed_and_non_streamed_anthropic_answers_agree(content: list[dict[str, Any]]) -> None:
    resp = {
        "id": "msg_up",
        "type": "message",
        "role": "assistant",
        "model": "up",
        "content": content,
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
    machine = AnthropicToOpenAIStream("gpt-client", True, completion_id="chatcmpl-t", created=7)
    streamed = validate_openai(machine.feed(_sse_from_anthropic_response(resp)) + machine.finish(), True)
    whole = anthropic_response_to_openai(
        resp, client_model="gpt-client", completion_id="chatcmpl-t", created=7
    )
    assert streamed.message == whole["choices"][0]["message"]
    assert streamed.usage == whole["usage"]

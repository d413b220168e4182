"""The other direction: Chat Completions and Anthropic clients on an `openai-responses` step.

Properties (hypothesis): any Responses event stream (made by the O→R machine from any valid
chat stream), split anywhere, becomes a well-formed chat stream (`stream_r2o`) that the
openai SDK accumulates to the answer the original carried, and a well-formed Anthropic
stream through both machines (`Composed`); a Codex conversation taken to chat, to the
Responses API (`request_o2r`) and back to chat is the same chat request.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.translate import (
    Composed,
    OpenAIToAnthropicStream,
    OpenAIToResponsesStream,
    ResponsesToOpenAIStream,
    TranslationError,
    openai_request_to_responses,
    openai_response_to_responses,
    responses_request_to_openai,
    responses_response_to_openai,
)
from runtime.translate.ids import anthropic_tool_id
from tests.translate.test_responses import conversations
from tests.translate.upstreams import Expected, drive, openai_streams, split
from tests.translate.validators import (
    parse_events,
    sdk_anthropic_message,
    sdk_openai_message,
    validate_anthropic,
    validate_openai,
)

_FINISH = {"max_tokens": "length", "refusal": "content_filter", "tool_use": "tool_calls", "end_turn": "stop"}


def _responses_stream(frames: list[str]) -> bytes:
    machine = OpenAIToResponsesStream("up-model", {}, response_id="resp_t", created=1)
    return drive(machine, ["".join(frames).encode()])


def _to_chat(raw: bytes, cuts: list[int]) -> bytes:
    return drive(
        ResponsesToOpenAIStream("chain", True, created=1, completion_id="chatcmpl-t"), split(raw, cuts)
    )


@settings(max_examples=150, deadline=None)
@given(openai_streams(), st.lists(st.integers(0, 8000), max_size=20))
def test_any_responses_stream_split_anywhere_reaches_a_chat_client_intact(
    stream: tuple[list[str], Expected], cuts: list[int]
) -> None:
    frames, expected = stream
    raw = _responses_stream(frames)
    chat = _to_chat(raw, cuts)
    assert chat == _to_chat(raw, [])  # split invariance
    result = validate_openai(chat, include_usage=True)
    assert result.ended == "done" and result.finish_reason == _FINISH[str(expected.stop)]
    message = result.message
    nothing = not (expected.text or expected.reasoning or expected.tools)  # `content: ""`, as A→O says
    assert message["content"] == ("" if nothing else expected.text or None)
    assert message.get("reasoning_content", "") == expected.reasoning
    calls = [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in message.get("tool_calls", [])
    ]
    assert calls == expected.tools
    if expected.usage is not None:
        assert result.usage is not None
        assert result.usage["completion_tokens"] == expected.usage["output_tokens"]
        assert (
            result.usage["prompt_tokens_details"]["cached_tokens"]
            == expected.usage["cache_read_input_tokens"]
        )
    sdk_message, sdk_finish, _ = sdk_openai_message(chat)
    assert sdk_finish == result.finish_reason and sdk_message.get("content") == message["content"]


def _interleaved(raw: bytes) -> bool:
    """Whether arguments stream for a call after another item began (parallel calls whose
    arguments come late: a chat upstream's interleaving, passed on by O→R)."""
    latest = None
    for _, data in parse_events(raw):
        event = json.loads(data)
        if event["type"] == "response.output_item.added":
            latest = event["item"]["id"]
        elif event["type"] == "response.function_call_arguments.delta" and event["item_id"] != latest:
            return True
    return False


@settings(max_examples=100, deadline=None)
@given(openai_streams(), st.lists(st.integers(0, 8000), max_size=10))
def test_any_responses_stream_reaches_an_anthropic_client_through_both_machines(
    stream: tuple[list[str], Expected], cuts: list[int]
) -> None:
    frames, expected = stream
    raw = _responses_stream(frames)
    machine = Composed(
        ResponsesToOpenAIStream("chain", True, created=1),
        OpenAIToAnthropicStream("chain", 10, message_id="msg_t"),
    )
    out = drive(machine, split(raw, cuts))
    if _interleaved(raw):  # O→A's live policy: an error event, never a wrong answer
        assert validate_anthropic(out).ended == "error"
        return
    message = sdk_anthropic_message(out)
    blocks = message["content"]
    assert "".join(b["text"] for b in blocks if b["type"] == "text") == expected.text
    assert "".join(b["thinking"] for b in blocks if b["type"] == "thinking") == expected.reasoning
    uses = [(b["id"], b["name"], b["input"]) for b in blocks if b["type"] == "tool_use"]
    assert uses == [(anthropic_tool_id(i), n, a) for i, n, a in expected.tools]
    assert message["stop_reason"] == expected.stop
    if expected.usage is not None:
        assert message["usage"]["output_tokens"] == expected.usage["output_tokens"]


@settings(max_examples=150, deadline=None)
@given(conversations())
def test_a_conversation_through_the_responses_api_and_back_is_the_same_chat_request(
    body: dict[str, Any],
) -> None:
    chat, _ = responses_request_to_openai(body)
    there = openai_request_to_responses(chat, upstream_model="up")
    assert there["model"] == "up" and there["store"] is False and there["stream"] is True
    back, dropped = responses_request_to_openai(there)
    assert dropped == ()
    assert back["messages"] == chat["messages"]


def test_chat_request_fields_map_to_the_responses_api() -> None:
    tool = {
        "type": "function",
        "function": {"name": "f", "description": "d", "parameters": {"type": "object"}},
    }
    body = {
        "model": "chain",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "detail": "low"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "dropped",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "out"}]},
        ],
        "tools": [tool],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "max_tokens": 50,
        "reasoning_effort": "high",
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "s", "schema": {"type": "object"}},
        },
        "seed": 7,
        "stream_options": {"include_usage": True},
    }
    out = openai_request_to_responses(body, upstream_model="up")
    assert out == {
        "model": "up",
        "store": False,
        "input": [
            {"type": "message", "role": "developer", "content": "Be brief."},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"},
                ],
            },
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "out"},
        ],
        "max_output_tokens": 50,
        "reasoning": {"effort": "high"},
        "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}}},
        "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}}],
        "tool_choice": {"type": "function", "name": "f"},
    }


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"stop": ["END"]}, "stop"),
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]"),
        (
            {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
            "messages[0].content[0].type",
        ),
    ],
)
def test_what_the_responses_api_cannot_carry_is_refused_by_name(extra: dict[str, Any], field: str) -> None:
    body = {"model": "c", "messages": [{"role": "user", "content": "hi"}], **extra}
    with pytest.raises(TranslationError) as err:
        openai_request_to_responses(body, upstream_model="up")
    assert err.value.field == field


def test_a_whole_response_says_what_the_chat_answer_said() -> None:
    chat = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Running it.",
                    "reasoning_content": "think",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 3,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 2},
        },
    }
    response = openai_response_to_responses(chat, client_model="up", echo={})
    back = responses_response_to_openai(response, client_model="chain", completion_id="chatcmpl-t", created=1)
    assert back["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Running it.",
                "reasoning_content": "think",
                "tool_calls": chat["choices"][0]["message"]["tool_calls"],  # type: ignore[index]
            },
            "finish_reason": "tool_calls",
            "logprobs": None,
        }
    ]
    assert back["usage"]["prompt_tokens_details"] == {"cached_tokens": 2}
    assert back["usage"]["total_tokens"] == 15 and back["model"] == "chain"
    cut = {
        **response,
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [],
    }
    assert responses_response_to_openai(cut, client_model="chain")["choices"][0]["finish_reason"] == "length"

"""Upstream SSE frames for scripting the fake upstream, in each format's exact shape."""

from __future__ import annotations

import json
from typing import Any


def stream_body(model: str) -> dict[str, Any]:
    """The smallest streamed Anthropic request, for tests about stream framing."""
    return {"model": model, "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "x"}]}


def frame(name: str | None, payload: Any) -> str:
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(payload)}\n\n"


def anthropic_tool_stream(
    model: str, tool_id: str = "toolu_01AbC", args: str = '{"city": "Paris"}'
) -> list[str]:
    message = {
        "id": "msg_up",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 1,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 5,
        },
    }
    half = len(args) // 2
    return [
        frame("message_start", {"type": "message_start", "message": message}),
        frame(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        frame("ping", {"type": "ping"}),
        frame(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking."}},
        ),
        frame("content_block_stop", {"type": "content_block_stop", "index": 0}),
        frame(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "tool_use", "id": tool_id, "name": "get_weather", "input": {}},
            },
        ),
        frame(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": args[:half]},
            },
        ),
        frame(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": args[half:]},
            },
        ),
        frame("content_block_stop", {"type": "content_block_stop", "index": 1}),
        frame(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 30},
            },
        ),
        frame("message_stop", {"type": "message_stop"}),
    ]


def anthropic_tool_message(model: str, tool_id: str = "toolu_01AbC") -> dict[str, Any]:
    return {
        "id": "msg_up",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": tool_id, "name": "get_weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 30,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 5,
        },
    }


def openai_tool_stream(model: str, call_id: str = "call_Xy9", args: str = '{"city": "Paris"}') -> list[str]:
    head = {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return frame(
            None, {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": None}
        )

    half = len(args) // 2
    return [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Checking."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[:half]}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[half:]}}]}),
        chunk({}, "tool_calls"),
        frame(
            None,
            {
                **head,
                "choices": [],
                "usage": {"prompt_tokens": 20, "completion_tokens": 30, "total_tokens": 50},
            },
        ),
        "data: [DONE]\n\n",
    ]


def openai_tool_completion(model: str, call_id: str = "call_Xy9") -> dict[str, Any]:
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "logprobs": None,
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 30, "total_tokens": 50},
    }


WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": WEATHER_TOOL_ANTHROPIC["input_schema"],
    },
}

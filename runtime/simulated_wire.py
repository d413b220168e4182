"""Wire shapes the simulated provider answers with, exactly as real upstreams frame them.

Split from `simulated` so that module keeps the behaviour (limits, latency, failures)
and this one only the bytes: full bodies, Anthropic SSE events (on the same byte templates
the translator emits) and OpenAI chunks.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from runtime.sse import OPENAI_DONE, openai_data
from runtime.translate import anthropic_sse as sse

_encode = msgspec.json.Encoder().encode
ToolCall = tuple[str, dict[str, Any]] | None


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _data(payload: dict[str, Any]) -> bytes:
    return openai_data(_encode(payload))


def _usage(usage_in: int, usage_out: int) -> dict[str, int]:
    return {
        "input_tokens": usage_in,
        "output_tokens": usage_out,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def anthropic_body(serial: int, model: str, reply: str, call: ToolCall, usage_in: int) -> bytes:
    content: list[dict[str, Any]] = [{"type": "text", "text": reply}]
    if call is not None:
        content.append(
            {"type": "tool_use", "id": f"toolu_sim{serial:06d}", "name": call[0], "input": call[1]}
        )
    return _encode(
        {
            "id": f"msg_sim{serial:06d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": "tool_use" if call else "end_turn",
            "stop_sequence": None,
            "usage": _usage(usage_in, len(_words(reply))),
        }
    )


def anthropic_events(serial: int, model: str, reply: str, call: ToolCall, usage_in: int) -> list[bytes]:
    words = _words(reply)
    parts = [
        sse.message_start(f"msg_sim{serial:06d}", model, _usage(usage_in, 1)),
        sse.text_start(0),
        sse.PING,
        *(sse.text_delta(0, w) for w in words),
        sse.block_stop(0),
    ]
    if call is not None:
        parts += [
            sse.tool_start(1, f"toolu_sim{serial:06d}", call[0]),
            sse.input_json_delta(1, _encode(call[1]).decode()),
            sse.block_stop(1),
        ]
    parts += [
        sse.message_delta("tool_use" if call else "end_turn", {"output_tokens": len(words)}),
        sse.MESSAGE_STOP,
    ]
    return parts


def _openai_usage(usage_in: int, usage_out: int) -> dict[str, int]:
    return {"prompt_tokens": usage_in, "completion_tokens": usage_out, "total_tokens": usage_in + usage_out}


def _tool_calls(serial: int, call: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    fn = {"name": call[0], "arguments": _encode(call[1]).decode()}
    return [{"index": 0, "id": f"call_sim{serial:06d}", "type": "function", "function": fn}]


def openai_body(serial: int, model: str, reply: str, call: ToolCall, usage_in: int) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": reply}
    if call is not None:
        message["tool_calls"] = [
            {k: v for k, v in tc.items() if k != "index"} for tc in _tool_calls(serial, call)
        ]
    return _encode(
        {
            "id": f"chatcmpl-sim{serial:06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if call else "stop",
                    "logprobs": None,
                }
            ],
            "usage": _openai_usage(usage_in, len(_words(reply))),
        }
    )


def openai_chunks(
    serial: int, model: str, reply: str, call: ToolCall, usage_in: int, include_usage: bool
) -> list[bytes]:
    head = {
        "id": f"chatcmpl-sim{serial:06d}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _data({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    words = _words(reply)
    parts = [chunk({"role": "assistant", "content": ""})] + [chunk({"content": w}) for w in words]
    if call is not None:
        parts.append(chunk({"tool_calls": _tool_calls(serial, call)}))
    parts.append(chunk({}, "tool_calls" if call else "stop"))
    if include_usage:
        parts.append(_data({**head, "choices": [], "usage": _openai_usage(usage_in, len(words))}))
    parts.append(OPENAI_DONE)
    return parts

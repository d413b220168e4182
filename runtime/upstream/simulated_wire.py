"""Wire shapes the simulated provider answers with, exactly as real upstreams frame them.

Split from `simulated` so that module keeps the behaviour (limits, latency, failures, what
to answer) and this one only the bytes: full bodies, Anthropic SSE events (on the same byte
templates the translator emits) and OpenAI chunks. Reasoning goes where each format puts
it: a signed thinking block first for Anthropic, `reasoning_content` for OpenAI (what
relay's translation reads and writes).
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from runtime.translate import anthropic_sse as sse
from runtime.translate.sse import OPENAI_DONE, openai_data

_encode = msgspec.json.Encoder().encode
ToolCall = tuple[str, dict[str, Any]] | None


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """What one simulated reply says, whatever the format it is framed in."""

    serial: int
    model: str
    text: str
    usage_in: int
    thinking: str | None = None
    """Reasoning shown before the text, when the request asked for it."""
    signature: str = ""
    """The thinking block's signature (Anthropic format only)."""
    call: ToolCall = None

    @property
    def output_tokens(self) -> int:
        return len(_words(self.text)) + (len(_words(self.thinking)) if self.thinking else 0)

    @property
    def stop(self) -> str:
        return "tool_use" if self.call else "end_turn"


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


def anthropic_body(a: Answer) -> bytes:
    content: list[dict[str, Any]] = []
    if a.thinking is not None:
        content.append({"type": "thinking", "thinking": a.thinking, "signature": a.signature})
    content.append({"type": "text", "text": a.text})
    if a.call is not None:
        content.append(
            {"type": "tool_use", "id": f"toolu_sim{a.serial:06d}", "name": a.call[0], "input": a.call[1]}
        )
    return _encode(
        {
            "id": f"msg_sim{a.serial:06d}",
            "type": "message",
            "role": "assistant",
            "model": a.model,
            "content": content,
            "stop_reason": a.stop,
            "stop_sequence": None,
            "usage": _usage(a.usage_in, a.output_tokens),
        }
    )


def anthropic_events(a: Answer) -> list[bytes]:
    parts = [sse.message_start(f"msg_sim{a.serial:06d}", a.model, _usage(a.usage_in, 1)), sse.PING]
    index = 0
    if a.thinking is not None:
        parts += [
            sse.thinking_start(index),
            *(sse.thinking_delta(index, w) for w in _words(a.thinking)),
            sse.signature_delta(index, a.signature),
            sse.block_stop(index),
        ]
        index += 1
    parts += [
        sse.text_start(index),
        *(sse.text_delta(index, w) for w in _words(a.text)),
        sse.block_stop(index),
    ]
    if a.call is not None:
        index += 1
        parts += [
            sse.tool_start(index, f"toolu_sim{a.serial:06d}", a.call[0]),
            sse.input_json_delta(index, _encode(a.call[1]).decode()),
            sse.block_stop(index),
        ]
    parts += [sse.message_delta(a.stop, {"output_tokens": a.output_tokens}), sse.MESSAGE_STOP]
    return parts


def _openai_usage(usage_in: int, usage_out: int) -> dict[str, int]:
    return {"prompt_tokens": usage_in, "completion_tokens": usage_out, "total_tokens": usage_in + usage_out}


def _tool_calls(serial: int, call: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    fn = {"name": call[0], "arguments": _encode(call[1]).decode()}
    return [{"index": 0, "id": f"call_sim{serial:06d}", "type": "function", "function": fn}]


def _finish(a: Answer) -> str:
    return "tool_calls" if a.call else "stop"


def openai_body(a: Answer) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": a.text}
    if a.thinking is not None:
        message["reasoning_content"] = a.thinking
    if a.call is not None:
        message["tool_calls"] = [
            {k: v for k, v in tc.items() if k != "index"} for tc in _tool_calls(a.serial, a.call)
        ]
    return _encode(
        {
            "id": f"chatcmpl-sim{a.serial:06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": a.model,
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(a), "logprobs": None}],
            "usage": _openai_usage(a.usage_in, a.output_tokens),
        }
    )


def openai_chunks(a: Answer, include_usage: bool) -> list[bytes]:
    head = {
        "id": f"chatcmpl-sim{a.serial:06d}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": a.model,
    }
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _data({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    parts = [chunk({"role": "assistant", "content": ""})]
    if a.thinking is not None:
        parts += [chunk({"reasoning_content": w}) for w in _words(a.thinking)]
    parts += [chunk({"content": w}) for w in _words(a.text)]
    if a.call is not None:
        parts.append(chunk({"tool_calls": _tool_calls(a.serial, a.call)}))
    parts.append(chunk({}, _finish(a)))
    if include_usage:
        parts.append(_data({**head, "choices": [], "usage": _openai_usage(a.usage_in, a.output_tokens)}))
    parts.append(OPENAI_DONE)
    return parts

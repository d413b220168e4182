"""Byte templates for the Anthropic stream events the O→A translator emits.

Hot path: a text delta is a fixed prefix, the block index, and the JSON-encoded string, so
only the string goes through the encoder. Payload shapes are protocols.md §1.5 exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.translate.codec import encode
from runtime.translate.sse import anthropic_event

_START = b'event: content_block_start\ndata: {"type":"content_block_start","index":'
_DELTA = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
_STOP = b'event: content_block_stop\ndata: {"type":"content_block_stop","index":'

PING = anthropic_event("ping", b'{"type":"ping"}')
MESSAGE_STOP = anthropic_event("message_stop", b'{"type":"message_stop"}')


def message_start(message_id: str, model: str, usage: dict[str, int]) -> bytes:
    message: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    return anthropic_event("message_start", encode({"type": "message_start", "message": message}))


def text_start(index: int) -> bytes:
    return _START + b"%d" % index + b',"content_block":{"type":"text","text":""}}\n\n'


def thinking_start(index: int) -> bytes:
    return _START + b"%d" % index + b',"content_block":{"type":"thinking","thinking":"","signature":""}}\n\n'


def tool_start(index: int, tool_id: str, name: str) -> bytes:
    block = encode({"type": "tool_use", "id": tool_id, "name": name, "input": {}})
    return _START + b"%d" % index + b',"content_block":' + block + b"}\n\n"


def _delta_emitter(kind: str, key: str) -> Callable[[int, str], bytes]:
    middle = f',"delta":{{"type":"{kind}","{key}":'.encode()

    def emit(index: int, value: str) -> bytes:
        return _DELTA + b"%d" % index + middle + encode(value) + b"}}\n\n"

    return emit


text_delta = _delta_emitter("text_delta", "text")
thinking_delta = _delta_emitter("thinking_delta", "thinking")
signature_delta = _delta_emitter("signature_delta", "signature")
input_json_delta = _delta_emitter("input_json_delta", "partial_json")


def block_stop(index: int) -> bytes:
    return _STOP + b"%d" % index + b"}\n\n"


def message_delta(stop_reason: str, usage: dict[str, int]) -> bytes:
    payload: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": usage,
    }
    return anthropic_event("message_delta", encode(payload))


def error(payload: dict[str, Any]) -> bytes:
    return anthropic_event("error", encode(payload))

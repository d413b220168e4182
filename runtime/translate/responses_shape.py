"""The Responses API's objects, built the same way by the non-streaming and streaming
translators so a client sees one answer whether it streamed or not: reasoning first, then
the message, then function calls; `status` `incomplete` when the answer was cut off."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from runtime.translate.codec import encode
from runtime.translate.usage import openai_usage_to_responses

ECHOED = (
    "instructions",
    "max_output_tokens",
    "metadata",
    "parallel_tool_calls",
    "prompt_cache_key",
    "reasoning",
    "store",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_p",
    "truncation",
    "user",
)
"""Request fields a Response object repeats; the ingress passes them as raw JSON values."""

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def envelope(
    response_id: str,
    created: int | None,
    client_model: str,
    echo: Mapping[str, Any],
    status: str,
    output: list[dict[str, Any]],
    finish: object = None,
    chat_usage: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Response object; `status` is `in_progress` or `completed` (made `incomplete` by a
    `length` or `content_filter` finish)."""
    reason = _INCOMPLETE.get(finish) if isinstance(finish, str) else None
    if status == "completed" and reason is not None:
        status = "incomplete"
    out: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()) if created is None else created,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": reason} if status == "incomplete" else None,
        "model": client_model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": openai_usage_to_responses(chat_usage) if chat_usage is not None else None,
    }
    out.update(echo)
    out["model"] = client_model
    return out


def message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = [] if status == "in_progress" else [output_text(text)]
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def reasoning_item(item_id: str, summary: str | None) -> dict[str, Any]:
    """Upstream reasoning becomes the summary: it is the text a Responses client shows."""
    parts = [] if summary is None else [summary_text(summary)]
    return {"type": "reasoning", "id": item_id, "summary": parts}


def summary_text(text: str) -> dict[str, Any]:
    return {"type": "summary_text", "text": text}


def call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def failed_event(response: Mapping[str, Any], sequence: int, code: str, message: str) -> bytes:
    """`response.failed` for `response` (what the stream said so far): how a Responses stream
    ends in an error, relay's own included (Codex reads `response.error.code`)."""
    failed = {**response, "status": "failed", "error": {"code": code, "message": message}}
    payload = {"type": "response.failed", "sequence_number": sequence, "response": failed}
    return b"event: response.failed\ndata: " + encode(payload) + b"\n\n"

"""Non-streaming responses between the formats (protocols.md §3.3-§3.5, §3.8).

Each direction builds the same final message its streaming twin accumulates to, so a client
sees one answer whether it streamed or not: thinking first, text, then tool calls; an empty
answer is one empty text block (Anthropic) or `content: ""` (OpenAI).
"""

from __future__ import annotations

import time
from typing import Any

from runtime.translate import ids
from runtime.translate.reasons import finish_reason, stop_reason
from runtime.translate.thinking import reasoning_text, synthesized_signature
from runtime.translate.tokens import text_tokens
from runtime.translate.tool_args import arguments_to_input, input_to_arguments
from runtime.translate.usage import anthropic_usage_to_openai, openai_usage_to_anthropic


def first_choice(resp: dict[str, Any]) -> dict[str, Any]:
    choices = resp.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    return first if isinstance(first, dict) else {}


def message_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # a few servers answer with text parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def anthropic_tool_use(call_id: object, name: object, tool_input: dict[str, Any]) -> dict[str, Any]:
    """A tool_use block; the upstream id kept (sanitized only if Anthropic would reject it)."""
    block_id = (
        ids.anthropic_tool_id(call_id) if isinstance(call_id, str) and call_id else ids.tool_id("toolu_")
    )
    return {
        "type": "tool_use",
        "id": block_id,
        "name": name if isinstance(name, str) else "",
        "input": tool_input,
    }


def openai_response_to_anthropic(
    resp: dict[str, Any],
    *,
    client_model: str,
    provider: str = "upstream",
    input_estimate: int = 0,
    message_id: str | None = None,
) -> dict[str, Any]:
    choice = first_choice(resp)
    message = choice.get("message")
    if not isinstance(message, dict):
        message = {}
    content: list[dict[str, Any]] = []
    reasoning = reasoning_text(message)
    if reasoning:
        content.append(
            {"type": "thinking", "thinking": reasoning, "signature": synthesized_signature(provider)}
        )
    text = message_text(message.get("content"))
    refusal = message.get("refusal")
    for part in (text, refusal):
        if isinstance(part, str) and part:
            content.append({"type": "text", "text": part})
    calls = message.get("tool_calls")
    any_tool = False
    argument_chars = 0
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            arguments = function.get("arguments")
            argument_chars += len(arguments) if isinstance(arguments, str) else 0
            content.append(
                anthropic_tool_use(call.get("id"), function.get("name"), arguments_to_input(arguments))
            )
            any_tool = True
    stop = (
        "refusal"
        if isinstance(refusal, str) and refusal
        else stop_reason(choice.get("finish_reason"), any_tool)
    )
    if not content:
        content.append({"type": "text", "text": ""})
    usage = resp.get("usage")
    if isinstance(usage, dict):
        anthropic_usage = openai_usage_to_anthropic(usage)
    else:
        chars = len(reasoning) + len(text) + argument_chars
        anthropic_usage = {
            "input_tokens": input_estimate,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": text_tokens(chars),
        }
    return {
        "id": message_id or ids.message_id(),
        "type": "message",
        "role": "assistant",
        "model": client_model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": anthropic_usage,
    }


def anthropic_response_to_openai(
    resp: dict[str, Any],
    *,
    client_model: str,
    completion_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    blocks = resp.get("content")
    for block in blocks if isinstance(blocks, list) else ():
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and block.get("text"):
            texts.append(block["text"])
        elif kind == "thinking" and block.get("thinking"):
            reasoning.append(block["thinking"])
        elif kind == "tool_use":
            calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": input_to_arguments(block.get("input")),
                    },
                }
            )
    message = chat_message("\n\n".join(texts), "\n\n".join(reasoning), calls)
    usage = resp.get("usage")
    return chat_completion(
        message,
        finish_reason(resp.get("stop_reason")),
        anthropic_usage_to_openai(usage if isinstance(usage, dict) else {}),
        client_model=client_model,
        completion_id=completion_id,
        created=created,
    )


def chat_message(text: str, reasoning: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    """An assistant message as both translators to a whole chat answer build it (A→O, R→O):
    `content` null beside tool calls and nothing else, `""` for an empty answer."""
    message: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = calls
    return message


def chat_completion(
    message: dict[str, Any],
    finish: str,
    usage: dict[str, Any],
    *,
    client_model: str,
    completion_id: str | None,
    created: int | None,
) -> dict[str, Any]:
    return {
        "id": completion_id or ids.completion_id(),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": client_model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": usage,
    }

"""Non-streaming Chat Completions response → Responses object (the Responses ingress).

The same output its streaming twin (`stream_o2r`) accumulates to: reasoning (as the summary),
the message, then function calls in the order the upstream gave them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.translate import ids
from runtime.translate.response import first_choice, message_text
from runtime.translate.responses_shape import call_item, envelope, message_item, reasoning_item
from runtime.translate.thinking import reasoning_text


def openai_response_to_responses(
    resp: dict[str, Any],
    *,
    client_model: str,
    echo: Mapping[str, Any],
    response_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    choice = first_choice(resp)
    message = choice.get("message")
    if not isinstance(message, dict):
        message = {}
    output: list[dict[str, Any]] = []
    reasoning = reasoning_text(message)
    if reasoning:
        output.append(reasoning_item(ids.responses_id("rs_"), reasoning))
    text = message_text(message.get("content")) or message_text(message.get("refusal"))
    calls = message.get("tool_calls")
    calls = [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []
    if text or not calls:
        output.append(message_item(ids.responses_id("msg_"), text))
    for call in calls:
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        call_id = call.get("id")
        arguments = function.get("arguments")
        output.append(
            call_item(
                ids.responses_id("fc_"),
                call_id if isinstance(call_id, str) and call_id else ids.responses_id("call_"),
                str(function.get("name") or ""),
                arguments if isinstance(arguments, str) and arguments else "{}",
            )
        )
    usage = resp.get("usage")
    return envelope(
        response_id or ids.responses_id("resp_"),
        created,
        client_model,
        echo,
        "completed",
        output,
        finish=choice.get("finish_reason"),
        chat_usage=usage if isinstance(usage, dict) else {},
    )

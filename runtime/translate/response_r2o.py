"""Non-streaming Responses object → Chat Completions response (an `openai-responses` step's
answer to a chat client; an Anthropic client gets it through `response_o2a` after this).

Reasoning summaries become `reasoning_content` (the field relay reads from chat servers, so
an Anthropic client sees them as thinking), message text `content`, refusals `refusal`,
function calls `tool_calls` with their `call_id`s kept. The finish reason is `tool_calls`
after calls, `length` or `content_filter` for an `incomplete` answer, else `stop`.
"""

from __future__ import annotations

from typing import Any

from runtime.translate import ids
from runtime.translate.response import chat_completion, chat_message
from runtime.translate.usage import responses_usage_to_openai

_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def finish_of(response: dict[str, Any], any_call: bool) -> str:
    """The chat finish reason a finished Response stands for (shared with `stream_r2o`)."""
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    if response.get("status") == "incomplete" and isinstance(reason, str):
        return _INCOMPLETE.get(reason, "length")
    return "tool_calls" if any_call else "stop"


def responses_response_to_openai(
    resp: dict[str, Any], *, client_model: str, completion_id: str | None = None, created: int | None = None
) -> dict[str, Any]:
    texts: list[str] = []
    refusals: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    output = resp.get("output")
    for item in output if isinstance(output, list) else []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "output_text":
                    texts.append(str(part.get("text", "")))
                elif isinstance(part, dict) and part.get("type") == "refusal":
                    refusals.append(str(part.get("refusal", "")))
        elif kind == "reasoning":
            reasoning += [str(s.get("text", "")) for s in item.get("summary") or [] if isinstance(s, dict)]
        elif kind == "function_call":
            arguments = item.get("arguments")
            calls.append(
                {
                    "id": str(item.get("call_id") or ids.responses_id("call_")),
                    "type": "function",
                    "function": {
                        "name": str(item.get("name") or ""),
                        "arguments": arguments if isinstance(arguments, str) and arguments else "{}",
                    },
                }
            )
    message = chat_message("".join(texts), "\n\n".join(reasoning), calls)
    if refusals:
        message["refusal"] = "".join(refusals)
    usage = resp.get("usage")
    return chat_completion(
        message,
        finish_of(resp, bool(calls)),
        responses_usage_to_openai(usage if isinstance(usage, dict) else {}),
        client_model=client_model,
        completion_id=completion_id,
        created=created,
    )

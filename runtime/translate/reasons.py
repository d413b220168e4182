"""Finish and stop reasons between the formats (protocols.md §3.3)."""

from __future__ import annotations

_FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

_STOP_TO_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def stop_reason(finish_reason: object, any_tool: bool) -> str:
    """Anthropic `stop_reason` for an OpenAI `finish_reason`.

    `tool_use` exactly when a tool call was emitted and the upstream did not say length or
    content filter: some providers say `stop` after tool calls, and `tool_calls` without any
    call would leave a client waiting for tools that never come. Unknown and missing values
    count as a normal end: the caller has already decided the response is complete.
    """
    mapped = _FINISH_TO_STOP.get(finish_reason) if isinstance(finish_reason, str) else None
    if mapped in (None, "end_turn", "tool_use"):
        return "tool_use" if any_tool else "end_turn"
    return mapped


def finish_reason(stop: object) -> str:
    """OpenAI `finish_reason` for an Anthropic `stop_reason`; unknown values end normally."""
    return _STOP_TO_FINISH.get(stop, "stop") if isinstance(stop, str) else "stop"

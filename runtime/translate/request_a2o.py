"""Anthropic Messages request → OpenAI Chat Completions request (protocols.md §3.1).

Dropped on purpose (listed in README.md): `cache_control` everywhere, `citations`,
`context_management`, `service_tier`, `inference_geo`, `speed`, `metadata` except `user_id`,
`top_k` (kept as a vendor extra where the upstream takes it), `thinking.display`,
`output_config.effort` without adaptive thinking, thinking blocks (unless the upstream wants
reasoning echoed), `redacted_thinking`. Rejected with a 400 naming the field: server and
built-in tools, `container`, `mcp_servers`, documents and image sources the upstream cannot
take, tool names over 64 characters, more stop sequences than the upstream allows.

The result shares sub-objects (tool schemas, strings) with `body`; treat both as read-only.
"""

from __future__ import annotations

from typing import Any

from runtime.translate.content_a2o import assistant_message, system_text, user_messages
from runtime.translate.errors import TranslationError
from runtime.translate.hints import DEFAULT_HINTS, OpenAIHints
from runtime.translate.thinking import anthropic_effort_to_openai, budget_to_effort

_REJECTED = {
    "container": "containers run only on Anthropic",
    "mcp_servers": "remote MCP servers run only on Anthropic",
}
_MAX_TOOL_NAME = 64
_MAX_USER = 64


def anthropic_request_to_openai(
    body: dict[str, Any],
    *,
    upstream_model: str,
    provider_hints: OpenAIHints = DEFAULT_HINTS,
    model_can_reason: bool = True,
) -> dict[str, Any]:
    """The OpenAI-format body for `body`, or `TranslationError` naming what cannot be carried.

    `model_can_reason=False` leaves out every reasoning parameter: servers reject them for
    models that do not reason, and Claude Code asks for thinking on nearly every request.
    """
    for field, why in _REJECTED.items():
        if body.get(field):
            raise TranslationError(field, why)
    messages: list[dict[str, Any]] = []
    try:
        system = system_text(body.get("system"))
    except TranslationError as err:
        raise err.at("system") from None
    if system:
        messages.append({"role": "system", "content": system})
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list):
        raise TranslationError("messages", "must be an array")
    for i, message in enumerate(raw_messages):
        try:
            _message(message, provider_hints, messages)
        except TranslationError as err:
            raise err.at(f"messages[{i}]") from None
    out: dict[str, Any] = {"model": upstream_model, "messages": messages}
    _tools(body, out, provider_hints)
    _sampling(body, out, provider_hints)
    _output_format(body, out)
    if model_can_reason:
        _reasoning(body, out, provider_hints)
    if body.get("stream") is True:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _message(message: object, hints: OpenAIHints, out: list[dict[str, Any]]) -> None:
    if not isinstance(message, dict):
        raise TranslationError("", "must be an object")
    role, content = message.get("role"), message.get("content")
    if role == "user":
        user_messages(content, hints, out)
    elif role == "assistant":
        converted = assistant_message(content, hints)
        if converted is not None:
            out.append(converted)
    elif role == "system":  # mid-conversation system turns keep their position
        try:
            text = system_text(content)
        except TranslationError as err:
            raise err.at("content") from None
        if text:
            out.append({"role": "system", "content": text})
    else:
        raise TranslationError("role", f"unsupported role {role!r}")


def _tools(body: dict[str, Any], out: dict[str, Any], hints: OpenAIHints) -> None:
    tools = body.get("tools")
    if not tools:
        return  # a tool_choice without tools is meaningless and rejected by many servers
    if not isinstance(tools, list):
        raise TranslationError("tools", "must be an array")
    converted = []
    for i, tool in enumerate(tools):
        try:
            converted.append(_tool(tool, hints))
        except TranslationError as err:
            raise err.at(f"tools[{i}]") from None
    out["tools"] = converted
    choice = body.get("tool_choice")
    if choice is None:
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "auto":
        out["tool_choice"] = "auto"
    elif kind == "any":
        out["tool_choice"] = "required"
    elif kind == "none":
        out["tool_choice"] = "none"
    elif kind == "tool" and isinstance(choice, dict) and isinstance(choice.get("name"), str):
        out["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        raise TranslationError("tool_choice", f"unsupported tool_choice {kind!r}")
    if choice.get("disable_parallel_tool_use") is True:
        out["parallel_tool_calls"] = False


def _tool(tool: object, hints: OpenAIHints) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise TranslationError("", "must be an object")
    kind = tool.get("type")
    if kind not in (None, "custom"):
        raise TranslationError("type", f"{kind!r} is an Anthropic server tool; it cannot run elsewhere")
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise TranslationError("name", "must be a non-empty string")
    if len(name) > _MAX_TOOL_NAME:
        raise TranslationError("name", f"OpenAI-format upstreams take at most {_MAX_TOOL_NAME} characters")
    schema = tool.get("input_schema")
    function: dict[str, Any] = {"name": name}
    description = tool.get("description")
    if isinstance(description, str):
        function["description"] = description
    function["parameters"] = schema if isinstance(schema, dict) else {"type": "object", "properties": {}}
    if hints.strict_tools and isinstance(tool.get("strict"), bool):
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _sampling(body: dict[str, Any], out: dict[str, Any], hints: OpenAIHints) -> None:
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int):
        if hints.max_output_tokens is not None:
            max_tokens = min(max_tokens, hints.max_output_tokens)
        out[hints.max_tokens_field] = max_tokens
    for field in ("temperature", "top_p"):
        if body.get(field) is not None:
            out[field] = body[field]
    if hints.top_k and body.get("top_k") is not None:
        out["top_k"] = body["top_k"]
    stop = body.get("stop_sequences")
    if stop:
        if not isinstance(stop, list):
            raise TranslationError("stop_sequences", "must be an array of strings")
        if len(stop) > hints.max_stop:
            raise TranslationError("stop_sequences", f"this upstream accepts at most {hints.max_stop}")
        out["stop"] = stop
    metadata = body.get("metadata")
    user = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user, str) and user:
        out["user"] = user[:_MAX_USER]


def _output_format(body: dict[str, Any], out: dict[str, Any]) -> None:
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if fmt is None:
        return
    if (
        not isinstance(fmt, dict)
        or fmt.get("type") != "json_schema"
        or not isinstance(fmt.get("schema"), dict)
    ):
        raise TranslationError("output_config.format", "only a json_schema format can be carried")
    out["response_format"] = {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": fmt["schema"], "strict": True},
    }


def _reasoning(body: dict[str, Any], out: dict[str, Any], hints: OpenAIHints) -> None:
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in ("enabled", "adaptive", "disabled") or not isinstance(thinking, dict):
        return
    style = hints.reasoning
    if style == "zai":
        out["thinking"] = {"type": "disabled" if kind == "disabled" else "enabled"}
        return
    if kind == "disabled" or style == "none":
        return
    budget = thinking.get("budget_tokens")
    config = body.get("output_config")
    if kind == "enabled":
        effort = budget_to_effort(budget)
    else:
        effort = anthropic_effort_to_openai(config.get("effort") if isinstance(config, dict) else None)
    if style == "effort":
        out["reasoning_effort"] = effort
    elif style == "groq":
        out["reasoning_format"] = "parsed"
    elif kind == "enabled" and isinstance(budget, int):  # openrouter
        out["reasoning"] = {"max_tokens": budget}
    else:
        out["reasoning"] = {"effort": effort}

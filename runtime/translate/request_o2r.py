"""Chat Completions request → OpenAI Responses request (a chat or Anthropic client on an
`openai-responses` step; an Anthropic request comes through `request_a2o` first).

Messages become input items in order: system and developer messages keep their place as
`system` / `developer` messages, assistant text an assistant message, its tool calls
`function_call` items, tool messages `function_call_output` items. `store` is always false:
relay keeps no responses, so nothing it sends may leave state at the upstream either.
Fields the Responses API has no form for and that change the answer (`stop`, `n` > 1,
`logprobs`, audio, …) are refused with the field named, so the step is skipped rather than
answering something else; `seed`, penalties, `stream_options` and reasoning text sent back
on assistant turns (`reasoning_content`: no upstream signature) are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.translate.errors import TranslationError, each
from runtime.translate.request_r2o import with_tools

_REFUSED = {
    "stop": "the Responses API has no stop sequences",
    "logprobs": "log probabilities are not served on a Responses step",
    "top_logprobs": "log probabilities are not served on a Responses step",
    "logit_bias": "the Responses API has no logit_bias",
    "audio": "audio output is not served on a Responses step",
    "prediction": "predicted outputs are not served on a Responses step",
    "web_search_options": "use a Responses client's web_search tool instead",
}
_PASSED = (
    "temperature",
    "top_p",
    "parallel_tool_calls",
    "user",
    "metadata",
    "prompt_cache_key",
    "service_tier",
)
_ROLES = ("system", "developer", "user")


def openai_request_to_responses(body: Mapping[str, Any], *, upstream_model: str) -> dict[str, Any]:
    for name, why in _REFUSED.items():
        if body.get(name) not in (None, False, [], ""):
            raise TranslationError(name, why)
    if isinstance(body.get("n"), int) and body["n"] > 1:
        raise TranslationError("n", "a Responses step answers one choice only")
    modalities = body.get("modalities")
    if isinstance(modalities, list) and any(m != "text" for m in modalities):
        raise TranslationError("modalities", "only text output is served on a Responses step")
    out: dict[str, Any] = {"model": upstream_model, "store": False}
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise TranslationError("messages", "expected a list of messages")
    out["input"] = [item for items in each(messages, _items, "messages") for item in items]
    for name in _PASSED:
        if body.get(name) is not None:
            out[name] = body[name]
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(limit, int):
        out["max_output_tokens"] = limit
    if isinstance(body.get("reasoning_effort"), str):
        out["reasoning"] = {"effort": body["reasoning_effort"]}
    text = _text(body.get("response_format"), body.get("verbosity"))
    if text:
        out["text"] = text
    tools = body.get("tools")
    with_tools(
        out,
        [_tool(tool, i) for i, tool in enumerate(tools)] if isinstance(tools, list) else [],
        lambda: _tool_choice(body.get("tool_choice")),
    )
    if body.get("stream"):
        out["stream"] = True
    return out


def _items(message: object) -> list[dict[str, Any]]:
    if not isinstance(message, Mapping):
        raise TranslationError("", "expected a message object")
    role = message.get("role")
    content = message.get("content")
    if role in _ROLES:
        parts = _input_content(content) if role == "user" else _plain(content)
        return [{"type": "message", "role": role, "content": parts}]
    if role == "assistant":
        out: list[dict[str, Any]] = []
        text = _plain(content) if content is not None else ""
        refusal = message.get("refusal")
        text += refusal if isinstance(refusal, str) else ""
        if text:
            out.append({"type": "message", "role": "assistant", "content": text})
        calls = message.get("tool_calls")
        for j, call in enumerate(calls if isinstance(calls, list) else []):
            function = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(function, Mapping) or not isinstance(call.get("id"), str):
                raise TranslationError(f"tool_calls[{j}]", "a tool call needs an `id` and a `function`")
            arguments = function.get("arguments")
            out.append(
                {
                    "type": "function_call",
                    "call_id": call["id"],
                    "name": str(function.get("name") or ""),
                    "arguments": arguments if isinstance(arguments, str) else "{}",
                }
            )
        return out
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str):
            raise TranslationError("tool_call_id", "a tool message needs its `tool_call_id`")
        return [{"type": "function_call_output", "call_id": call_id, "output": _plain(content)}]
    raise TranslationError("role", f"unknown role {role!r}")


def _plain(content: object) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise TranslationError("content", "expected a string or a list of content parts")
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, Mapping) or part.get("type") not in ("text", "refusal"):
            raise TranslationError(f"content[{i}]", "expected a text part here")
        texts.append(str(part.get("text", part.get("refusal", ""))))
    return "".join(texts)


def _input_content(content: object) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TranslationError("content", "expected a string or a list of content parts")
    return each(content, _input_part, "content")


def _input_part(part: object) -> dict[str, Any]:
    if not isinstance(part, Mapping):
        raise TranslationError("", "expected a content part object")
    kind = part.get("type")
    if kind == "text":
        return {"type": "input_text", "text": str(part.get("text", ""))}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        if not isinstance(url, str) or not url:
            raise TranslationError("image_url", "expected an image URL or data URL")
        detail = image.get("detail") if isinstance(image, Mapping) else None
        return {
            "type": "input_image",
            "image_url": url,
            "detail": detail if detail in ("low", "high") else "auto",
        }
    if kind == "file":
        file = part.get("file")
        if isinstance(file, Mapping) and isinstance(file.get("file_data"), str):
            out = {"type": "input_file", "file_data": file["file_data"]}
            if isinstance(file.get("filename"), str):
                out["filename"] = file["filename"]
            return out
        raise TranslationError("file", "only inline files (`file_data`) are served on a Responses step")
    raise TranslationError("type", f"content part {kind!r} is not served on a Responses step")


def _text(response_format: object, verbosity: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(response_format, Mapping):
        kind = response_format.get("type")
        schema = response_format.get("json_schema")
        if kind == "json_schema" and isinstance(schema, Mapping):
            out["format"] = {"type": "json_schema", **schema}
        elif kind == "json_object":
            out["format"] = {"type": "json_object"}
        elif kind != "text":
            raise TranslationError("response_format", f"type {kind!r} is not served on a Responses step")
    if isinstance(verbosity, str):
        out["verbosity"] = verbosity
    return out


def _tool(tool: object, i: int) -> dict[str, Any]:
    function = tool.get("function") if isinstance(tool, Mapping) else None
    if not isinstance(tool, Mapping) or tool.get("type") != "function" or not isinstance(function, Mapping):
        raise TranslationError(f"tools[{i}]", "only function tools are served")
    out: dict[str, Any] = {"type": "function", "name": function.get("name")}
    for key in ("description", "parameters", "strict"):
        if function.get(key) is not None:
            out[key] = function[key]
    return out


def _tool_choice(choice: object) -> object:
    if isinstance(choice, str):
        return choice
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            return {"type": "function", "name": function["name"]}
    return None

"""OpenAI Responses request → Chat Completions request (the Responses ingress, Codex CLI).

relay serves `/v1/responses` by turning the request into the Chat Completions request it
means and running it on the chain as an OpenAI-format request: a chat step passes it on, an
Anthropic-format step translates it once more (`request_o2a`). So Responses ⇄ Anthropic is
this module composed with the existing pair, with one set of policies per hop.

Policies (README.md in this folder, "Responses"): `reasoning` input items (summaries and
`encrypted_content`) are dropped, since only the OpenAI model that wrote them can read them;
built-in tools (`web_search`, …) and `namespace` tools have no Chat Completions form and are
dropped and named in `Translated.dropped` (the ingress reports them in a header); state kept by
OpenAI (`previous_response_id`, `conversation`, `background`, stored prompts) is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from runtime.translate.errors import TranslationError, each

_REFUSED = {
    "previous_response_id": "relay keeps no responses; send the whole conversation in `input` (store: false)",
    "conversation": "relay keeps no conversations; send the whole conversation in `input`",
    "background": "background responses are not served by relay",
    "prompt": "stored prompts are not served by relay; send `instructions` and `input`",
}
_PASSED = ("temperature", "top_p", "parallel_tool_calls", "user")
_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh"}
_ROLE = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
"""`developer` becomes `system`: many chat servers know only the older role."""


class Translated(NamedTuple):
    body: dict[str, Any]
    dropped: tuple[str, ...]
    """Tools the request offered that no chat step can run, by type (and name for namespaces)."""


def responses_request_to_openai(body: Mapping[str, Any]) -> Translated:
    for name, why in _REFUSED.items():
        if body.get(name) not in (None, False):
            raise TranslationError(name, why)
    out: dict[str, Any] = {"model": body.get("model")}
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    try:
        messages += _messages(body.get("input"))
    except TranslationError as exc:
        raise exc.at("input") from None
    out["messages"] = messages
    for name in _PASSED:
        if body.get(name) is not None:
            out[name] = body[name]
    if isinstance(body.get("max_output_tokens"), int):
        out["max_completion_tokens"] = body["max_output_tokens"]
    reasoning = body.get("reasoning")
    if isinstance(reasoning, Mapping) and reasoning.get("effort") in _EFFORT:
        out["reasoning_effort"] = _EFFORT[reasoning["effort"]]
    fmt = _response_format(body.get("text"))
    if fmt is not None:
        out["response_format"] = fmt
    tools, dropped = _tools(body.get("tools"))
    with_tools(out, tools, lambda: _tool_choice(body.get("tool_choice")))
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return Translated(out, dropped)


def with_tools(out: dict[str, Any], tools: list[dict[str, Any]], choice: Callable[[], object]) -> None:
    """`tools` and the translated `tool_choice` into `out`, or neither: without tools, no
    `tool_choice` nor `parallel_tool_calls` either (servers reject them alone)."""
    if not tools:
        out.pop("parallel_tool_calls", None)
        return
    out["tools"] = tools
    chosen = choice()
    if chosen is not None:
        out["tool_choice"] = chosen


def _text_of(parts: object, field: str) -> str:
    if isinstance(parts, str):
        return parts
    if not isinstance(parts, list):
        raise TranslationError(field, "expected a string or a list of content parts")
    texts = []
    for i, part in enumerate(parts):
        if not isinstance(part, Mapping) or part.get("type") not in ("input_text", "output_text", "text"):
            raise TranslationError(f"{field}[{i}]", "expected a text part here")
        texts.append(str(part.get("text", "")))
    return "".join(texts)


def _user_part(part: object) -> dict[str, Any]:
    if not isinstance(part, Mapping):
        raise TranslationError("", "expected a content part object")
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": str(part.get("text", ""))}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise TranslationError(
                "image_url", "only images given by URL or data URL are served (no file_id)"
            )
        image: dict[str, Any] = {"url": url}
        if part.get("detail") in ("low", "high"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file" and isinstance(part.get("file_data"), str):
        file = {"file_data": part["file_data"]}
        if isinstance(part.get("filename"), str):
            file["filename"] = part["filename"]
        return {"type": "file", "file": file}
    raise TranslationError("type", f"content part {kind!r} is not served (only text, images, inline files)")


def _content(content: object) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TranslationError("content", "expected a string or a list of content parts")
    parts = each(content, _user_part, "content")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _assistant_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TranslationError("content", "expected a string or a list of content parts")
    texts = []
    for part in content:
        if isinstance(part, Mapping) and part.get("type") == "refusal":
            texts.append(str(part.get("refusal", "")))
        elif isinstance(part, Mapping):
            texts.append(str(part.get("text", "")))
    return "".join(texts)


class _Builder:
    """Consecutive assistant text and function calls become one assistant message; tool
    outputs carrying images are followed by a user message with those images (a chat tool
    message holds text only)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._images: list[dict[str, Any]] = []

    def flush_images(self) -> None:
        if self._images:
            self.messages.append({"role": "user", "content": self._images})
            self._images = []

    def _assistant(self) -> dict[str, Any]:
        last = self.messages[-1] if self.messages else None
        if last is None or last["role"] != "assistant" or self._images:
            self.flush_images()
            last = {"role": "assistant", "content": None}
            self.messages.append(last)
        return last

    def message(self, item: Mapping[str, Any]) -> None:
        role = _ROLE.get(str(item.get("role")))
        if role is None:
            raise TranslationError("role", f"unknown role {item.get('role')!r}")
        if role == "assistant":
            text = _assistant_text(item.get("content"))
            last = self._assistant()
            if last.get("tool_calls"):  # text after calls starts a new turn in chat's shape
                last = {"role": "assistant", "content": None}
                self.messages.append(last)
            last["content"] = (last["content"] or "") + text
            return
        self.flush_images()
        content = (
            _content(item.get("content")) if role == "user" else _text_of(item.get("content"), "content")
        )
        self.messages.append({"role": role, "content": content})

    def call(self, item: Mapping[str, Any]) -> None:
        call_id, name = item.get("call_id"), item.get("name")
        if not isinstance(call_id, str) or not isinstance(name, str):
            raise TranslationError("call_id", "a function_call needs string `call_id` and `name`")
        arguments = item.get("arguments")
        call = {
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else "{}"},
        }
        self._assistant().setdefault("tool_calls", []).append(call)

    def tool_output(self, item: Mapping[str, Any]) -> None:
        call_id = item.get("call_id")
        if not isinstance(call_id, str):
            raise TranslationError("call_id", "a function_call_output needs a string `call_id`")
        output = item.get("output")
        if isinstance(output, list):
            texts = []
            for i, part in enumerate(output):
                try:
                    converted = _user_part(part)
                except TranslationError as exc:
                    raise exc.at(f"output[{i}]") from None
                if converted["type"] == "text":
                    texts.append(converted["text"])
                else:
                    self._images.append(converted)
            output = "".join(texts)
        elif not isinstance(output, str):
            raise TranslationError("output", "expected a string or a list of content parts")
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": output})


def _messages(items: object) -> list[dict[str, Any]]:
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise TranslationError("", "expected a string or a list of input items")
    builder = _Builder()
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TranslationError(f"[{i}]", "expected an input item object")
        kind = item.get("type", "message")
        try:
            if kind == "message":
                builder.message(item)
            elif kind == "function_call":
                builder.call(item)
            elif kind == "function_call_output":
                builder.tool_output(item)
            elif kind != "reasoning":  # reasoning items are dropped (module docstring)
                raise TranslationError("type", f"input item type {kind!r} is not served by relay")
        except TranslationError as exc:
            raise exc.at(f"[{i}]") from None
    builder.flush_images()
    return builder.messages


def _tools(tools: object) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    if tools is None:
        return [], ()
    if not isinstance(tools, list):
        raise TranslationError("tools", "expected a list")
    out, dropped = [], []
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            raise TranslationError(f"tools[{i}]", "expected a tool object")
        kind = tool.get("type")
        if kind != "function":
            dropped.append(f"{kind}:{tool.get('name')}" if kind == "namespace" else str(kind))
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise TranslationError(f"tools[{i}].name", "a function tool needs a name")
        function: dict[str, Any] = {"name": name}
        for key in ("description", "parameters", "strict"):
            if tool.get(key) is not None:
                function[key] = tool[key]
        function.setdefault("parameters", {"type": "object", "properties": {}})
        out.append({"type": "function", "function": function})
    return out, tuple(dropped)


def _tool_choice(choice: object) -> object:
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    if (
        isinstance(choice, Mapping)
        and choice.get("type") == "function"
        and isinstance(choice.get("name"), str)
    ):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise TranslationError("tool_choice", "only auto, none, required or one function tool are served")


def _response_format(text: object) -> dict[str, Any] | None:
    if not isinstance(text, Mapping):
        return None
    fmt = text.get("format")
    if not isinstance(fmt, Mapping) or fmt.get("type") in (None, "text"):
        return None
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    raise TranslationError("text.format.type", f"{fmt.get('type')!r} is not served")

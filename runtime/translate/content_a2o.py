"""Anthropic message content as OpenAI messages (protocols.md §3.1), one turn at a time.

Builds new dicts from the fields that carry meaning, so `cache_control`, `citations` and other
hints vanish without a list of exclusions. A block with no counterpart raises
`TranslationError` with a field relative to the value at hand; callers add their path segment
(`TranslationError.at`), so a refusal names e.g. `messages[3].content[1].source`.
"""

from __future__ import annotations

from typing import Any

from runtime.translate.errors import TranslationError
from runtime.translate.hints import OpenAIHints
from runtime.translate.tool_args import input_to_arguments

BILLING_HEADER = "x-anthropic-billing-header"
"""Claude Code's per-request system block: it defeats every prefix cache but Anthropic's."""


def _text(block: dict[str, Any]) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise TranslationError("text", "must be a string")
    return text


def _block(block: object) -> tuple[str, dict[str, Any]]:
    """The block's `type` and the block itself, or an error for anything else."""
    kind = block.get("type") if isinstance(block, dict) else None
    if not isinstance(kind, str) or not isinstance(block, dict):
        raise TranslationError("", "must be a content block object with a `type`")
    return kind, block


def system_text(system: object) -> str:
    """A `system` value (string or text blocks) as one string, without the billing header."""
    if system is None:
        return ""
    if isinstance(system, str):
        return "" if system.startswith(BILLING_HEADER) else system
    if not isinstance(system, list):
        raise TranslationError("", "must be a string or an array of text blocks")
    texts = []
    for i, raw in enumerate(system):
        try:
            kind, block = _block(raw)
            if kind != "text":
                raise TranslationError("type", "only text blocks can be sent as a system prompt")
            text = _text(block)
        except TranslationError as err:
            raise err.at(f"[{i}]") from None
        if text and not text.startswith(BILLING_HEADER):
            texts.append(text)
    return "\n\n".join(texts)


def image_part(block: dict[str, Any], hints: OpenAIHints) -> dict[str, Any]:
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64" and isinstance(source, dict):
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif kind == "url" and isinstance(source, dict) and isinstance(source.get("url"), str):
        if not hints.url_images:
            raise TranslationError("source", "this upstream accepts only base64 images, not URLs")
        url = source["url"]
    else:
        raise TranslationError("source.type", f"image source {kind!r} cannot be sent to this upstream")
    return {"type": "image_url", "image_url": {"url": url}}


def _document_part(block: dict[str, Any], hints: OpenAIHints) -> dict[str, Any]:
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "text" and isinstance(source, dict) and isinstance(source.get("data"), str):
        return {"type": "text", "text": source["data"]}
    if (
        kind == "base64"
        and hints.pdf_files
        and isinstance(source, dict)
        and source.get("media_type") == "application/pdf"
    ):
        title = block.get("title")
        return {
            "type": "file",
            "file": {
                "filename": title if isinstance(title, str) and title else "document.pdf",
                "file_data": f"data:application/pdf;base64,{source.get('data')}",
            },
        }
    raise TranslationError("source", f"a {kind!r} document cannot be sent to this upstream")


def _user_part(kind: str, block: dict[str, Any], hints: OpenAIHints) -> dict[str, Any]:
    if kind == "text":
        return {"type": "text", "text": _text(block)}
    if kind == "image":
        return image_part(block, hints)
    if kind == "document":
        return _document_part(block, hints)
    raise TranslationError("type", f"{kind!r} blocks cannot be sent to an OpenAI-format upstream")


def _tool_result_text(content: object, hints: OpenAIHints, images: list[dict[str, Any]]) -> str:
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if not isinstance(content, list):
        raise TranslationError("content", "must be a string or an array of blocks")
    texts = []
    for k, raw in enumerate(content):
        try:
            kind, part = _block(raw)
            if kind == "image":
                images.append(image_part(part, hints))
            elif kind == "text":
                texts.append(_text(part))
            else:
                raise TranslationError("type", f"{kind!r} in a tool result cannot be sent")
        except TranslationError as err:
            raise err.at(f"content[{k}]") from None
    return "\n".join(texts)


def tool_message(block: dict[str, Any], hints: OpenAIHints, images: list[dict[str, Any]]) -> dict[str, Any]:
    """A `role: tool` message; images in the result go to `images` for a following user turn."""
    tool_id = block.get("tool_use_id")
    if not isinstance(tool_id, str) or not tool_id:
        raise TranslationError("tool_use_id", "must be a non-empty string")
    text = _tool_result_text(block.get("content"), hints, images)
    if block.get("is_error") is True:
        text = f"Error: {text}" if text else "Error"
    return {"role": "tool", "tool_call_id": tool_id, "content": text}


def user_messages(content: object, hints: OpenAIHints, out: list[dict[str, Any]]) -> None:
    """Tool results first, as `role: tool` messages, then the rest of the turn as one user message."""
    if isinstance(content, str):
        out.append({"role": "user", "content": content})
        return
    if not isinstance(content, list):
        raise TranslationError("content", "must be a string or an array of blocks")
    parts: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    for j, raw in enumerate(content):
        try:
            kind, block = _block(raw)
            if kind == "tool_result":
                out.append(tool_message(block, hints, images))
            else:
                parts.append(_user_part(kind, block, hints))
        except TranslationError as err:
            raise err.at(f"content[{j}]") from None
    parts = images + parts
    if len(parts) == 1 and parts[0]["type"] == "text":
        out.append({"role": "user", "content": parts[0]["text"]})
    elif parts:
        out.append({"role": "user", "content": parts})


def assistant_message(content: object, hints: OpenAIHints) -> dict[str, Any] | None:
    """One assistant message: joined text, `tool_calls` with ids kept, reasoning when echoed.

    None for a turn that carries nothing the upstream can read (only thinking, not echoed).
    """
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    if not isinstance(content, list):
        raise TranslationError("content", "must be a string or an array of blocks")
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    reasoning: list[str] = []
    for j, raw in enumerate(content):
        try:
            kind, block = _block(raw)
            if kind == "text":
                text = _text(block)
                if text:
                    texts.append(text)
            elif kind == "tool_use":
                calls.append(_tool_call(block))
            elif kind == "thinking":
                thought = block.get("thinking")
                if isinstance(thought, str):
                    reasoning.append(thought)
            elif kind != "redacted_thinking":
                raise TranslationError("type", f"{kind!r} blocks cannot be sent to an OpenAI-format upstream")
        except TranslationError as err:
            raise err.at(f"content[{j}]") from None
    # `content: null` is valid only beside tool calls
    joined = "\n\n".join(texts) if texts else (None if calls else "")
    message: dict[str, Any] = {"role": "assistant", "content": joined}
    if calls:
        message["tool_calls"] = calls
    echo = hints.echo_reasoning
    if reasoning and (echo == "all" or (echo == "tool_turns" and calls)):
        message["reasoning_content"] = "".join(reasoning)
    elif not texts and not calls:
        return None
    return message


def _tool_call(block: dict[str, Any]) -> dict[str, Any]:
    tool_id, name = block.get("id"), block.get("name")
    if not isinstance(tool_id, str) or not tool_id:
        raise TranslationError("id", "must be a non-empty string")
    if not isinstance(name, str) or not name:
        raise TranslationError("name", "must be a non-empty string")
    arguments = input_to_arguments(block.get("input"))
    return {"id": tool_id, "type": "function", "function": {"name": name, "arguments": arguments}}

"""OpenAI message content as Anthropic content blocks (protocols.md §3.2).

Anthropic rejects empty text blocks, so empty strings vanish here rather than upstream.
Errors carry fields relative to the value at hand; callers add their segment (`TranslationError.at`).
"""

from __future__ import annotations

from typing import Any

from runtime.translate.errors import TranslationError
from runtime.translate.ids import anthropic_tool_id
from runtime.translate.tool_args import arguments_to_input

_UNSUPPORTED_PARTS = {
    "input_audio": "audio input cannot be sent to an Anthropic-format upstream",
}


def text_of(content: object) -> str:
    """A system, developer or tool message's content (string or text parts) as one string."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TranslationError("", "must be a string or an array of content parts")
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise TranslationError(f"[{i}]", "only text parts are allowed here")
        texts.append(part["text"])
    return "\n".join(texts)


def _data_url(url: str, field: str) -> tuple[str, str]:
    """Media type and base64 payload of a `data:<type>;base64,<data>` URL."""
    head, comma, data = url.partition(",")
    if not comma or not head.startswith("data:") or not head.endswith(";base64"):
        raise TranslationError(field, "a data URL must look like data:<media type>;base64,<data>")
    return head[5:-7], data


def _image(part: dict[str, Any]) -> dict[str, Any]:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise TranslationError("image_url.url", "must be a string")
    if url.startswith("data:"):
        media_type, data = _data_url(url, "image_url.url")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise TranslationError("image_url.url", "must be an http(s) or data: URL")


def _file(part: dict[str, Any]) -> dict[str, Any]:
    file = part.get("file")
    data_url = file.get("file_data") if isinstance(file, dict) else None
    if not isinstance(data_url, str):
        raise TranslationError("file", "only inline file_data (a base64 PDF) can be sent")
    media_type, data = _data_url(data_url, "file.file_data")
    if media_type != "application/pdf":
        raise TranslationError("file.file_data", f"{media_type!r} files cannot be sent; only PDF")
    return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}


def blocks_of(content: object) -> list[dict[str, Any]]:
    """User or assistant content (string or parts) as Anthropic blocks, without empty text."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise TranslationError("", "must be a string or an array of content parts")
    blocks = []
    for i, part in enumerate(content):
        try:
            block = _part(part)
        except TranslationError as err:
            raise err.at(f"[{i}]") from None
        if block is not None:
            blocks.append(block)
    return blocks


def _part(part: object) -> dict[str, Any] | None:
    kind = part.get("type") if isinstance(part, dict) else None
    if not isinstance(part, dict) or not isinstance(kind, str):
        raise TranslationError("", "must be a content part object with a `type`")
    if kind in ("text", "refusal"):
        text = part.get(kind)
        if not isinstance(text, str):
            raise TranslationError(kind, "must be a string")
        return {"type": "text", "text": text} if text else None
    if kind == "image_url":
        return _image(part)
    if kind == "file":
        return _file(part)
    why = _UNSUPPORTED_PARTS.get(kind, f"{kind!r} parts cannot be sent to an Anthropic-format upstream")
    raise TranslationError("type", why)


def tool_use_block(call: object) -> dict[str, Any]:
    """A `tool_use` block for one entry of `tool_calls`; the id is kept (sanitized only if needed)."""
    function = call.get("function") if isinstance(call, dict) else None
    call_id = call.get("id") if isinstance(call, dict) else None
    if not isinstance(function, dict):
        raise TranslationError("function", "must be an object")
    if not isinstance(call_id, str) or not call_id:
        raise TranslationError("id", "must be a non-empty string")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise TranslationError("function.name", "must be a non-empty string")
    return {
        "type": "tool_use",
        "id": anthropic_tool_id(call_id),
        "name": name,
        "input": arguments_to_input(function.get("arguments")),
    }


def tool_result_block(tool_id: str, content: object) -> dict[str, Any]:
    try:
        text = text_of(content)
    except TranslationError as err:
        raise err.at("content") from None
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": anthropic_tool_id(tool_id)}
    if text:
        block["content"] = text
    return block

"""Cheap local token estimates, for `count_tokens` without an upstream endpoint and for usage
an upstream never reported. About 3.5 characters per token over the text a model reads;
base64 payloads count as a flat amount per image or document instead of by their length."""

from __future__ import annotations

from typing import Any

CHARS_PER_TOKEN = 3.5
MEDIA_TOKENS = 1600
"""Rough cost of one image or PDF page; counting its base64 length would be 100x too high."""
_SKIPPED = frozenset(("model", "max_tokens", "stream", "metadata", "stream_options", "temperature", "top_p"))
_MEDIA_TYPES = frozenset(("base64", "url", "image_url", "file"))


def text_tokens(chars: int) -> int:
    return int(chars / CHARS_PER_TOKEN + 0.5)


def estimate_tokens(body: dict[str, Any]) -> int:
    """Estimated input tokens of an Anthropic or OpenAI request body."""
    chars = 0
    media = 0
    stack: list[Any] = [v for k, v in body.items() if k not in _SKIPPED]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            chars += len(value)
        elif isinstance(value, dict):
            if value.get("type") in _MEDIA_TYPES:
                media += 1
                continue
            chars += sum(len(k) for k in value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return text_tokens(chars) + media * MEDIA_TOKENS

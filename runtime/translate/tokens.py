"""Cheap local token estimates, for `count_tokens` without an upstream endpoint and for usage
an upstream never reported. About 3.5 characters per token over the text a model reads;
base64 payloads count as a flat amount per image or document instead of by their length.

`input_floor` is the other kind: a bound the real count is not expected to fall under, for
skipping a step whose context window cannot hold the request (docs/configuration.md, context
windows), where an estimate that is too high would refuse a request the model would take."""

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


BYTES_PER_TOKEN_MAX = 6.0
"""Request bytes per token, above what any text measured takes. By Anthropic's public tokenizer,
Claude Code's own requests take 3.7-4.2 bytes of JSON per token, source code 3-4, English prose
up to 5.2 (a licence text, indented); current Claude tokenizers cut text finer still."""
_MEDIA_MARKERS = (b'"data":', b";base64,")
"""Where a base64 payload begins: Anthropic's `source.data` (images, PDFs), a `data:` URL."""
_MEDIA_MIN = 200
"""Shorter strings after a marker are left in: they are text, or too small to matter."""


def _media_bytes(body: bytes) -> int:
    """Bytes of base64 payloads: from each marker to the closing quote (base64 holds none),
    found with `bytes.find`, which a megabyte image passes in microseconds."""
    total = 0
    for marker in _MEDIA_MARKERS:
        at = body.find(marker)
        while at >= 0:
            start = at + len(marker)
            if marker[0] == 0x22:  # "data": then blanks, then the string's opening quote
                while body[start : start + 1] in (b" ", b"\n", b"\t", b"\r"):
                    start += 1
                if body[start : start + 1] != b'"':
                    at = body.find(marker, start)
                    continue
                start += 1
            end = body.find(b'"', start)
            if end < 0:
                break
            if end - start >= _MEDIA_MIN:
                total += end - start
            at = body.find(marker, end)
    return total


def input_floor(body: bytes) -> int:
    """A lower bound on the input tokens of a JSON request body, from its size alone: bytes
    over `BYTES_PER_TOKEN_MAX`, leaving out base64 payloads (images, documents: a model reads
    them as pictures and pages, not by their length) and counting a `\\uXXXX` escape as one
    byte. Needs no decode."""
    size = len(body) - 5 * body.count(b"\\u")
    if b"base64" in body:
        size -= _media_bytes(body)
    return max(0, int(size / BYTES_PER_TOKEN_MAX))

"""Upstream error bodies carried across the format boundary (protocols.md §3.9, §1.6).

The upstream's own message survives, prefixed with the provider name, because Claude Code's
recovery depends on wording. Context overflow is the one rewrite: an Anthropic client must see
`prompt is too long` (it triggers auto-compaction), an OpenAI client `context_length_exceeded`.
"""

from __future__ import annotations

import re
from typing import Any

from runtime.translate.codec import DecodeError, decode, encode
from runtime.translate.errors import ANTHROPIC_TYPE_STATUS, Format, error_for_status

_OVERFLOW_NEEDLES = (
    "context_length_exceeded",
    "maximum context length",
    "context window",
    "context length",
    "prompt is too long",
    "too many input tokens",
)
_LIMIT = re.compile(r"maximum context length is (\d+)")
_ACTUAL = re.compile(r"(?:resulted in|requested|prompt (?:contains|has)) (\d+) tokens")
_MAX_MESSAGE = 2000


def mentions_overflow(text: str) -> bool:
    lowered = text.lower()
    return any(needle in lowered for needle in _OVERFLOW_NEEDLES)


def is_context_overflow(status: int, body: bytes) -> bool:
    """True for a 4xx whose body says the prompt does not fit the model's context."""
    return 400 <= status < 500 and mentions_overflow(body.decode("utf-8", "replace"))


def prompt_too_long(message: str, provider: str) -> str:
    """The wording Claude Code matches, with token counts when the upstream gave them."""
    limit, actual = _LIMIT.search(message), _ACTUAL.search(message)
    if limit and actual:
        return f"prompt is too long: {actual[1]} tokens > {limit[1]} maximum ({provider}: {message})"
    return f"prompt is too long ({provider}: {message})"


def upstream_message(body: bytes) -> str:
    """The human message in any provider's error body; raw text when it is not JSON."""
    try:
        parsed = decode(body)
    except DecodeError:
        return body.decode("utf-8", "replace").strip()[:_MAX_MESSAGE] or "no error body"
    return message_of(parsed) or body.decode("utf-8", "replace")[:_MAX_MESSAGE]


def message_of(parsed: Any) -> str:
    """`error.message` (Anthropic, OpenAI, OpenRouter, Google), `message` (Bedrock), or ``."""
    if not isinstance(parsed, dict):
        return ""
    err = parsed.get("error")
    if isinstance(err, dict):
        msg = err.get("message")
        if isinstance(msg, str):
            return msg
    if isinstance(err, str):
        return err
    msg = parsed.get("message")
    return msg if isinstance(msg, str) else ""


def _already_shaped(body: bytes, fmt: Format) -> bool:
    try:
        parsed = decode(body)
    except DecodeError:
        return False
    if not isinstance(parsed, dict) or not isinstance(parsed.get("error"), dict):
        return False
    err = parsed["error"]
    if fmt == "anthropic":
        return parsed.get("type") == "error" and isinstance(err.get("type"), str)
    return isinstance(err.get("message"), str)


def translate_error(
    status: int, body: bytes, *, source: Format, target: Format, provider: str
) -> tuple[int, bytes]:
    """Client status and body for an upstream error response.

    A body already in the client's format is returned unmodified (the gateway contract);
    anything else is rebuilt from the §3.9 table with the upstream message kept.
    """
    if source == target and _already_shaped(body, target):
        return status, body
    out_status, payload = client_error(status, upstream_message(body), provider=provider, target=target)
    return out_status, encode(payload)


def translate_error_body(status: int, body: bytes, *, source: Format, target: Format, provider: str) -> bytes:
    return translate_error(status, body, source=source, target=target, provider=provider)[1]


def client_error(status: int, message: str, *, provider: str, target: Format) -> tuple[int, dict[str, Any]]:
    """Status and body for the client from an upstream status and message (also used mid-stream)."""
    if 400 <= status < 500 and mentions_overflow(message):
        if target == "anthropic":
            return error_for_status(400, prompt_too_long(message, provider), target)
        out_status, payload = error_for_status(400, f"{provider}: {message}", target)
        payload["error"]["code"] = "context_length_exceeded"
        return out_status, payload
    return error_for_status(status, f"{provider}: {message}", target)


def openai_stream_error_status(err: Any) -> int:
    """The status an in-stream OpenAI-format `error` object stands for (OpenRouter puts it in `code`)."""
    if not isinstance(err, dict):
        return 500
    code = err.get("code")
    if isinstance(code, int) and 400 <= code < 600:
        return code
    if isinstance(code, str) and code.isdigit() and 400 <= int(code) < 600:
        return int(code)
    kind = f"{code} {err.get('type')}"
    if "rate_limit" in kind or "insufficient_quota" in kind:
        return 429
    if "context_length" in kind:
        return 400
    if "overloaded" in kind or "unavailable" in kind:
        return 503
    return 500


def anthropic_stream_error_status(err: Any) -> int:
    """The status an in-stream Anthropic `error` object stands for."""
    kind = err.get("type") if isinstance(err, dict) else None
    return ANTHROPIC_TYPE_STATUS.get(kind, 500) if isinstance(kind, str) else 500

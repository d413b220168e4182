"""What an upstream answer means for the waterfall: a pure table (README: "Failover").

| upstream answer                                  | kind          | then                               |
|--------------------------------------------------|---------------|------------------------------------|
| 2xx                                              | (success)     | answer the client                  |
| 429 (Z.AI 1302/1303 too)                         | rate_limited  | key cools down, next candidate     |
| 429 `insufficient_quota`, Z.AI 1308-1310/1113    | payment       | long key cooldown, next            |
| 503, 529                                         | overloaded    | cooldown, next step                |
| 402                                              | payment       | long key cooldown, next            |
| 401, 403                                         | auth          | key marked bad (logged), next      |
| 400/413/422 saying the context is too long       | context       | next step; all such → 400 "prompt is too long" |
| 408, other 5xx, garbage                          | server_error  | next step                          |
| connection refused/reset, DNS, TLS               | connect       | next step                          |
| no first byte within `timeouts.first_byte`       | timeout       | next step                          |
| other 4xx                                        | client_error  | returned to the client as it is    |
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from runtime.cooldown import FailureKind
from runtime.translate import is_context_overflow

_ZAI_QUOTA = re.compile(rb'"code"\s*:\s*"?(1308|1309|1310|1113)\b')


def classify(status: int, body: bytes) -> FailureKind | None:
    """None for success; otherwise the failure kind that decides what the loop does next."""
    if 200 <= status < 300:
        return None
    if status == 429:
        if b"insufficient_quota" in body or _ZAI_QUOTA.search(body):
            return "payment"
        return "rate_limited"
    if status in (503, 529):
        return "overloaded"
    if status == 402:
        return "payment"
    if status in (401, 403):
        return "auth"
    if is_context_overflow(status, body):
        return "context"
    if status == 408 or status >= 500:
        return "server_error"
    return "client_error"


KEY_LEVEL: frozenset[FailureKind] = frozenset({"rate_limited", "auth", "payment"})
"""Failures of one key: another key of the same provider may still work."""


_TYPE_STATUS = {
    "overloaded_error": 529,
    "overloaded": 529,
    "service_unavailable": 503,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 402,
    "billing_error": 402,
    "api_error": 500,
    "server_error": 500,
    "internal_server_error": 500,
    "timeout_error": 504,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "invalid_request_error": 400,
    "not_found_error": 404,
    "request_too_large": 413,
}


def stream_error_status(error: dict[str, Any]) -> int:
    """The status an in-band stream error stands for: its numeric `code` or `status` when it
    carries one (OpenRouter), else its type (Anthropic `type`, OpenAI `code` then `type`)."""
    for field in ("status", "code"):
        value = error.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and 400 <= value < 600:
            return value
    for field in ("code", "type"):
        status = _TYPE_STATUS.get(str(error.get(field)))
        if status is not None:
            return status
    return 500


def classify_stream_error(error: dict[str, Any]) -> FailureKind:
    """An error the upstream reported inside a 200 stream, classified like the same error
    answered as a status code (an in-band `overloaded_error` is an overload, not garbage)."""
    message = error.get("message")
    body = message.encode("utf-8", "replace") if isinstance(message, str) else b""
    kind = classify(stream_error_status(error), body)
    return kind if kind is not None else "server_error"


_EXCERPT = 160
_SPACE = re.compile(r"\s+")
_decode = msgspec.json.Decoder().decode


def excerpt(body: bytes) -> str:
    """A short, cleaned description of an upstream error body for messages and logs: the
    error's own message when the body is JSON (or SSE carrying JSON), else its printable
    text, whitespace collapsed; never the raw body."""
    text = _json_message(body)
    if text is None:
        text = body[: _EXCERPT * 4].decode("utf-8", "replace")
    text = _SPACE.sub(" ", "".join(c if c.isprintable() else " " for c in text)).strip()
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _json_message(body: bytes) -> str | None:
    data = body.strip()
    for line in data.splitlines():  # an SSE error frame: take its data line
        if line.startswith(b"data:"):
            data = line[5:].strip()
            break
    try:
        value = _decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    error = value.get("error", value) if isinstance(value, dict) else None
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail")
        kind = error.get("type") or error.get("code")
        if isinstance(message, str):
            return f"{kind}: {message}" if isinstance(kind, str) and kind not in message else message
    if isinstance(error, str):
        return error
    return None

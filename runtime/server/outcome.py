"""What an upstream answer means for the waterfall: a pure table (docs/availability.md: "Failover").

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

from runtime.routing.cooldown import FailureKind
from runtime.translate import is_context_overflow
from runtime.translate.upstream_errors import message_of

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


def classify_stream_error(status: int, error: dict[str, Any]) -> FailureKind:
    """An error the upstream reported inside a 200 stream (`status`: what it stands for,
    `runtime.upstream.stream_watch`), classified like the same error answered as a status code: an
    in-band `overloaded_error` is an overload, not garbage."""
    kind = classify(status, _encode(error))
    return kind if kind is not None else "server_error"


_EXCERPT = 160
_SPACE = re.compile(r"\s+")
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def excerpt(body: bytes) -> str:
    """A short, cleaned description of an upstream error body for messages and logs: the
    error's own message when the body is JSON (or SSE carrying JSON), whitespace collapsed;
    for any other body (an HTML error page, text, bytes) only what kind it was and its size,
    never its content, which relay cannot tell apart from markup or an echoed secret."""
    text = _json_message(body)
    if text is None:
        return _kind(body)
    text = _SPACE.sub(" ", "".join(c if c.isprintable() else " " for c in text)).strip()
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _kind(body: bytes) -> str:
    head = body[:1024].lstrip().lower()
    if not head:
        return "an empty body"
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head or b"<head" in head:
        kind = "an HTML page"
    elif head.startswith(b"<"):
        kind = "an XML body"
    elif head.startswith((b"{", b"[")):
        kind = "a JSON body without an error message"
    elif _binary(head):
        kind = "a binary body"
    else:
        kind = "a text body"
    return f"{kind} ({len(body):,} bytes)"


def _binary(head: bytes) -> bool:
    text = head.decode("utf-8", "replace")
    return sum((c.isprintable() or c.isspace()) and c != "\ufffd" for c in text) < 0.9 * len(text)


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
    message = message_of(value)
    if not message:
        return None
    error = value.get("error")
    kind = error.get("type") or error.get("code") if isinstance(error, dict) else None
    return f"{kind}: {message}" if isinstance(kind, str) and kind not in message else message

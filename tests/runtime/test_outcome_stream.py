"""In-band stream errors classified like status codes; error excerpts never carry raw bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.errors import ClientFormat
from runtime.server.outcome import classify_stream_error, excerpt
from runtime.upstream.stream_watch import FrameWatch


@pytest.mark.parametrize(
    ("fmt", "error", "kind"),
    [
        ("anthropic", {"type": "overloaded_error", "message": "Overloaded"}, "overloaded"),
        ("anthropic", {"type": "rate_limit_error", "message": "slow"}, "rate_limited"),
        ("anthropic", {"type": "api_error", "message": "boom"}, "server_error"),
        ("anthropic", {"type": "invalid_request_error", "message": "bad field"}, "client_error"),
        ("anthropic", {"type": "invalid_request_error", "message": "prompt is too long: 2 > 1"}, "context"),
        ("openai", {"message": "Provider returned error", "code": 429}, "rate_limited"),
        ("openai", {"message": "busy", "code": 503}, "overloaded"),
        ("openai", {"message": "x", "type": "server_error", "code": "insufficient_quota"}, "payment"),
        ("openai", {"message": "who knows"}, "server_error"),
    ],
)
def test_stream_errors_are_classified_like_statuses(
    fmt: ClientFormat, error: dict[str, Any], kind: str
) -> None:
    """The watch reads the status an in-band error stands for; the kind follows from it."""
    watch = FrameWatch(fmt)
    if fmt == "anthropic":
        watch.take(b"event: error\ndata: " + json.dumps({"type": "error", "error": error}).encode())
    else:
        watch.take(b"data: " + json.dumps({"error": error}).encode())
    assert watch.error == error and classify_stream_error(watch.error_status, error) == kind


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            "overloaded_error: Overloaded",
        ),
        (
            b'{"error":{"message":"Rate limit reached","type":"rate_limit_exceeded"}}',
            "rate_limit_exceeded: Rate limit reached",
        ),
        (
            b'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"api_error: x"}}\n\n',
            "api_error: x",
        ),
        (b"<html>\n  <h1>502   Bad Gateway</h1>\x00</html>", "an HTML page (43 bytes)"),
        (b"\n<!DOCTYPE html><title>x</title><script>alert(1)</script>", "an HTML page (57 bytes)"),
        (b"<?xml version='1.0'?><Error>sk-secret</Error>", "an XML body (45 bytes)"),
        (b"upstream connect error or disconnect/reset before headers", "a text body (57 bytes)"),
        (b'{"ok": false}', "a JSON body without an error message (13 bytes)"),
        (bytes(range(256)) * 8, "a binary body (2,048 bytes)"),
        (b"", "an empty body"),
    ],
)
def test_excerpts_are_short_and_clean(body: bytes, text: str) -> None:
    assert excerpt(body) == text


@given(st.binary(max_size=5000))
def test_any_body_gives_a_short_printable_excerpt(body: bytes) -> None:
    text = excerpt(body)
    assert len(text) <= 160 and text.isprintable() and "\n" not in text

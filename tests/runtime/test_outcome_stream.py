"""In-band stream errors classified like status codes; error excerpts never carry raw bodies."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.outcome import classify_stream_error, excerpt


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"type": "overloaded_error", "message": "Overloaded"}, "overloaded"),
        ({"type": "rate_limit_error", "message": "slow"}, "rate_limited"),
        ({"type": "api_error", "message": "boom"}, "server_error"),
        ({"type": "invalid_request_error", "message": "bad field"}, "client_error"),
        (
            {"type": "invalid_request_error", "message": "prompt is too long: 210000 tokens > 200000"},
            "context",
        ),
        ({"message": "Provider returned error", "code": 429}, "rate_limited"),
        ({"message": "busy", "code": 503}, "overloaded"),
        ({"message": "x", "type": "server_error", "code": "insufficient_quota"}, "payment"),
        ({"message": "who knows"}, "server_error"),
    ],
)
def test_stream_errors_are_classified_like_statuses(error: dict[str, Any], kind: str) -> None:
    assert classify_stream_error(error) == kind


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
        (b"<html>\n  <h1>502   Bad Gateway</h1>\x00</html>", "<html> <h1>502 Bad Gateway</h1> </html>"),
        (b"", ""),
    ],
)
def test_excerpts_are_short_and_clean(body: bytes, text: str) -> None:
    assert excerpt(body) == text


@given(st.binary(max_size=5000))
def test_any_body_gives_a_short_printable_excerpt(body: bytes) -> None:
    text = excerpt(body)
    assert len(text) <= 160 and text.isprintable() and "\n" not in text

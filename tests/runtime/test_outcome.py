"""The waterfall's classification table, row by row."""

from __future__ import annotations

import pytest

from runtime.server.outcome import classify


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, b"{}", None),
        (429, b'{"error":{"code":"rate_limit_exceeded"}}', "rate_limited"),
        (429, b'{"error":{"code":"insufficient_quota"}}', "payment"),
        (429, b'{"error":{"code":"1308","message":"quota"}}', "payment"),
        (429, b'{"error":{"code":"1302","message":"concurrency"}}', "rate_limited"),
        (529, b"{}", "overloaded"),
        (503, b"{}", "overloaded"),
        (402, b"{}", "payment"),
        (401, b"{}", "auth"),
        (403, b"{}", "auth"),
        (400, b'{"error":{"code":"context_length_exceeded"}}', "context"),
        (400, b'{"error":{"message":"This model\'s maximum context length is 8192 tokens"}}', "context"),
        (400, b'{"type":"error","error":{"message":"prompt is too long: 1 > 0"}}', "context"),
        (400, b'{"error":{"message":"bad tool schema"}}', "client_error"),
        (404, b"{}", "client_error"),
        (422, b"{}", "client_error"),
        (408, b"{}", "server_error"),
        (500, b"{}", "server_error"),
        (502, b"<html>", "server_error"),
    ],
)
def test_classify(status: int, body: bytes, kind: str | None) -> None:
    assert classify(status, body) == kind

"""Relay's own errors render in each client's format, with retry hints."""

from __future__ import annotations

import json

import pytest

from runtime.errors import (
    BadGateway,
    BadRequest,
    GatewayTimeout,
    ModelNotFound,
    Overloaded,
    PayloadTooLarge,
    RateLimited,
    RelayError,
    RequestTimeout,
    Unauthorized,
    UnsupportedMediaType,
    error_body,
    error_headers,
    status_of,
    stream_error_event,
)


@pytest.mark.parametrize(
    ("err", "a_status", "a_type", "o_status", "o_code"),
    [
        (BadRequest("x"), 400, "invalid_request_error", 400, None),
        (Unauthorized("x"), 401, "authentication_error", 401, "invalid_api_key"),
        (ModelNotFound("x"), 404, "not_found_error", 404, "model_not_found"),
        (RequestTimeout("x"), 408, "timeout_error", 408, "request_timeout"),
        (PayloadTooLarge("x"), 413, "request_too_large", 413, "request_too_large"),
        (UnsupportedMediaType("x"), 415, "invalid_request_error", 415, "unsupported_media_type"),
        (RateLimited("x"), 429, "rate_limit_error", 429, "rate_limit_exceeded"),
        (Overloaded("x"), 529, "overloaded_error", 503, "overloaded"),
        (BadGateway("x"), 502, "api_error", 502, "bad_gateway"),
        (GatewayTimeout("x"), 504, "timeout_error", 504, "timeout"),
    ],
)
def test_table(err: RelayError, a_status: int, a_type: str, o_status: int, o_code: str | None) -> None:
    assert status_of(err, "anthropic") == a_status
    assert status_of(err, "openai") == o_status
    anthropic = json.loads(error_body(err, "anthropic", "req_1"))
    assert anthropic == {"type": "error", "error": {"type": a_type, "message": "x"}, "request_id": "req_1"}
    assert json.loads(error_body(err, "openai"))["error"]["code"] == o_code


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    headers = dict(error_headers(RateLimited("x", retry_after=2.2)))
    assert headers["retry-after"] == "3" and headers["retry-after-ms"] == "2200"


def test_stream_error_frames() -> None:
    assert stream_error_event(Overloaded("busy"), "anthropic").startswith(b"event: error\ndata: {")
    assert stream_error_event(Overloaded("busy"), "openai").startswith(b'data: {"error":')

"""Relay's own errors, and the one table that renders them for each client format.

Hierarchy (every error relay itself answers with is one of these):

    RelayError
    ├── BadRequest          400  invalid_request_error
    │   └── ContextOverflow     400  invalid_request_error / context_length_exceeded
    ├── Unauthorized        401  authentication_error / invalid_api_key
    ├── Forbidden           403  permission_error: a Host or Origin relay does not serve
    ├── NotFound            404  not_found_error / not_found
    │   └── ModelNotFound       404  not_found_error / model_not_found
    ├── MethodNotAllowed    405
    ├── RequestTimeout      408  the request body did not arrive in time
    ├── PayloadTooLarge     413  request_too_large
    ├── UnsupportedMediaType 415 a Content-Type or Content-Encoding relay does not take
    ├── RateLimited         429  rate_limit_error / rate_limit_exceeded   (+ retry-after)
    ├── Overloaded          529 to Anthropic clients, 503 to OpenAI clients
    ├── BadGateway          502  upstream garbage or every step failed otherwise
    └── GatewayTimeout      504  every step timed out

Upstream errors that are returned to the client as they are never become RelayErrors:
only what relay decides itself goes through this table, so clients keep the upstream's
own wording (Claude Code recovers by wording).
"""

from __future__ import annotations

import math
from typing import Literal

import msgspec

ClientFormat = Literal["anthropic", "openai"]
WireFormat = Literal["anthropic", "openai", "responses"]
"""What a body or stream on either side of relay is written in: the two client formats, and
OpenAI's Responses API (the `/v1/responses` ingress, `openai-responses` upstreams)."""


class _Row(msgspec.Struct, frozen=True):
    anthropic_status: int
    openai_status: int
    anthropic_type: str
    openai_type: str
    openai_code: str | None


class RelayError(Exception):
    """An error relay answers itself, in the client's own error format."""

    row = _Row(500, 500, "api_error", "server_error", "server_error")

    def __init__(self, message: str, *, param: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.retry_after = retry_after


class BadRequest(RelayError):
    row = _Row(400, 400, "invalid_request_error", "invalid_request_error", None)


class ContextOverflow(BadRequest):
    """No step's context window can hold the request: Claude Code compacts on the Anthropic
    wording (`prompt is too long: N tokens > M maximum`), OpenAI clients read the code."""

    row = _Row(400, 400, "invalid_request_error", "invalid_request_error", "context_length_exceeded")


class Unauthorized(RelayError):
    row = _Row(401, 401, "authentication_error", "invalid_request_error", "invalid_api_key")


class Forbidden(RelayError):
    row = _Row(403, 403, "permission_error", "invalid_request_error", "forbidden")


class NotFound(RelayError):
    row = _Row(404, 404, "not_found_error", "invalid_request_error", "not_found")


class ModelNotFound(NotFound):
    row = _Row(404, 404, "not_found_error", "invalid_request_error", "model_not_found")


class MethodNotAllowed(RelayError):
    row = _Row(405, 405, "invalid_request_error", "invalid_request_error", "method_not_allowed")


class RequestTimeout(RelayError):
    row = _Row(408, 408, "timeout_error", "invalid_request_error", "request_timeout")


class PayloadTooLarge(RelayError):
    row = _Row(413, 413, "request_too_large", "invalid_request_error", "request_too_large")


class UnsupportedMediaType(RelayError):
    row = _Row(415, 415, "invalid_request_error", "invalid_request_error", "unsupported_media_type")


class RateLimited(RelayError):
    row = _Row(429, 429, "rate_limit_error", "rate_limit_exceeded", "rate_limit_exceeded")


class Overloaded(RelayError):
    row = _Row(529, 503, "overloaded_error", "server_error", "overloaded")


class BadGateway(RelayError):
    row = _Row(502, 502, "api_error", "server_error", "bad_gateway")


class GatewayTimeout(RelayError):
    row = _Row(504, 504, "timeout_error", "server_error", "timeout")


class _AnthropicError(msgspec.Struct):
    type: str
    message: str


class _AnthropicBody(msgspec.Struct, omit_defaults=True):
    type: str
    error: _AnthropicError
    request_id: str | None = None


class _OpenAIError(msgspec.Struct):
    message: str
    type: str
    param: str | None
    code: str | None


class _OpenAIBody(msgspec.Struct):
    error: _OpenAIError


_encode = msgspec.json.Encoder().encode


def status_of(err: RelayError, fmt: ClientFormat) -> int:
    return err.row.anthropic_status if fmt == "anthropic" else err.row.openai_status


def error_body(err: RelayError, fmt: ClientFormat, request_id: str | None = None) -> bytes:
    """The JSON body for `err` in `fmt`; also the payload of an in-stream error event."""
    row = err.row
    if fmt == "anthropic":
        return _encode(_AnthropicBody("error", _AnthropicError(row.anthropic_type, err.message), request_id))
    return _encode(_OpenAIBody(_OpenAIError(err.message, row.openai_type, err.param, row.openai_code)))


def error_headers(err: RelayError) -> list[tuple[str, str]]:
    """Retry hints: SDKs read `retry-after-ms` first, then `retry-after` in whole seconds."""
    headers = [("content-type", "application/json")]
    if err.retry_after is not None:
        wait = max(err.retry_after, 0.0)
        headers.append(("retry-after", str(max(1, math.ceil(wait)))))
        headers.append(("retry-after-ms", str(max(1, math.ceil(wait * 1000)))))
    return headers


def stream_error_event(err: RelayError, fmt: ClientFormat) -> bytes:
    """The frame that ends a stream which already started: never a silent truncation."""
    if fmt == "anthropic":
        return b"event: error\ndata: " + error_body(err, fmt) + b"\n\n"
    return b"data: " + error_body(err, fmt) + b"\n\n"

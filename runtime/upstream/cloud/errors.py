"""Cloud error answers as the Anthropic errors the waterfall already classifies (`runtime.server.outcome`).

Bedrock names its errors (`x-amzn-ErrorType`, or `:exception-type` inside a stream) and
answers `{"message": …}`; Google answers `{"error": {"code", "message", "status"}}`. Both
become an Anthropic status and body, so the request loop sees nothing cloud-specific: the
status decides the failover class and the body reaches a client in its own format when the
error is about the request. Status changes where the cloud's code means something else to the
waterfall:

| Bedrock error | status | Anthropic type | waterfall |
|---|---|---|---|
| ThrottlingException, ServiceQuotaExceededException | 429 | rate_limit_error | key cools down (backoff) |
| ModelNotReadyException (429 at AWS), ServiceUnavailableException | 503 | overloaded_error | provider cools down |
| AccessDeniedException, UnrecognizedClientException, InvalidSignatureException, ExpiredTokenException | 403 | permission_error | key marked bad |
| ValidationException (an input too long: "prompt is too long") | 400 | invalid_request_error | returned to the client (next step) |
| ResourceNotFoundException | 404 | not_found_error | returned to the client |
| ModelTimeoutException | 408 | timeout_error | next step |
| ModelErrorException, ModelStreamErrorException (424 at AWS), InternalServerException | 502/500 | api_error | next step |

Google's `RESOURCE_EXHAUSTED` (429), `UNAVAILABLE` (503), `UNAUTHENTICATED` (401) and
`PERMISSION_DENIED` (403) keep their status; bodies already in the Anthropic shape (errors from
the model itself) pass unchanged.
"""

from __future__ import annotations

from typing import Any

import msgspec

from runtime.translate.sse import anthropic_event

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

_BEDROCK: dict[str, tuple[int, str]] = {
    "ThrottlingException": (429, "rate_limit_error"),
    "ServiceQuotaExceededException": (429, "rate_limit_error"),
    "ModelNotReadyException": (503, "overloaded_error"),
    "ServiceUnavailableException": (503, "overloaded_error"),
    "AccessDeniedException": (403, "permission_error"),
    "UnrecognizedClientException": (403, "permission_error"),
    "InvalidSignatureException": (403, "permission_error"),
    "ExpiredTokenException": (403, "permission_error"),
    "ValidationException": (400, "invalid_request_error"),
    "ConflictException": (400, "invalid_request_error"),
    "ResourceNotFoundException": (404, "not_found_error"),
    "ModelTimeoutException": (408, "timeout_error"),
    "ModelErrorException": (502, "api_error"),
    "ModelStreamErrorException": (502, "api_error"),
    "InternalServerException": (500, "api_error"),
}
_GOOGLE_TYPES = {
    "RESOURCE_EXHAUSTED": "rate_limit_error",
    "UNAVAILABLE": "overloaded_error",
    "UNAUTHENTICATED": "authentication_error",
    "PERMISSION_DENIED": "permission_error",
    "NOT_FOUND": "not_found_error",
    "DEADLINE_EXCEEDED": "timeout_error",
}
_OVERFLOW = ("input is too long", "too many input tokens", "prompt is too long")


def type_for_status(status: int) -> str:
    if status == 429:
        return "rate_limit_error"
    if status in (503, 529):
        return "overloaded_error"
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 404:
        return "not_found_error"
    return "invalid_request_error" if status < 500 else "api_error"


def anthropic_error(kind: str, message: str) -> bytes:
    return _encode({"type": "error", "error": {"type": kind, "message": message}})


def bedrock_name(value: str | None) -> str:
    """`ThrottlingException` from `ThrottlingException:http://internal.amazon.com/…` or from a
    stream's `throttlingException`."""
    name = (value or "").partition(":")[0].strip()
    return name[:1].upper() + name[1:]


def bedrock_status(status: int, error_type: str | None) -> int:
    """The status the waterfall should see for a Bedrock error answer (known at header time)."""
    return _BEDROCK.get(bedrock_name(error_type), (status, ""))[0]


def _message(body: bytes) -> str:
    try:
        value: Any = _decode(body)
    except msgspec.DecodeError:
        return body[:500].decode("utf-8", "replace").strip()
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        inner = value.get("error", value)
        message = inner.get("message") or inner.get("Message") if isinstance(inner, dict) else inner
        if isinstance(message, str):
            return message
    return body[:500].decode("utf-8", "replace").strip()


def bedrock_error(status: int, error_type: str | None, body: bytes) -> bytes:
    """An Anthropic error body for a Bedrock error answer."""
    name = bedrock_name(error_type)
    mapped, kind = _BEDROCK.get(name, (status, type_for_status(status)))
    message = _message(body) or name or f"HTTP {status}"
    if mapped == 400 and any(needle in message.lower() for needle in _OVERFLOW):
        message = f"prompt is too long (bedrock: {message})"
    return anthropic_error(kind, f"{name}: {message}" if name and name not in message else message)


def bedrock_stream_error(error_type: str | None, payload: bytes) -> bytes:
    """The SSE `error` event for an exception message inside a Bedrock stream."""
    return anthropic_event("error", bedrock_error(500, error_type, payload))


def google_error(status: int, body: bytes) -> bytes:
    """An Anthropic error body for a Vertex answer; one already Anthropic-shaped passes."""
    try:
        value: Any = _decode(body)
    except msgspec.DecodeError:
        value = None
    if isinstance(value, dict) and value.get("type") == "error":
        return body
    if isinstance(value, list) and value and isinstance(value[0], dict):
        value = value[0]
    inner = value.get("error") if isinstance(value, dict) else None
    state = inner.get("status") if isinstance(inner, dict) else None
    kind = (
        _GOOGLE_TYPES.get(state, type_for_status(status))
        if isinstance(state, str)
        else type_for_status(status)
    )
    message = _message(body) or f"HTTP {status}"
    return anthropic_error(kind, f"{state}: {message}" if isinstance(state, str) else message)

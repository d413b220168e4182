"""Errors of the translation layer and the two wire formats' error shapes.

`TranslationError` is the only exception the translators raise: a request field that cannot
be carried to the chosen upstream. The runtime renders it as a 400 in the client's own format
naming the field (`translation_error_body`). Everything else a translator meets (bad upstream
JSON, an unknown finish reason) becomes a well-formed response or error *value*, never an
exception, because by then the client is already waiting on a 200.

The status table is protocols.md §3.9: one row per upstream status, giving the status and
error type each client format expects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple, TypeVar

from runtime.translate.codec import encode

Format = Literal["anthropic", "openai"]


class TranslationError(Exception):
    """A request field with no counterpart in the target format; becomes a 400 naming `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def at(self, prefix: str) -> TranslationError:
        """The same error seen one level up, its field under `prefix`.

        Translators raise fields relative to what they look at and each enclosing loop adds
        its segment on the way out, so the success path formats no path strings at all.
        """
        if not self.field:
            field = prefix
        elif self.field.startswith("["):
            field = prefix + self.field
        else:
            field = f"{prefix}.{self.field}"
        return TranslationError(field, self.message)


T = TypeVar("T")


def each(items: list[Any], translate: Callable[[Any], T], name: str) -> list[T]:
    """`translate` applied to every item, a failure located at `name[i]`."""
    out = []
    for i, item in enumerate(items):
        try:
            out.append(translate(item))
        except TranslationError as exc:
            raise exc.at(f"{name}[{i}]") from None
    return out


class _Row(NamedTuple):
    anthropic_status: int
    anthropic_type: str
    openai_status: int
    openai_type: str
    openai_code: str | None


_BAD_REQUEST = _Row(400, "invalid_request_error", 400, "invalid_request_error", None)
_SERVER = _Row(500, "api_error", 500, "server_error", None)
_OVERLOADED = _Row(529, "overloaded_error", 503, "server_error", "service_unavailable")

_TABLE: dict[int, _Row] = {
    400: _BAD_REQUEST,
    422: _BAD_REQUEST,
    401: _Row(401, "authentication_error", 401, "invalid_request_error", "invalid_api_key"),
    402: _Row(402, "billing_error", 402, "insufficient_quota", "insufficient_quota"),
    403: _Row(403, "permission_error", 403, "permission_error", None),
    404: _Row(404, "not_found_error", 404, "invalid_request_error", "model_not_found"),
    408: _Row(408, "timeout_error", 408, "timeout", None),
    413: _Row(413, "request_too_large", 413, "invalid_request_error", "request_too_large"),
    429: _Row(429, "rate_limit_error", 429, "rate_limit_exceeded", "rate_limit_exceeded"),
    500: _SERVER,
    502: _SERVER,
    503: _OVERLOADED,
    529: _OVERLOADED,
    504: _Row(504, "timeout_error", 504, "server_error", "timeout"),
}

ANTHROPIC_TYPE_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
    "timeout_error": 504,
}
"""Anthropic `error.type` back to the status it stands for (for errors that arrive in a stream)."""


def row(status: int) -> _Row:
    found = _TABLE.get(status)
    if found is not None:
        return found
    if 400 <= status < 500:
        return _Row(status, "invalid_request_error", status, "invalid_request_error", None)
    return _SERVER


def anthropic_error(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def openai_error(message: str, error_type: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def error_for_status(status: int, message: str, target: Format) -> tuple[int, dict[str, Any]]:
    """The client-facing status and body for an upstream `status`, per the §3.9 table."""
    r = row(status)
    if target == "anthropic":
        return r.anthropic_status, anthropic_error(r.anthropic_type, message)
    return r.openai_status, openai_error(message, r.openai_type, r.openai_code)


def translation_error_body(err: TranslationError, target: Format) -> bytes:
    """The 400 body for a request that cannot be translated, in the client's own format."""
    message = f"{err.field}: {err.message}"
    if target == "anthropic":
        return encode(anthropic_error("invalid_request_error", message))
    return encode(openai_error(message, "invalid_request_error", None, param=err.field))

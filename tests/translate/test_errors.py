"""Upstream errors carried across the format boundary (protocols.md §3.9) and 400s naming a field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.translate.errors import TranslationError, translation_error_body
from runtime.translate.upstream_errors import is_context_overflow, translate_error

OPENAI_429 = json.dumps(
    {"error": {"message": "Rate limit reached for model", "type": "tokens", "code": "rate_limit_exceeded"}}
).encode()
ANTHROPIC_529 = json.dumps(
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
).encode()
OPENAI_OVERFLOW = json.dumps(
    {
        "error": {
            "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens.",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
        }
    }
).encode()


def translated(status: int, body: bytes, source: Any, target: Any) -> tuple[int, dict[str, Any]]:
    out_status, out = translate_error(status, body, source=source, target=target, provider="groq")
    return out_status, json.loads(out)


@pytest.mark.parametrize(
    ("status", "anthropic_status", "anthropic_type", "openai_status", "openai_code"),
    [
        (400, 400, "invalid_request_error", 400, None),
        (422, 400, "invalid_request_error", 400, None),
        (401, 401, "authentication_error", 401, "invalid_api_key"),
        (402, 402, "billing_error", 402, "insufficient_quota"),
        (403, 403, "permission_error", 403, None),
        (404, 404, "not_found_error", 404, "model_not_found"),
        (409, 409, "invalid_request_error", 409, None),
        (413, 413, "request_too_large", 413, "request_too_large"),
        (429, 429, "rate_limit_error", 429, "rate_limit_exceeded"),
        (500, 500, "api_error", 500, None),
        (502, 500, "api_error", 500, None),
        (503, 529, "overloaded_error", 503, "service_unavailable"),
        (529, 529, "overloaded_error", 503, "service_unavailable"),
        (504, 504, "timeout_error", 504, "timeout"),
        (599, 500, "api_error", 500, None),
    ],
)
def test_status_table(
    status: int, anthropic_status: int, anthropic_type: str, openai_status: int, openai_code: str | None
) -> None:
    body = b'{"message": "upstream words"}'
    got_status, got = translated(status, body, "openai", "anthropic")
    assert got_status == anthropic_status
    assert got == {"type": "error", "error": {"type": anthropic_type, "message": "groq: upstream words"}}
    got_status, got = translated(status, body, "anthropic", "openai")
    assert got_status == openai_status
    assert got["error"]["code"] == openai_code and got["error"]["message"] == "groq: upstream words"


def test_messages_survive_with_the_provider_prefix() -> None:
    assert translated(429, OPENAI_429, "openai", "anthropic")[1]["error"]["message"] == (
        "groq: Rate limit reached for model"
    )
    assert translated(529, ANTHROPIC_529, "anthropic", "openai") == (
        503,
        {
            "error": {
                "message": "groq: Overloaded",
                "type": "server_error",
                "param": None,
                "code": "service_unavailable",
            }
        },
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>Bad Gateway</html>", "groq: <html>Bad Gateway</html>"),
        (b"", "groq: no error body"),
        (b'{"error": "plain string"}', "groq: plain string"),
        (b"[1, 2]", "groq: [1, 2]"),
        (
            b'{"error": {"code": 502, "message": "Provider down", "metadata": {"raw": "x"}}}',
            "groq: Provider down",
        ),
    ],
)
def test_any_body_shape_gives_a_clean_error(body: bytes, message: str) -> None:
    assert translated(502, body, "openai", "anthropic")[1]["error"]["message"] == message


def test_same_format_bodies_pass_through_unmodified_when_well_shaped() -> None:
    assert translate_error(529, ANTHROPIC_529, source="anthropic", target="anthropic", provider="p") == (
        529,
        ANTHROPIC_529,
    )
    assert translate_error(429, OPENAI_429, source="openai", target="openai", provider="p") == (
        429,
        OPENAI_429,
    )
    status, body = translate_error(
        429, b'{"error":{"code":"1302"}}', source="anthropic", target="anthropic", provider="zai"
    )
    assert status == 429 and json.loads(body)["error"]["type"] == "rate_limit_error"


def test_context_overflow_becomes_prompt_is_too_long_for_anthropic_clients() -> None:
    status, got = translated(400, OPENAI_OVERFLOW, "openai", "anthropic")
    assert status == 400
    assert got["error"]["type"] == "invalid_request_error"
    assert got["error"]["message"].startswith(
        "prompt is too long: 130512 tokens > 128000 maximum (groq: This model"
    )


def test_context_overflow_without_numbers_and_for_openai_clients() -> None:
    body = b'{"error": {"message": "Please reduce the length of the messages: context_length_exceeded"}}'
    assert translated(400, body, "openai", "anthropic")[1]["error"]["message"].startswith(
        "prompt is too long (groq:"
    )
    anthropic_body = (
        b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 5 > 4"}}'
    )
    status, got = translated(400, anthropic_body, "anthropic", "openai")
    assert status == 400 and got["error"]["code"] == "context_length_exceeded"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, OPENAI_OVERFLOW, True),
        (413, b"prompt is too long: 1 tokens > 0 maximum", True),
        (400, b'{"error":{"message":"Input exceeds the context window of this model"}}', True),
        (400, b'{"error":{"message":"temperature out of range"}}', False),
        (500, OPENAI_OVERFLOW, False),
        (429, OPENAI_429, False),
    ],
)
def test_is_context_overflow(status: int, body: bytes, expected: bool) -> None:
    assert is_context_overflow(status, body) is expected


def test_translation_error_bodies_name_the_field() -> None:
    err = TranslationError("messages[2].content[0].type", "'input_audio' parts cannot be sent")
    assert json.loads(translation_error_body(err, "anthropic")) == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "messages[2].content[0].type: 'input_audio' parts cannot be sent",
        },
    }
    assert json.loads(translation_error_body(err, "openai"))["error"] == {
        "message": "messages[2].content[0].type: 'input_audio' parts cannot be sent",
        "type": "invalid_request_error",
        "param": "messages[2].content[0].type",
        "code": None,
    }
    assert str(err) == "messages[2].content[0].type: 'input_audio' parts cannot be sent"

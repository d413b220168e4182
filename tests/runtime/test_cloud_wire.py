"""Per-cloud request shaping, beta filtering and error mapping: pure tables, exact outputs."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from runtime.server.outcome import classify
from runtime.upstream.cloud import azure_wire, bedrock_wire, betas, vertex_wire
from runtime.upstream.cloud.errors import bedrock_error, bedrock_status, google_error
from runtime.upstream.cloud.refresh import MARGIN, RECHECK, Fetched, NoCredentials, Refresher, next_refresh

BODY = json.dumps(
    {
        "model": "anthropic.claude-x-v1:0",
        "max_tokens": 10,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
        "future_field": {"kept": [1, 2]},
    }
).encode()
HEADERS = [
    ("content-type", "application/json"),
    ("anthropic-version", "2023-06-01"),
    ("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14"),
    ("anthropic-beta", "advanced-tool-use-2025-11-20, effort-2025-11-24"),
    ("x-claude-code-session-id", "s"),
    ("x-amzn-bedrock-guardrailidentifier", "g1"),
]


def test_bedrock_stream_call() -> None:
    call = bedrock_wire.call("https://b/model/{model}/invoke?beta=true", HEADERS, BODY)
    assert call.url == "https://b/model/anthropic.claude-x-v1:0/invoke-with-response-stream" and call.stream
    body = json.loads(call.body)
    assert "model" not in body and "stream" not in body and body["future_field"] == {"kept": [1, 2]}
    assert body["anthropic_version"] == "bedrock-2023-05-31"
    assert body["anthropic_beta"] == [
        "interleaved-thinking-2025-05-14",
        "tool-search-tool-2025-10-19",
        "effort-2025-11-24",
    ]
    assert call.headers == [
        ("content-type", "application/json"),
        ("accept", "application/vnd.amazon.eventstream"),
        ("x-amzn-bedrock-guardrailidentifier", "g1"),
    ]


def test_bedrock_arn_model_and_count_call() -> None:
    body = json.dumps(
        {"model": "arn:aws:bedrock:us-east-1:1:inference-profile/us.x", "messages": []}
    ).encode()
    call = bedrock_wire.call("https://b/model/{model}/count-tokens", [], body)
    assert call.url == "https://b/model/arn:aws:bedrock:us-east-1:1:inference-profile%2Fus.x/count-tokens"
    inner = json.loads(base64.b64decode(json.loads(call.body)["input"]["invokeModel"]["body"]))
    assert inner == {"messages": [], "max_tokens": 1, "anthropic_version": "bedrock-2023-05-31"}
    assert bedrock_wire.count_reply(b'{"inputTokens": 17}') == b'{"input_tokens":17}'


def test_vertex_calls() -> None:
    template = "https://v/v1/projects/p/locations/r/publishers/anthropic/models/{model}:rawPredict"
    body = BODY.replace(b"anthropic.claude-x-v1:0", b"claude-x@2025")
    call = vertex_wire.call(template + "?beta=true", HEADERS, body)
    assert call.url == template.replace("{model}", "claude-x@2025").replace(
        ":rawPredict", ":streamRawPredict"
    )
    sent = json.loads(call.body)
    assert "model" not in sent and sent["stream"] is True and sent["anthropic_version"] == "vertex-2023-10-16"
    assert call.headers == [
        ("content-type", "application/json"),
        ("anthropic-version", "2023-06-01"),
        ("anthropic-beta", "interleaved-thinking-2025-05-14,tool-search-tool-2025-10-19"),
        ("x-amzn-bedrock-guardrailidentifier", "g1"),
    ]
    count = vertex_wire.call(template.replace("{model}", "count-tokens"), [], body)
    assert json.loads(count.body)["model"] == "claude-x@2025" and not count.stream


def test_azure_calls() -> None:
    body = json.dumps({"model": "gpt-4o", "messages": []}).encode()
    dated = azure_wire.openai_call(
        "https://a/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21",
        [],
        body,
        {"gpt-4o": "d 1"},
    )
    assert dated.url == "https://a/openai/deployments/d%201/chat/completions?api-version=2024-10-21"
    assert dated.body == body
    v1 = azure_wire.openai_call("https://a/openai/v1/chat/completions", [], body, {"gpt-4o": "d1"})
    assert json.loads(v1.body)["model"] == "d1"
    foundry = azure_wire.foundry_call(
        "https://f/anthropic/v1/messages", [*HEADERS, ("anthropic-beta", "oauth-2025-04-20")], BODY, {}
    )
    assert foundry.body == BODY
    assert (
        "anthropic-beta",
        "claude-code-20250219,interleaved-thinking-2025-05-14,advanced-tool-use-2025-11-20,effort-2025-11-24",
    ) in foundry.headers


@pytest.mark.parametrize(
    ("cloud", "flags", "kept"),
    [
        ("bedrock", ["oauth-2025-04-20,claude-code-20250219"], []),
        ("bedrock", ["context-1m-2025-08-07", " context-1m-2025-08-07 "], ["context-1m-2025-08-07"]),
        ("vertex", ["effort-2025-11-24,web-search-2025-03-05"], ["web-search-2025-03-05"]),
        ("azure", ["fast-mode-2026-02-01,some-future-beta"], ["some-future-beta"]),
    ],
)
def test_betas(cloud: betas.Cloud, flags: list[str], kept: list[str]) -> None:
    assert betas.accepted(cloud, flags) == kept


@pytest.mark.parametrize(
    ("status", "error_type", "message", "waterfall", "kind"),
    [
        (
            429,
            "ThrottlingException:http://internal.amazon.com/coral/",
            "slow",
            "rate_limited",
            "rate_limit_error",
        ),
        (429, "ModelNotReadyException", "warming", "overloaded", "overloaded_error"),
        (503, "ServiceUnavailableException", "down", "overloaded", "overloaded_error"),
        (403, "AccessDeniedException", "no", "auth", "permission_error"),
        (400, "ValidationException", "bad field", "client_error", "invalid_request_error"),
        (
            400,
            "ValidationException",
            "Input is too long for requested model.",
            "context",
            "invalid_request_error",
        ),
        (424, "ModelErrorException", "boom", "server_error", "api_error"),
        (408, "ModelTimeoutException", "slow model", "server_error", "timeout_error"),
        (418, None, "odd", "client_error", "invalid_request_error"),
    ],
)
def test_bedrock_errors_classify_like_anthropic_errors(
    status: int, error_type: str | None, message: str, waterfall: str, kind: str
) -> None:
    mapped = bedrock_status(status, error_type)
    body = bedrock_error(status, error_type, json.dumps({"message": message}).encode())
    assert classify(mapped, body) == waterfall
    error = json.loads(body)
    assert (
        error["type"] == "error" and error["error"]["type"] == kind and message in error["error"]["message"]
    )


@pytest.mark.parametrize(
    ("status", "body", "waterfall", "kind"),
    [
        (
            429,
            {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
            "rate_limited",
            "rate_limit_error",
        ),
        (
            503,
            [{"error": {"code": 503, "message": "try later", "status": "UNAVAILABLE"}}],
            "overloaded",
            "overloaded_error",
        ),
        (
            401,
            {"error": {"code": 401, "message": "bad token", "status": "UNAUTHENTICATED"}},
            "auth",
            "authentication_error",
        ),
        (
            400,
            {"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long"}},
            "context",
            "invalid_request_error",
        ),
    ],
)
def test_google_errors(status: int, body: object, waterfall: str, kind: str) -> None:
    mapped = google_error(status, json.dumps(body).encode())
    assert classify(status, mapped) == waterfall and json.loads(mapped)["error"]["type"] == kind


def test_refresh_schedule() -> None:
    assert next_refresh(100.0, None) == RECHECK
    assert next_refresh(100.0, 100.0 + 3600) == RECHECK  # re-checked often even when far off
    assert next_refresh(100.0, 100.0 + 2 * MARGIN + 60) == RECHECK
    assert next_refresh(100.0, 100.0 + 500) == 250.0  # within twice the margin: at half its life
    assert next_refresh(100.0, 104.0) == 2.0  # a short-lived token: at half its life
    assert next_refresh(100.0, 99.0) == 1.0


def test_refresher_serves_what_it_holds_and_says_why_when_nothing_is_valid() -> None:
    now = [1000.0]
    answers: list[Fetched[str] | Exception] = [Fetched("t1", 1010.0)]

    async def fetch() -> Fetched[str]:
        answer = answers.pop(0) if answers else RuntimeError("token endpoint down")
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def run() -> None:
        refresher = Refresher(fetch, "p: token", wall=lambda: now[0])
        assert await refresher.current() == "t1"
        now[0] = 1011.0  # past its expiry before the next refresh is due
        with pytest.raises(NoCredentials, match="p: token: expired, refresh pending"):
            await refresher.current()
        await refresher.aclose()
        failing = Refresher(fetch, "q: token", wall=lambda: now[0])
        with pytest.raises(NoCredentials, match="q: token: RuntimeError: token endpoint down"):
            await failing.current()
        await failing.aclose()

    asyncio.run(run())

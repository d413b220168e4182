"""Bedrock, Vertex AI and Azure end to end: real relay, both SDKs, the fakes of tests/e2e/fake_clouds.py.

Every cloud serves streaming and whole answers to both SDKs, with a Claude Code-shaped request
(tools, thinking, betas, session id, `?beta=true`); the fakes check each cloud's wire format and
authentication, and chains fail over across clouds without the client noticing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.e2e.clouds import AZURE_KEY, FakeClouds, fake_clouds, providers_yaml, relay_env
from tests.e2e.procs import FakeUpstream, Relay, anthropic_client, openai_client, served, wait_until
from tests.e2e.sse import frame, openai_tool_stream

pytestmark = pytest.mark.e2e

BEDROCK_MODEL = "anthropic.claude-sonnet-4-6-20250929-v1:0"
VERTEX_MODEL = "claude-sonnet-4-6@20250929"
CHAINS = {
    "bedrock": f'["aws/{BEDROCK_MODEL}"]',
    "bedrock-key": f'["aws_key/{BEDROCK_MODEL}"]',
    "vertex": f'["gcp/{VERTEX_MODEL}"]',
    "foundry": "[foundry/claude-sonnet-4-6]",
    "foundry-entra": "[foundry_entra/claude-sonnet-4-6]",
    "aoai": "[aoai/gpt-4o]",
    "aoai-v1": "[aoai_v1/gpt-4o]",
    "cross": f'[anth/claude-up, "aws/{BEDROCK_MODEL}", "gcp/{VERTEX_MODEL}"]',
    "cross-back": f'["gcp/{VERTEX_MODEL}", "aws_key/{BEDROCK_MODEL}", foundry/claude-sonnet-4-6]',
    "azure-pair": "[aoai/gpt-4o, foundry/claude-sonnet-4-6]",
}
ANTHROPIC_CLOUDS = ["bedrock", "bedrock-key", "vertex", "foundry", "foundry-entra"]
CLAUDE_CODE_BETAS = "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14,oauth-2025-04-20"
TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]


def definitions(
    clouds: FakeClouds, fake: FakeUpstream, extra: str = "", chain_steps: dict[str, str] = CHAINS
) -> str:
    chains = "".join(f"  {name}:\n    steps: {steps}\n" for name, steps in chain_steps.items())
    return (
        "version: 1\n"
        + providers_yaml(clouds)
        + extra
        + f"""\
  anth:
    api: anthropic
    base_url: {fake.url}
    keys: ["${{AZ_KEY}}"]
    timeouts: {{first_byte: 5s, stream_idle: 5s}}
chains:
{chains}"""
    )


@pytest.fixture(scope="module")
def clouds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeClouds]:
    with fake_clouds(tmp_path_factory.mktemp("clouds")) as fake:
        yield fake


@pytest.fixture(scope="module")
def relay(
    clouds: FakeClouds, fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Relay]:
    root = tmp_path_factory.mktemp("cloud-relay")
    with served(root, definitions(clouds, fake), relay_env(clouds)) as served_relay:
        yield served_relay


def thinking_tool_stream(model: str) -> list[str]:
    message = {
        "id": "msg_cloud",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 30, "output_tokens": 1},
    }
    tool = {"type": "tool_use", "id": "toolu_cloud1", "name": "get_weather", "input": {}}
    return [
        frame("message_start", {"type": "message_start", "message": message}),
        frame(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": ""},
            },
        ),
        frame(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "Paris?"},
            },
        ),
        frame(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": "sig-1"},
            },
        ),
        frame("content_block_stop", {"type": "content_block_stop", "index": 0}),
        frame("content_block_start", {"type": "content_block_start", "index": 1, "content_block": tool}),
        frame(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"city": "Paris"}'},
            },
        ),
        frame("content_block_stop", {"type": "content_block_stop", "index": 1}),
        frame(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 12}},
        ),
        frame("message_stop", {"type": "message_stop"}),
    ]


def claude_code_stream(relay: Relay, model: str) -> tuple[anthropic.types.Message, httpx.Headers]:
    client = anthropic_client(relay)
    with client.messages.stream(
        model=model,
        max_tokens=2048,
        system=[{"type": "text", "text": "You are Claude Code."}],
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=TOOLS,  # type: ignore[arg-type]
        thinking={"type": "enabled", "budget_tokens": 1024},
        metadata={"user_id": "u1"},
        extra_headers={"anthropic-beta": CLAUDE_CODE_BETAS, "x-claude-code-session-id": "s-1"},
        extra_query={"beta": "true"},
    ) as stream:
        message = stream.get_final_message()
        headers = stream.response.headers
    return message, headers


@pytest.mark.parametrize("chain", ANTHROPIC_CLOUDS)
def test_claude_code_stream_through_each_cloud(relay: Relay, clouds: FakeClouds, chain: str) -> None:
    clouds.script({"frames": thinking_tool_stream("upstream-model")})
    message, headers = claude_code_stream(relay, chain)
    assert [b.type for b in message.content] == ["thinking", "tool_use"]
    assert message.content[0].signature == "sig-1"  # type: ignore[union-attr]
    assert message.content[1].id == "toolu_cloud1" and message.content[1].input == {"city": "Paris"}  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use" and message.model == chain
    assert headers["x-relay-attempts"] == "1"
    (sent,) = clouds.requests()
    body, hdrs = sent["body"], {k.lower(): v for k, v in sent["headers"].items()}
    assert "x-relay-credential" not in hdrs and body["thinking"]["budget_tokens"] == 1024
    if chain.startswith("bedrock"):
        assert sent["path"] == f"/model/{BEDROCK_MODEL}/invoke-with-response-stream" and sent["query"] == ""
        assert "model" not in body and "stream" not in body
        assert body["anthropic_version"] == "bedrock-2023-05-31"
        assert body["anthropic_beta"] == [
            "interleaved-thinking-2025-05-14",
            "fine-grained-tool-streaming-2025-05-14",
        ]
        assert not [h for h in hdrs if h.startswith("anthropic-") or h == "x-claude-code-session-id"]
    elif chain == "vertex":
        assert sent["path"].endswith(f"/models/{VERTEX_MODEL}:streamRawPredict") and sent["query"] == ""
        assert "model" not in body and body["stream"] is True
        assert body["anthropic_version"] == "vertex-2023-10-16"
        assert hdrs["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    else:
        assert sent["path"] == "/anthropic/v1/messages" and sent["query"] == "beta=true"
        assert body["model"] == "claude-sonnet-4-6" and body["stream"] is True
        assert hdrs["anthropic-beta"] == "claude-code-20250219,interleaved-thinking-2025-05-14"
        assert hdrs["x-claude-code-session-id"] == "s-1"
        assert hdrs.get("x-api-key") == (AZURE_KEY if chain == "foundry" else None)
        assert hdrs.get("authorization", "").startswith("Bearer entra-token-") == (chain == "foundry-entra")


@pytest.mark.parametrize("chain", ["bedrock", "vertex", "foundry", "aoai", "aoai-v1"])
def test_both_sdks_whole_and_streamed(relay: Relay, clouds: FakeClouds, chain: str) -> None:
    clouds.script({"text": "whole"}, {"text": "streamed"}, {"text": "whole-o"}, {"text": "streamed-o"})
    client = anthropic_client(relay)
    ask = {"model": chain, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    whole = client.messages.create(**ask)  # type: ignore[call-overload]
    assert whole.content[0].text == "whole" and whole.model == chain
    with client.messages.stream(**ask) as stream:
        assert stream.get_final_message().content[0].text == "streamed"  # type: ignore[union-attr]
    oai = openai_client(relay)
    chat = {"model": chain, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 50}
    assert oai.chat.completions.create(**chat).choices[0].message.content == "whole-o"  # type: ignore[call-overload]
    parts = [
        c.choices[0].delta.content or ""
        for c in oai.chat.completions.create(**chat, stream=True)
        if c.choices
    ]  # type: ignore[call-overload]
    assert "".join(parts) == "streamed-o"
    paths = [r["path"] for r in clouds.requests()]
    if chain == "aoai":
        assert set(paths) == {"/openai/deployments/dep-4o/chat/completions"}
        assert {r["query"] for r in clouds.requests()} == {"api-version=2024-10-21"}
    elif chain == "aoai-v1":
        assert set(paths) == {"/openai/v1/chat/completions"}
        assert {r["body"]["model"] for r in clouds.requests()} == {"dep-4o"}
    elif chain == "bedrock":
        assert paths == [f"/model/{BEDROCK_MODEL}/{a}" for a in ("invoke", "invoke-with-response-stream") * 2]


def test_claude_code_tools_through_azure_openai(relay: Relay, clouds: FakeClouds) -> None:
    """An Anthropic client on an OpenAI-format Azure deployment: translated both ways."""
    clouds.script({"frames": openai_tool_stream("dep-4o")})
    message, _ = claude_code_stream(relay, "aoai")
    assert message.stop_reason == "tool_use"
    tool = next(b for b in message.content if b.type == "tool_use")
    assert tool.input == {"city": "Paris"}  # type: ignore[union-attr]
    (sent,) = clouds.requests()
    assert sent["headers"].get("api-key") == AZURE_KEY and sent["body"]["tools"][0]["type"] == "function"


def test_cross_cloud_failover_is_invisible(clouds: FakeClouds, fake: FakeUpstream, tmp_path: Path) -> None:
    """anthropic overloaded -> bedrock throttled -> vertex answers; then vertex quota -> bedrock
    stream exception before content -> foundry answers. (Its own relay: cooldowns stay here.)"""
    with served(tmp_path, definitions(clouds, fake), relay_env(clouds)) as relay:
        _cross_cloud(relay, clouds, fake)


def _cross_cloud(relay: Relay, clouds: FakeClouds, fake: FakeUpstream) -> None:
    fake.script(
        {"status": 529, "body": {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}}
    )
    clouds.script({"status": 429, "error": "ThrottlingException", "message": "slow down"}, {})
    message, headers = claude_code_stream(relay, "cross")
    assert message.content[-1].type == "text" and headers["x-relay-provider"] == "gcp"
    assert headers["x-relay-attempts"] == "3"
    clouds.script(
        {"status": 429, "error": "RESOURCE_EXHAUSTED", "message": "Quota exceeded"},
        {"frames": [], "exception": "throttlingException"},
        {"frames": thinking_tool_stream("m")},
    )
    message, headers = claude_code_stream(relay, "cross-back")
    assert message.stop_reason == "tool_use" and headers["x-relay-provider"] == "foundry"
    assert [r["cloud"] for r in clouds.requests()] == ["vertex", "bedrock", "foundry"]


BEDROCK_ERRORS: list[tuple[dict[str, Any], int, str]] = [
    (
        {"status": 400, "error": "ValidationException", "message": "max_tokens: bad"},
        400,
        "invalid_request_error",
    ),
    (
        {"status": 400, "error": "ValidationException", "message": "Input is too long for requested model."},
        400,
        "invalid_request_error",
    ),
    ({"status": 429, "error": "ModelNotReadyException", "message": "warming"}, 529, "overloaded_error"),
    ({"status": 503, "error": "ServiceUnavailableException", "message": "down"}, 529, "overloaded_error"),
    ({"status": 429, "error": "ThrottlingException", "message": "slow"}, 429, "rate_limit_error"),
    ({"status": 403, "error": "AccessDeniedException", "message": "no access"}, 502, "api_error"),
    ({"status": 424, "error": "ModelErrorException", "message": "model failed"}, 502, "api_error"),
]


def test_bedrock_errors_reach_the_client_classified(
    clouds: FakeClouds, fake: FakeUpstream, tmp_path: Path
) -> None:
    """Each error on a provider of its own (the cooldown one leaves must not hide the next)."""
    extra = "".join(
        f"  err{i}:\n    api: bedrock\n    region: us-east-1\n    base_url: {clouds.url}\n"
        for i in range(len(BEDROCK_ERRORS))
    )
    chains = {**CHAINS, **{f"e{i}": f"[err{i}/m]" for i in range(len(BEDROCK_ERRORS))}}
    with served(tmp_path, definitions(clouds, fake, extra, chains), relay_env(clouds)) as relay:
        for i, (step, status, kind) in enumerate(BEDROCK_ERRORS):
            clouds.script(step)
            resp = httpx.post(
                relay.url + "/v1/messages",
                json={"model": f"e{i}", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
                timeout=20,
            )
            error = resp.json()["error"]
            assert (resp.status_code, error["type"]) == (status, kind), resp.text
            if "too long" in step["message"]:
                assert error["message"].startswith("prompt is too long")


@pytest.mark.parametrize(
    ("chain", "label"), [("bedrock", "upstream"), ("vertex", "upstream"), ("aoai", "estimate")]
)
def test_count_tokens_uses_the_cloud_endpoint(
    relay: Relay, clouds: FakeClouds, chain: str, label: str
) -> None:
    clouds.script()
    resp = httpx.post(
        relay.url + "/v1/messages/count_tokens",
        json={"model": chain, "messages": [{"role": "user", "content": "count me"}]},
        timeout=20,
    )
    assert resp.status_code == 200 and resp.headers["x-relay-token-count"] == label
    assert isinstance(resp.json()["input_tokens"], int)
    sent = clouds.requests()
    if chain == "bedrock":
        assert sent[0]["path"] == f"/model/{BEDROCK_MODEL}/count-tokens"
    if chain == "vertex":
        assert sent[0]["path"].endswith("/models/count-tokens:rawPredict")
        assert sent[0]["body"]["model"] == VERTEX_MODEL


def test_azure_remaining_zero_is_skipped_without_a_call(relay: Relay, clouds: FakeClouds) -> None:
    clouds.script({"headers": {"x-ratelimit-remaining-requests": "0", "retry-after-ms": "30000"}}, {})
    oai = openai_client(relay)
    chat = {"model": "azure-pair", "messages": [{"role": "user", "content": "hi"}]}
    first = oai.chat.completions.with_raw_response.create(**chat)  # type: ignore[call-overload]
    assert first.headers["x-relay-provider"] == "aoai"
    second = oai.chat.completions.with_raw_response.create(**chat)  # type: ignore[call-overload]
    assert second.headers["x-relay-provider"] == "foundry"
    assert "aoai/gpt-4o: key exhausted" in second.headers["x-relay-skipped"]
    assert [r["cloud"] for r in clouds.requests()] == ["azure-openai", "foundry"]


def test_wrong_aws_secret_is_rejected_by_the_fake(
    clouds: FakeClouds, fake: FakeUpstream, tmp_path: Path
) -> None:
    env = relay_env(clouds, AWS_SECRET_ACCESS_KEY="not-the-secret")
    with served(tmp_path, definitions(clouds, fake), env) as wrong:
        clouds.script()
        resp = httpx.post(
            wrong.url + "/v1/messages",
            json={"model": "bedrock", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
            timeout=20,
        )
    message = resp.json()["error"]["message"]
    assert (
        resp.status_code == 502 and "InvalidSignatureException" in message and "signature mismatch" in message
    )


def test_vertex_rejects_missing_and_unknown_tokens(clouds: FakeClouds) -> None:
    """The fake checks what Vertex checks (so the tests above prove relay sent a real token)."""
    url = clouds.url + "/v1/projects/relay-test-1/locations/us-east5/publishers/anthropic/models/m:rawPredict"
    body = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 5, "messages": []}
    for headers in ({}, {"authorization": "Bearer made-up"}):
        resp = httpx.post(url, json=body, headers=headers, timeout=5)
        assert resp.status_code == 401 and resp.json()["error"]["status"] == "UNAUTHENTICATED"


def test_google_tokens_are_refreshed_in_the_background(fake: FakeUpstream, tmp_path: Path) -> None:
    """4-second tokens: the worker fetches new ones before the old expire, with no request
    asking; a request after that carries a fresh token, and the first one is dead by then."""
    with fake_clouds(tmp_path, token_lifetime=4.0) as short:
        defs = definitions(short, fake, chain_steps={"vertex": CHAINS["vertex"]})
        with served(tmp_path / "relay", defs, relay_env(short)) as relay:
            client = anthropic_client(relay)
            ask = {"model": "vertex", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
            client.messages.create(**ask)  # type: ignore[call-overload]
            first = short.requests()[0]["headers"]["Authorization"]
            issued = short.tokens_issued("google")
            wait_until(
                lambda: short.tokens_issued("google") >= issued + 2, "two background refreshes", timeout=20
            )
            short.script()
            client.messages.create(**ask)  # type: ignore[call-overload]
            latest = short.requests()[0]["headers"]["Authorization"]
        url = (
            short.url
            + "/v1/projects/relay-test-1/locations/us-east5/publishers/anthropic/models/m:rawPredict"
        )
        body = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 5, "messages": []}
        expired = httpx.post(url, json=body, headers={"authorization": first}, timeout=5)
    assert latest != first and latest.startswith("Bearer google-token-")
    assert expired.status_code == 401


def test_health_probe_goes_through_the_cloud_transport(
    clouds: FakeClouds, fake: FakeUpstream, tmp_path: Path
) -> None:
    """`health.interval` on a cloud provider probes with a signed one-token generation."""
    defs = definitions(clouds, fake, chain_steps={"bedrock": CHAINS["bedrock"]})
    defs = defs.replace(
        f"    region: us-east-1\n    base_url: {clouds.url}\n    timeouts:",
        f"    region: us-east-1\n    base_url: {clouds.url}\n    health: {{interval: 1s}}\n    timeouts:",
        1,
    )
    clouds.script()
    with served(tmp_path, defs, relay_env(clouds)):
        wait_until(lambda: any(r["cloud"] == "bedrock" for r in clouds.requests()), "a probe", timeout=20)
    probe = next(r for r in clouds.requests() if r["cloud"] == "bedrock")
    assert probe["path"] == f"/model/{BEDROCK_MODEL}/invoke" and probe["body"]["max_tokens"] == 1
    assert probe["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")

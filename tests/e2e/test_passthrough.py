"""Same-format passthrough through a real `relay run`, with the official SDKs as clients."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from tests.e2e.conftest import RelayFactory
from tests.e2e.procs import FakeUpstream, Relay, anthropic_client, openai_client, stream_raw
from tests.e2e.sse import (
    WEATHER_TOOL_ANTHROPIC,
    WEATHER_TOOL_OPENAI,
    anthropic_tool_message,
    anthropic_tool_stream,
    openai_tool_completion,
    openai_tool_stream,
    stream_body,
)

pytestmark = pytest.mark.e2e
_top = msgspec.json.Decoder(dict[str, msgspec.Raw])


def test_anthropic_text_round_trip_forwards_headers_and_rewrites_model(
    basic_relay: Relay, fake: FakeUpstream
) -> None:
    fake.script({"text": "hi from upstream"})
    client = anthropic_client(
        basic_relay,
        default_headers={
            "anthropic-beta": "claude-code-20250219,future-beta-2099-01-01",
            "X-Claude-Code-Session-Id": "sess-1",
        },
    )
    raw = client.messages.with_raw_response.create(
        model="claude-sonnet-4-6",
        max_tokens=50,
        messages=[{"role": "user", "content": "hello"}],
        extra_body={"some_future_field": {"kept": True}},
    )
    message = raw.parse()
    assert message.content[0].text == "hi from upstream"  # type: ignore[union-attr]
    assert message.model == "claude-sonnet-4-6"
    assert raw.headers["x-relay-chain"] == "claude" and raw.headers["x-relay-provider"] == "anth_a"
    assert raw.headers["request-id"].startswith("req_")
    assert float(raw.headers["x-relay-overhead-ms"]) >= 0
    seen = fake.requests()[-1]
    assert seen["body"]["model"] == "claude-up-a"
    assert seen["body"]["some_future_field"] == {"kept": True}
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-api-key"] == "test-upstream-key-a"
    assert headers["anthropic-beta"] == "claude-code-20250219,future-beta-2099-01-01"
    assert headers["x-claude-code-session-id"] == "sess-1"
    assert "authorization" not in headers and "unused-client-key" not in str(headers)
    assert not any(k.startswith("x-stainless") for k in headers)


def test_every_value_and_anthropic_header_reaches_the_upstream_byte_for_byte(
    basic_relay: Relay, fake: FakeUpstream
) -> None:
    """Passthrough to a model the sampling table does not know fixes nothing: sampling
    parameters a model may refuse (both `temperature` and `top_p`), fields relay has never
    heard of, odd number spellings and escapes all reach the upstream as the client wrote
    them; only `model` is the step's."""
    fake.script({})
    raw = (
        b'{"model": "claude-x", "max_tokens": 5, "temperature": 0.50, "top_p": 1e0, "top_k": 7,'
        b' "messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "text",'
        b' "media_type": "text/plain", "data": "caf\\u00e9"}, "citations": {"enabled": true}}]}],'
        b' "future_field": {"nested": [1, 2.0, "\\ud83d\\ude00"]}, "context_management": {"edits": []}}'
    )
    headers = {
        "x-api-key": "unused-client-key",
        "content-type": "application/json",
        "anthropic-version": "2026-10-21",
        "anthropic-beta": "future-beta-2099-01-01, context-management-2025-06-27",
        "anthropic-future-header": "kept as is",
    }
    response = httpx.post(basic_relay.url + "/v1/messages", content=raw, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert "x-relay-dropped" not in response.headers
    seen = fake.requests()[-1]
    sent, got = _top.decode(raw), _top.decode(seen["raw"].encode())
    assert got.keys() == sent.keys()
    assert {k: bytes(v) for k, v in got.items() if k != "model"} == {
        k: bytes(v) for k, v in sent.items() if k != "model"
    }
    assert bytes(got["model"]) == b'"claude-up-a"'
    upstream = {k.lower(): v for k, v in seen["headers"].items()}
    for name in ("anthropic-version", "anthropic-beta", "anthropic-future-header"):
        assert upstream[name] == headers[name]


FITTED = """\
version: 1
providers:
  anth:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_A}}"]
chains:
  claude:
    match: ["claude-*"]
    steps: [anth/claude-opus-4-7]
"""


def test_a_step_model_that_refuses_sampling_gets_none_and_the_client_is_told(
    fake: FakeUpstream, start_relay: RelayFactory
) -> None:
    """The chain's step (Opus 4.7 takes no sampling parameter) is not the model the client
    named (Sonnet 4.5 takes `temperature`): relay leaves out what the step would 400 on and
    says so; every other byte goes as written."""
    with start_relay({"relay.yaml": FITTED.format(url=fake.url)}) as relay:
        fake.script({"text": "ok"})
        raw = anthropic_client(relay).messages.with_raw_response.create(
            model="claude-sonnet-4-5",
            max_tokens=5,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"temperature": 0.3, "top_k": 4, "future_field": [1]},
            extra_headers={"anthropic-version": "2023-06-01"},
        )
        assert raw.headers["x-relay-dropped"] == "temperature, top_k"
        sent = fake.requests()[-1]["body"]
        assert "temperature" not in sent and "top_k" not in sent
        assert sent["future_field"] == [1] and sent["model"] == "claude-opus-4-7"


@pytest.mark.parametrize("version", ["2023-06-01", "2026-10-21"])
def test_both_anthropic_versions_are_forwarded_unchanged(
    basic_relay: Relay, fake: FakeUpstream, version: str
) -> None:
    fake.script({})
    client = anthropic_client(basic_relay, default_headers={"anthropic-version": version})
    client.messages.create(model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "v"}])
    headers = {k.lower(): v for k, v in fake.requests()[-1]["headers"].items()}
    assert headers["anthropic-version"] == version


def test_anthropic_streaming_tool_use_keeps_ids_and_matches_non_streaming(
    basic_relay: Relay, fake: FakeUpstream
) -> None:
    fake.script(
        {"frames": anthropic_tool_stream("claude-up-a")}, {"body": anthropic_tool_message("claude-up-a")}
    )
    client = anthropic_client(basic_relay)
    kwargs = {
        "model": "claude-opus-4",
        "max_tokens": 100,
        "tools": [WEATHER_TOOL_ANTHROPIC],
        "messages": [{"role": "user", "content": "weather in Paris?"}],
    }
    with client.messages.stream(**kwargs) as stream:  # type: ignore[arg-type]
        streamed = stream.get_final_message()
    whole = client.messages.create(**kwargs)  # type: ignore[arg-type]
    assert streamed.model_dump(exclude={"id"}) == whole.model_dump(exclude={"id"})
    tool = streamed.content[1]
    assert tool.type == "tool_use" and tool.id == "toolu_01AbC" and tool.input == {"city": "Paris"}
    assert streamed.model == "claude-opus-4" and streamed.stop_reason == "tool_use"
    assert streamed.usage.cache_read_input_tokens == 5 and streamed.usage.output_tokens == 30


def test_stream_bytes_pass_through_unchanged_except_model(basic_relay: Relay, fake: FakeUpstream) -> None:
    frames = anthropic_tool_stream("claude-up-a")
    fake.script({"frames": frames})
    body = stream_body("claude-up-a")
    data = stream_raw(basic_relay, body, "/v1/messages?beta=true")
    assert data == "".join(frames).encode()


def test_streams_one_after_another_reuse_one_upstream_connection(
    basic_relay: Relay, fake: FakeUpstream
) -> None:
    """relay reads a stream on to its body's end after the last event, so the connection goes
    back to the pool; closing it at the last event cost a new TCP connection per stream. The
    fake ends each body 10 ms after its last event (the chunked end mark comes apart)."""
    fake.script(*[{"frame_delay": 0.01}] * 8)
    for _ in range(8):
        assert stream_raw(basic_relay, stream_body("claude-up-a"))
    streams = [r for r in fake.requests() if r["path"] == "/v1/messages"][-8:]
    assert len(streams) == 8
    assert len({r["peer"] for r in streams}) == 1


def test_openai_text_and_streaming_tool_calls(basic_relay: Relay, fake: FakeUpstream) -> None:
    fake.script(
        {"text": "plain"},
        {"frames": openai_tool_stream("llama-up-a")},
        {"body": openai_tool_completion("llama-up-a")},
    )
    client = openai_client(basic_relay)
    first = client.chat.completions.create(model="free", messages=[{"role": "user", "content": "hi"}])
    assert first.choices[0].message.content == "plain" and first.model == "free"
    kwargs = {
        "model": "free",
        "tools": [WEATHER_TOOL_OPENAI],
        "messages": [{"role": "user", "content": "weather?"}],
    }
    with client.chat.completions.stream(**kwargs, stream_options={"include_usage": True}) as stream:  # type: ignore[arg-type]
        final = stream.get_final_completion()
    whole = client.chat.completions.create(**kwargs)  # type: ignore[arg-type]
    call = final.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.id == "call_Xy9" and call.function.arguments == '{"city": "Paris"}'
    assert whole.choices[0].message.tool_calls[0].id == "call_Xy9"  # type: ignore[index]
    assert final.usage is not None and final.usage.total_tokens == 50
    assert final.model == "free"
    seen = fake.requests()
    assert [r["body"]["model"] for r in seen] == ["llama-up-a"] * 3
    assert {k.lower(): v for k, v in seen[0]["headers"].items()}[
        "authorization"
    ] == "Bearer test-upstream-key-o"


def test_models_endpoint_answers_in_each_shape(basic_relay: Relay) -> None:
    anthropic_ids = [m.id for m in anthropic_client(basic_relay).models.list()]
    openai_ids = [m.id for m in openai_client(basic_relay).models.list()]
    assert anthropic_ids == openai_ids == ["claude", "free"]


def test_count_tokens_uses_the_upstream_endpoint(basic_relay: Relay) -> None:
    raw = anthropic_client(basic_relay).messages.with_raw_response.count_tokens(
        model="claude-x", messages=[{"role": "user", "content": "count me"}]
    )
    assert raw.parse().input_tokens == 42 and raw.headers["x-relay-token-count"] == "upstream"


def test_the_client_query_string_reaches_a_same_format_upstream(
    basic_relay: Relay, fake: FakeUpstream
) -> None:
    """Claude Code sends `?beta=true` on both endpoints; going direct, Anthropic sees it."""
    fake.script({}, {})
    body = {"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    for path in ("/v1/messages?beta=true", "/v1/messages/count_tokens?beta=true"):
        assert httpx.post(basic_relay.url + path, json=body, timeout=10).status_code == 200
    assert [(r["path"], r["query"]) for r in fake.requests()] == [
        ("/v1/messages", "beta=true"),
        ("/v1/messages/count_tokens", "beta=true"),
    ]

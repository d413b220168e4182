"""`openai-responses` steps through a real `relay run`: a `/v1/responses` request passed
through byte for byte but `model` (the openai SDK's `client.responses.create()`, streaming and
not), the upstream's own failure events passed on, relay's own ending a broken stream as
`response.failed`; and the other clients translated onto it: the openai SDK's chat
completions and the anthropic SDK, streaming and not, with a tool round trip, and a 429 on the
Responses step falling over to a chat step."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import UPSTREAM_KEYS
from tests.e2e.fake_upstream import default_stream, whole_answer
from tests.e2e.procs import FakeUpstream, Relay, anthropic_client, openai_client, served, stream_raw
from tests.e2e.test_responses import EXEC_TOOL, _events, answered, call_turn

pytestmark = pytest.mark.e2e

DEFS = """\
version: 1
providers:
  native:
    api: openai-responses
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
  oai:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_A}}"]
chains:
  on-responses:
    steps: [native/gpt-native]
  native-first:
    steps: [native/gpt-native, oai/gpt-chat]
"""
CHAT_TOOL = {
    "type": "function",
    "function": {"name": "exec_command", "parameters": EXEC_TOOL["parameters"]},
}
CALL = {"id": "call_n1", "name": "exec_command", "input": {"cmd": "echo hi"}}


@pytest.fixture(scope="module")
def relay(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    with served(tmp_path_factory.mktemp("native"), DEFS.format(url=fake.url), UPSTREAM_KEYS) as r:
        yield r


def _renamed(data: bytes) -> bytes:
    return data.replace(b'"model": "gpt-native"', b'"model": "on-responses"')


def test_a_responses_request_passes_through_byte_for_byte(relay: Relay, fake: FakeUpstream) -> None:
    """The client's body reaches the upstream as sent (Codex's reasoning items, namespace and
    built-in tools included, which a chat step would have dropped) but `model`; the answer
    comes back as the upstream wrote it but `model`, frames and sequence numbers included."""
    fake.script({"text": "Hello there."}, {"text": "Hello there."})
    namespace = {"type": "namespace", "name": "agents", "description": "d", "tools": [EXEC_TOOL]}
    body: dict[str, Any] = {
        "model": "on-responses",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "opaque"},
        ],
        "tools": [EXEC_TOOL, {"type": "web_search"}, namespace],
        "include": ["reasoning.encrypted_content"],
        "store": False,
        "stream": True,
    }
    raw = stream_raw(relay, body, "/v1/responses")
    assert raw == _renamed(b"".join(default_stream("responses", "gpt-native", "Hello there.")))
    sent = fake.requests()[-1]
    assert sent["path"] == "/v1/responses" and sent["body"] == {**body, "model": "gpt-native"}
    assert sent["headers"]["Authorization"] == "Bearer " + UPSTREAM_KEYS["UP_KEY_O"]
    whole = httpx.post(relay.url + "/v1/responses", json={**body, "stream": False}, timeout=20)
    assert whole.status_code == 200, whole.text
    assert "x-relay-dropped-tools" not in whole.headers
    assert whole.json() == {
        **whole_answer("responses", "gpt-native", "Hello there."),
        "model": "on-responses",
    }


@pytest.mark.parametrize("stream", [False, True])
def test_the_openai_sdk_responses_api_on_a_responses_step(
    relay: Relay, fake: FakeUpstream, stream: bool
) -> None:
    fake.script({"tool_call": CALL, "text": ""}, {"text": "It printed hi."})
    client = openai_client(relay)
    kwargs: dict[str, Any] = {"model": "on-responses", "tools": [EXEC_TOOL], "input": "run echo hi"}
    first, call = call_turn(client, kwargs, stream)
    assert call.call_id == "call_n1" and json.loads(call.arguments) == CALL["input"]
    assert first.model == "on-responses"
    history = answered("run echo hi", call)
    second = client.responses.create(**{**kwargs, "input": history})
    assert second.output_text == "It printed hi."
    assert second.usage is not None and second.usage.input_tokens_details.cached_tokens == 4
    assert fake.requests()[-1]["body"]["input"][2] == history[2]


def test_upstream_failure_events_pass_and_a_broken_stream_ends_in_response_failed(
    relay: Relay, fake: FakeUpstream
) -> None:
    fake.script({"error_after_text": "partial", "pause": 0})
    events = _events(
        stream_raw(relay, {"model": "on-responses", "input": "hi", "stream": True}, "/v1/responses")
    )
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["message"] == "upstream failed mid-stream"
    fake.script({"error_after_text": "partial", "pause": 0, "drop": True})
    events = _events(
        stream_raw(relay, {"model": "on-responses", "input": "hi", "stream": True}, "/v1/responses")
    )
    assert next(e for e in events if e["type"] == "response.output_text.delta")["delta"] == "partial"
    last = events[-1]  # relay's own, numbered after the upstream's last event
    assert last["type"] == "response.failed" and last["response"]["status"] == "failed"
    assert last["response"]["id"] == "resp_fake1" and last["response"]["model"] == "on-responses"
    message = last["response"]["error"]["message"]  # the drop as aiohttp saw it, or as a clean EOF
    assert message.startswith("native: connection lost") or "closed the stream" in message, message


@pytest.mark.parametrize("stream", [False, True])
def test_a_chat_client_on_a_responses_step(relay: Relay, fake: FakeUpstream, stream: bool) -> None:
    fake.script({"tool_call": CALL, "text": ""}, {"text": "It printed hi."})
    client = openai_client(relay)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "run echo hi"},
    ]
    kwargs: dict[str, Any] = {"model": "on-responses", "messages": messages, "tools": [CHAT_TOOL]}
    if stream:
        chunks = list(
            client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
        )
        calls = [c.choices[0].delta.tool_calls for c in chunks if c.choices and c.choices[0].delta.tool_calls]
        call_id, name = calls[0][0].id, calls[0][0].function.name  # type: ignore[union-attr]
        arguments = "".join(c[0].function.arguments or "" for c in calls)  # type: ignore[union-attr]
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
        assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 10
    else:
        answer = client.chat.completions.create(**kwargs)
        assert answer.choices[0].finish_reason == "tool_calls" and answer.model == "on-responses"
        tool_call = answer.choices[0].message.tool_calls[0]  # type: ignore[index]
        call_id, name, arguments = tool_call.id, tool_call.function.name, tool_call.function.arguments  # type: ignore[union-attr]
        assert answer.usage is not None and answer.usage.prompt_tokens_details.cached_tokens == 4  # type: ignore[union-attr]
    assert call_id == "call_n1" and name == "exec_command" and json.loads(arguments) == CALL["input"]
    sent = fake.requests()[-1]["body"]
    assert sent["model"] == "gpt-native" and sent["store"] is False
    assert sent["input"][0] == {"type": "message", "role": "system", "content": "Be brief."}
    assert sent["tools"] == [
        {"type": "function", "name": "exec_command", "parameters": EXEC_TOOL["parameters"]}
    ]
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    history = [
        *messages,
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": "hi\n"},
    ]
    second = client.chat.completions.create(**{**kwargs, "messages": history})
    assert second.choices[0].message.content == "It printed hi."
    back = fake.requests()[-1]["body"]["input"]
    assert back[2] == {
        "type": "function_call",
        "call_id": "call_n1",
        "name": "exec_command",
        "arguments": arguments,
    }
    assert back[3] == {"type": "function_call_output", "call_id": "call_n1", "output": "hi\n"}


@pytest.mark.parametrize("stream", [False, True])
def test_an_anthropic_client_on_a_responses_step(relay: Relay, fake: FakeUpstream, stream: bool) -> None:
    fake.script({"tool_call": CALL, "text": "Running it."})
    client = anthropic_client(relay)
    tool = {"name": "exec_command", "input_schema": EXEC_TOOL["parameters"]}
    kwargs: dict[str, Any] = {
        "model": "on-responses",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "run echo hi"}],
        "tools": [tool],
    }
    if stream:
        with client.messages.stream(**kwargs) as s:
            message = s.get_final_message()
    else:
        message = client.messages.create(**kwargs)
    assert message.stop_reason == "tool_use" and message.model == "on-responses"
    assert [b.type for b in message.content] == ["text", "tool_use"]
    assert message.content[0].text == "Running it."  # type: ignore[union-attr]
    assert message.content[1].input == CALL["input"] and message.content[1].id == "call_n1"  # type: ignore[union-attr]
    assert message.usage.output_tokens == 3
    sent = fake.requests()[-1]["body"]
    assert sent["input"] == [{"type": "message", "role": "user", "content": "run echo hi"}]
    assert sent["max_output_tokens"] == 100


def test_a_429_on_the_responses_step_falls_over_to_chat(relay: Relay, fake: FakeUpstream) -> None:
    limited = {
        "status": 429,
        "headers": {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20s"},
        "body": {"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}},
    }
    fake.script(limited, {"text": "from chat"})
    resp = httpx.post(relay.url + "/v1/responses", json={"model": "native-first", "input": "hi"}, timeout=20)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-relay-provider"] == "oai" and resp.headers["x-relay-attempts"] == "2"
    assert resp.json()["output"][0]["content"][0]["text"] == "from chat"
    assert [r["path"] for r in fake.requests()[-2:]] == ["/v1/responses", "/v1/chat/completions"]

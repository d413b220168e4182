"""`POST /v1/responses` through a real `relay run`: the openai SDK's `client.responses.create()`
on Anthropic-format and Chat Completions steps, streaming and not, with tools, failover and
mid-stream failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import openai
import pytest

from tests.e2e.conftest import UPSTREAM_KEYS
from tests.e2e.procs import FakeUpstream, Relay, openai_client, served, stream_raw, wait_until

pytestmark = pytest.mark.e2e

DEFS = """\
version: 1
providers:
  oai:
    api: openai
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
  anth:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_A}}"]
  anth-b:
    api: anthropic
    base_url: {url}
    keys: ["${{UP_KEY_B}}"]
  native:
    api: openai-responses
    base_url: {url}/v1
    keys: ["${{UP_KEY_O}}"]
chains:
  on-anthropic:
    steps: [anth/claude-up]
  on-chat:
    steps: [oai/gpt-up]
  on-responses:
    steps: [native/gpt-native]
  failover:
    steps: [anth-b/claude-first, oai/gpt-second]
  alternating:
    strategy: round-robin
    steps: [anth/claude-a, oai/gpt-b]
"""

RATE_429 = {
    "status": 429,
    "headers": {"retry-after": "30"},
    "body": {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
}
EXEC_TOOL = {
    "type": "function",
    "name": "exec_command",
    "description": "Runs a command.",
    "strict": False,
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
}
STEPS = ["on-anthropic", "on-chat"]


@pytest.fixture(scope="module")
def relay(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    with served(tmp_path_factory.mktemp("responses"), DEFS.format(url=fake.url), UPSTREAM_KEYS) as r:
        yield r


def _events(raw: bytes) -> list[dict[str, Any]]:
    events = []
    for block in raw.decode().split("\n\n"):
        lines = block.strip().splitlines()
        if not lines or lines[0].startswith(":"):
            continue
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        event = json.loads(lines[1][6:])
        assert event["type"] == lines[0][7:]
        events.append(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


@pytest.mark.parametrize("chain", STEPS)
def test_plain_prompt_streaming_and_not(relay: Relay, fake: FakeUpstream, chain: str) -> None:
    fake.script({"text": "Hello there."}, {"text": "Hello there."})
    client = openai_client(relay)
    whole = client.responses.create(model=chain, input="hi", instructions="Be brief.")
    assert whole.output_text == "Hello there." and whole.status == "completed" and whole.model == chain
    assert whole.usage is not None and whole.usage.input_tokens > 0 and whole.usage.output_tokens == 3
    with client.responses.stream(model=chain, input="hi", instructions="Be brief.") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "Hello there." and final.output_text == "Hello there."
    assert final.usage is not None and final.usage.model_dump() == whole.usage.model_dump()
    sent = fake.requests()[-1]["body"]
    if chain == "on-anthropic":
        assert sent["system"] == "Be brief." and sent["messages"] == [{"role": "user", "content": "hi"}]
    else:
        assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
        assert sent["stream_options"] == {"include_usage": True}


class Turn(NamedTuple):
    response: Any
    output: Any
    """Its function call."""


def call_turn(client: openai.OpenAI, kwargs: dict[str, Any], stream: bool) -> Turn:
    """A first turn that calls a function, streamed (its argument deltas adding up to the
    call's arguments) or not."""
    if stream:
        with client.responses.stream(**kwargs) as s:
            deltas = "".join(e.delta for e in s if e.type == "response.function_call_arguments.delta")
            response = s.get_final_response()
    else:
        response = client.responses.create(**kwargs)
    call = next(item for item in response.output if item.type == "function_call")
    assert not stream or deltas == call.arguments
    return Turn(response, call)


def answered(prompt: str, call: Any) -> list[dict[str, Any]]:
    """The conversation after `call` ran and printed `hi`."""
    return [
        {"role": "user", "content": prompt},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "hi\n"},
    ]


@pytest.mark.parametrize("chain", STEPS)
@pytest.mark.parametrize("stream", [False, True])
def test_function_call_round_trip(relay: Relay, fake: FakeUpstream, chain: str, stream: bool) -> None:
    fake.script(
        {"tool_call": {"id": "call_1", "name": "exec_command", "input": {"cmd": "echo hi"}}, "text": ""},
        {"text": "It printed hi."},
    )
    client = openai_client(relay)
    kwargs: dict[str, Any] = {"model": chain, "tools": [EXEC_TOOL], "input": "run echo hi"}
    call = call_turn(client, kwargs, stream).output
    assert call.name == "exec_command" and json.loads(call.arguments) == {"cmd": "echo hi"}
    assert call.call_id == "call_1"
    history = answered("run echo hi", call)
    second = client.responses.create(**{**kwargs, "input": history})
    assert second.output_text == "It printed hi."
    sent = fake.requests()[-1]["body"]["messages"]
    if chain == "on-anthropic":
        assert sent[1]["content"][-1]["type"] == "tool_use" and sent[1]["content"][-1]["id"] == "call_1"
        assert sent[2]["content"][0]["tool_use_id"] == "call_1"
    else:
        assert sent[1]["tool_calls"][0]["id"] == "call_1"
        assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "hi\n"}


def test_429_on_the_first_step_falls_over(relay: Relay, fake: FakeUpstream) -> None:
    fake.script(RATE_429, {"text": "from the second step"})
    with httpx.stream(
        "POST",
        relay.url + "/v1/responses",
        json={"model": "failover", "input": "hi", "stream": True},
        timeout=20,
    ) as resp:
        raw = b"".join(resp.iter_raw())
        assert resp.status_code == 200
        assert resp.headers["x-relay-attempts"] == "2" and resp.headers["x-relay-provider"] == "oai"
    events = _events(raw)
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "from the second step"


@pytest.mark.parametrize("chain", STEPS)
def test_mid_stream_failure_ends_with_response_failed(relay: Relay, fake: FakeUpstream, chain: str) -> None:
    fake.script({"error_after_text": "partial", "pause": 0})
    events = _events(stream_raw(relay, {"model": chain, "input": "hi", "stream": True}, "/v1/responses"))
    assert next(e for e in events if e["type"] == "response.output_text.delta")["delta"] == "partial"
    last = events[-1]
    assert last["type"] == "response.failed" and last["response"]["status"] == "failed"
    assert "upstream failed mid-stream" in last["response"]["error"]["message"]
    assert not any(e["type"] == "response.completed" for e in events)


def test_errors_are_responses_shaped(relay: Relay, fake: FakeUpstream) -> None:
    client = openai_client(relay)
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="on-chat", input="hi", previous_response_id="resp_1")
    assert bad.value.body["param"] == "previous_response_id"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as unknown:
        client.responses.create(model="on-chat", input=[{"type": "item_reference", "id": "x"}])  # type: ignore[list-item]
    assert unknown.value.body["param"] == "input[0].type"  # type: ignore[index]
    fake.script({"status": 400, "body": {"error": {"message": "bad thing", "type": "invalid_request_error"}}})
    with pytest.raises(openai.BadRequestError) as upstream:
        client.responses.create(model="on-chat", input="hi")
    assert "bad thing" in upstream.value.message


def test_tools_no_step_can_run_are_dropped_and_named(relay: Relay, fake: FakeUpstream) -> None:
    fake.script({"text": "ok"})
    namespace = {"type": "namespace", "name": "agents", "description": "d", "tools": [EXEC_TOOL]}
    resp = httpx.post(
        relay.url + "/v1/responses",
        json={"model": "on-chat", "input": "hi", "tools": [EXEC_TOOL, {"type": "web_search"}, namespace]},
        timeout=20,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-relay-dropped-tools"] == "web_search, namespace:agents"
    assert [t["function"]["name"] for t in fake.requests()[-1]["body"]["tools"]] == ["exec_command"]


def test_prompt_cache_key_or_the_session_header_names_the_conversation(
    relay: Relay, fake: FakeUpstream
) -> None:
    """Round-robin turns once per request (anth, oai, anth, …); the second of each pair
    would go to oai, so only affinity keeps a conversation's different openings together."""
    fake.script()

    def provider(opening: str, key: str | None = None, session: str | None = None) -> str:
        body = {"model": "alternating", "input": opening, **({"prompt_cache_key": key} if key else {})}
        headers = {"session-id": session} if session else {}
        resp = httpx.post(relay.url + "/v1/responses", json=body, headers=headers, timeout=20)
        assert resp.status_code == 200, resp.text
        return resp.headers["x-relay-provider"]

    assert provider("one", key="conv-1") == "anth"
    assert provider("two", key="conv-1") == "anth"  # a new opening, the same key: it sticks
    assert provider("one", key="conv-2") == "anth"
    assert provider("one", key="conv-3") == "oai"  # a new conversation takes its turn
    assert provider("four", session="sess-1") == "anth"
    assert provider("five", session="sess-1") == "anth"  # Codex's session-id header, no key


def test_prompt_cache_key_must_be_a_string(relay: Relay) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        openai_client(relay).responses.create(model="on-chat", input="x", prompt_cache_key=7)  # type: ignore[arg-type]
    assert bad.value.body["param"] == "prompt_cache_key"  # type: ignore[index]


def test_records_and_metrics_name_the_responses_api(relay: Relay, fake: FakeUpstream) -> None:
    fake.script({"text": "ok"})
    assert httpx.post(
        relay.url + "/v1/responses", json={"model": "on-chat", "input": "hi"}, timeout=20
    ).is_success

    def counted() -> bool:
        text = httpx.get(relay.url + "/metrics", timeout=10).text
        return 'format="responses"' in text and 'chain="on-chat"' in text

    wait_until(counted, timeout=10, what="a relay_requests sample with format=responses")


def test_sampling_an_anthropic_step_refuses_is_left_out_and_named(relay: Relay, fake: FakeUpstream) -> None:
    """Responses → chat → Anthropic: the O→A step fits sampling to the model like any chat
    request (`claude-up`, unknown to the table: not `temperature` with `top_p`)."""
    fake.script({"text": "ok"})
    raw = openai_client(relay).responses.with_raw_response.create(
        model="on-anthropic", input="hi", temperature=0.2, top_p=0.5
    )
    assert raw.headers["x-relay-dropped"] == "top_p"
    sent = fake.requests()[-1]["body"]
    assert sent["temperature"] == 0.2 and "top_p" not in sent


def test_compaction_is_refused_with_a_clear_responses_error(relay: Relay) -> None:
    resp = httpx.post(
        relay.url + "/v1/responses/compact", json={"model": "on-responses", "input": []}, timeout=20
    )
    assert resp.status_code == 404
    error = resp.json()["error"]
    assert error["code"] == "not_found" and "/v1/responses/compact" in error["message"]
    assert "compacts through /v1/responses" in error["message"]

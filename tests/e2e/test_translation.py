"""Cross-format chains through a real `relay run`: the client never sees the upstream's format."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import openai
import pytest

from tests.e2e.conftest import UPSTREAM_KEYS
from tests.e2e.procs import FakeUpstream, Relay, anthropic_client, openai_client, served, stream_raw
from tests.e2e.sse import (
    WEATHER_TOOL_ANTHROPIC,
    WEATHER_TOOL_OPENAI,
    anthropic_tool_message,
    anthropic_tool_stream,
    frame,
    openai_tool_completion,
    openai_tool_stream,
    stream_body,
)

pytestmark = pytest.mark.e2e

CROSS = """\
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
models:
  text-only:
    capabilities: [tools, stream]
    providers: {{oai: llama-text}}
chains:
  claude:
    match: ["claude-*"]
    steps: [oai/llama-up]
  gpt:
    steps: [anth/claude-up]
  text:
    steps: [oai/text-only]
  docs:
    match: ["doc-*"]
    steps: [oai/llama-up, anth/claude-up]
"""


@pytest.fixture(scope="module")
def cross(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    with served(tmp_path_factory.mktemp("cross"), CROSS.format(url=fake.url), UPSTREAM_KEYS) as relay:
        yield relay


def test_claude_code_tool_round_trip_on_an_openai_upstream(cross: Relay, fake: FakeUpstream) -> None:
    fake.script(
        {"frames": openai_tool_stream("llama-up")},
        {"body": openai_tool_completion("llama-up")},
        {"text": "Sunny."},
    )
    client = anthropic_client(cross)
    kwargs = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 200,
        "tools": [WEATHER_TOOL_ANTHROPIC],
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=1; cch=abcde;"},
            {"type": "text", "text": "You are helpful."},
        ],
        "messages": [{"role": "user", "content": "weather in Paris?"}],
    }
    with client.messages.stream(**kwargs) as stream:  # type: ignore[arg-type]
        streamed = stream.get_final_message()
    whole = client.messages.create(**kwargs)  # type: ignore[arg-type]
    assert streamed.model_dump(exclude={"id"}) == whole.model_dump(exclude={"id"})
    assert streamed.model == "claude-sonnet-4-6" and streamed.stop_reason == "tool_use"
    tool = next(b for b in streamed.content if b.type == "tool_use")
    assert tool.id == "call_Xy9" and tool.input == {"city": "Paris"} and tool.name == "get_weather"
    sent = fake.requests()[0]["body"]
    assert sent["model"] == "llama-up" and sent["messages"][0] == {
        "role": "system",
        "content": "You are helpful.",
    }
    assert sent["tools"][0]["function"]["name"] == "get_weather" and sent["stream_options"] == {
        "include_usage": True
    }

    answer = client.messages.create(
        **{
            **kwargs,
            "messages": [
                {"role": "user", "content": "weather in Paris?"},
                {"role": "assistant", "content": [b.model_dump() for b in whole.content]},
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "18C, sun"}],
                },
            ],
        }
    )  # type: ignore[arg-type]
    assert answer.content[0].text == "Sunny."  # type: ignore[union-attr]
    history = fake.requests()[2]["body"]["messages"]
    assert history[2]["tool_calls"][0]["id"] == "call_Xy9"
    assert history[3] == {"role": "tool", "tool_call_id": "call_Xy9", "content": "18C, sun"}


def test_openai_sdk_tool_round_trip_on_an_anthropic_upstream(cross: Relay, fake: FakeUpstream) -> None:
    fake.script(
        {"frames": anthropic_tool_stream("claude-up")},
        {"body": anthropic_tool_message("claude-up")},
        {"text": "Sunny."},
    )
    client = openai_client(cross)
    kwargs = {
        "model": "gpt",
        "tools": [WEATHER_TOOL_OPENAI],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "weather in Paris?"},
        ],
    }
    with client.chat.completions.stream(**kwargs, stream_options={"include_usage": True}) as stream:  # type: ignore[arg-type]
        streamed = stream.get_final_completion()
    whole = client.chat.completions.create(**kwargs)  # type: ignore[arg-type]
    s_msg, w_msg = streamed.choices[0].message, whole.choices[0].message
    assert s_msg.content == w_msg.content == "Checking."
    assert [c.id for c in s_msg.tool_calls or []] == [c.id for c in w_msg.tool_calls or []] == ["toolu_01AbC"]
    s_args, w_args = s_msg.tool_calls[0].function.arguments, w_msg.tool_calls[0].function.arguments  # type: ignore[index]
    assert json.loads(s_args) == json.loads(w_args) == {"city": "Paris"}
    assert streamed.choices[0].finish_reason == whole.choices[0].finish_reason == "tool_calls"
    assert (
        streamed.usage is not None
        and streamed.usage.prompt_tokens == 25
        and streamed.usage.completion_tokens == 30
    )
    assert streamed.model == whole.model == "gpt"
    sent = fake.requests()[1]
    assert sent["body"]["system"] == "Be brief." and sent["body"]["max_tokens"] > 0
    assert {k.lower(): v for k, v in sent["headers"].items()}["anthropic-version"] == "2023-06-01"

    call = w_msg.tool_calls[0]  # type: ignore[index]
    answer = client.chat.completions.create(
        model="gpt",
        tools=[WEATHER_TOOL_OPENAI],
        messages=[  # type: ignore[list-item]
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "18C, sun"},
        ],
    )
    assert answer.choices[0].message.content == "Sunny."
    history = fake.requests()[2]["body"]["messages"]
    assert history[1]["content"][0] == {
        "type": "tool_use",
        "id": "toolu_01AbC",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    assert history[2]["content"][0]["tool_use_id"] == "toolu_01AbC"


def test_sampling_the_anthropic_model_refuses_is_left_out_and_named(cross: Relay, fake: FakeUpstream) -> None:
    """`claude-up` is no model the table knows, so it gets the rule every current model takes:
    not `temperature` with `top_p`. The client learns what was left out."""
    fake.script({"text": "ok"}, {"text": "ok"})
    client = openai_client(cross)
    both = client.chat.completions.with_raw_response.create(
        model="gpt", temperature=1.6, top_p=0.9, messages=[{"role": "user", "content": "hi"}]
    )
    assert both.headers["x-relay-dropped"] == "top_p"
    sent = fake.requests()[-1]["body"]
    assert sent["temperature"] == 1.0 and "top_p" not in sent
    alone = client.chat.completions.with_raw_response.create(
        model="gpt", top_p=0.9, messages=[{"role": "user", "content": "hi"}]
    )
    assert "x-relay-dropped" not in alone.headers
    assert fake.requests()[-1]["body"]["top_p"] == 0.9


def test_upstream_errors_arrive_in_the_clients_format(cross: Relay, fake: FakeUpstream) -> None:
    fake.script(
        {
            "status": 404,
            "body": {"error": {"message": "model llama-up does not exist", "type": "invalid_request_error"}},
        }
    )
    with pytest.raises(anthropic.NotFoundError) as err:
        anthropic_client(cross).messages.create(
            model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert err.value.body["type"] == "error" and "does not exist" in err.value.message  # type: ignore[index]


def test_mid_stream_failure_on_a_translated_stream_ends_with_an_error_event(
    cross: Relay, fake: FakeUpstream
) -> None:
    fake.script({"frames": openai_tool_stream("llama-up"), "drop_after": 3})
    body = stream_body("claude-x")
    data = stream_raw(cross, body)
    assert data.startswith(b"event: message_start") and data.endswith(b"\n\n")
    assert b"event: error\n" in data and b"event: message_stop" not in data


def test_a_request_no_step_can_take_is_a_400_naming_what(cross: Relay, fake: FakeUpstream) -> None:
    fake.script()
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    with pytest.raises(openai.BadRequestError) as err:
        openai_client(cross).chat.completions.create(
            model="text",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64," + image["source"]["data"]},
                        },
                    ],
                }
            ],
        )  # type: ignore[index]
    assert "vision" in str(err.value)
    assert fake.requests() == []
    raw = anthropic_client(cross).messages.with_raw_response.count_tokens(
        model="claude-x", messages=[{"role": "user", "content": "count these words please"}]
    )
    assert raw.headers["x-relay-token-count"] == "estimate" and raw.parse().input_tokens > 0


PDF = {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"}


def test_documents_go_to_the_first_step_that_can_read_them(cross: Relay, fake: FakeUpstream) -> None:
    """A text document becomes a text part on a chat step (its `citations` setting dropped);
    a PDF the chat server cannot take passes that step over for the Anthropic one, which gets
    the block as sent; with no such step the client gets a 400 naming the block."""
    fake.script({"text": "read"}, {"text": "read"})
    client = anthropic_client(cross)
    text_doc = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "the plan"},
        "title": "plan",
        "citations": {"enabled": True},
    }
    client.messages.create(
        model="doc-x",
        max_tokens=5,
        messages=[{"role": "user", "content": [text_doc]}],  # type: ignore[list-item]
    )
    sent = fake.requests()[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["messages"][0]["content"] == "the plan"
    pdf_doc = {"type": "document", "source": PDF, "citations": {"enabled": True}}
    raw = client.messages.with_raw_response.create(
        model="doc-x",
        max_tokens=5,
        messages=[{"role": "user", "content": [pdf_doc]}],  # type: ignore[list-item]
    )
    assert raw.headers["x-relay-provider"] == "anth"
    sent = fake.requests()[-1]
    assert sent["path"] == "/v1/messages" and sent["body"]["messages"][0]["content"] == [pdf_doc]
    before = len(fake.requests())
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(
            model="claude-x",
            max_tokens=5,
            messages=[{"role": "user", "content": [pdf_doc]}],  # type: ignore[list-item]
        )
    assert "messages[0].content[0].source" in err.value.message and "document" in err.value.message
    assert len(fake.requests()) == before


def test_root_count_of_chains_in_models(cross: Relay) -> None:
    assert [m.id for m in openai_client(cross).models.list()] == [
        "claude",
        "docs",
        "gpt",
        "text",
        "text-only",
    ]


def _reasoning_stream(model: str) -> list[str]:
    head = {"id": "chatcmpl-r", "object": "chat.completion.chunk", "created": 1, "model": model}

    def chunk(delta: dict[str, object], finish: str | None = None) -> str:
        return frame(None, {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    return [
        chunk({"role": "assistant", "reasoning_content": "Let me "}),
        chunk({"reasoning_content": "think."}),
        chunk({"content": "Answer."}),
        chunk({}, "stop"),
        "data: [DONE]\n\n",
    ]


def test_reasoning_becomes_thinking_and_never_reaches_anthropic_with_a_forged_signature(
    cross: Relay, fake: FakeUpstream
) -> None:
    fake.script({"frames": _reasoning_stream("llama-up")}, {"text": "Sure."})
    client = anthropic_client(cross)
    thinking = {"type": "enabled", "budget_tokens": 1024}
    question = {"role": "user", "content": "why?"}
    with client.messages.stream(
        model="claude-x", max_tokens=2000, thinking=thinking, messages=[question]
    ) as stream:  # type: ignore[arg-type]
        first = stream.get_final_message()
    block = first.content[0]
    assert block.type == "thinking" and block.thinking == "Let me think." and block.signature == "relay:oai"
    assert first.content[1].text == "Answer."  # type: ignore[union-attr]
    assert fake.requests()[0]["body"]["reasoning_effort"] == "low"

    history = [
        question,
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": "and then?"},
    ]
    client.messages.create(model="gpt", max_tokens=2000, thinking=thinking, messages=history)  # type: ignore[arg-type]
    sent = fake.requests()[1]["body"]
    assert sent["model"] == "claude-up"
    assert [b["type"] for b in sent["messages"][1]["content"]] == ["text"]
    assert "relay:oai" not in json.dumps(sent)

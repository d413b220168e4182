"""The Responses API side: request → chat (→ Anthropic), chat answers and streams → Responses.

Properties (hypothesis): any valid chat stream, split anywhere, becomes a well-formed event
stream (names match `type`, consecutive `sequence_number`s, every item added then done)
that the openai SDK's own accumulator turns into the same answer the stream carried, and
that agrees with `response.completed`; a Responses conversation keeps its meaning through
chat and on to Anthropic.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from runtime.translate import (
    AnthropicToOpenAIStream,
    OpenAIToResponsesStream,
    TranslationError,
    openai_request_to_anthropic,
    openai_response_to_responses,
    responses_request_to_openai,
)
from tests.translate.upstreams import (
    Expected,
    anthropic_streams,
    drive,
    openai_streams,
    split,
    tool_ids,
    tool_inputs,
    tool_names,
)

_EVENT = TypeAdapter(ResponseStreamEvent)
_texts = st.text(st.characters(codec="utf-8", blacklist_categories=["Cs"]), min_size=1, max_size=20)


_FRESH_ID = re.compile(r"(msg|rs|fc|call)_relay[0-9a-f]{24}")


def events_of(raw: bytes) -> list[dict[str, Any]]:
    """The events, with relay's fresh ids numbered in order of appearance (comparable)."""
    seen: dict[str, str] = {}
    text = _FRESH_ID.sub(lambda m: seen.setdefault(m[0], f"{m[1]}_{len(seen)}"), raw.decode())
    out = []
    for block in text.split("\n\n")[:-1]:
        if block.startswith(":"):
            continue
        name, data = block.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert name == "event: " + event["type"]
        out.append(event)
    assert [e["sequence_number"] for e in out] == list(range(len(out)))
    return out


def sdk_final(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What the openai SDK's stream accumulator builds from these events (each validated
    against the SDK's event types first): its snapshot from the deltas, and the done items."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    for event in events:
        state.handle_event(_EVENT.validate_python(event))
    snapshot = state._ResponseStreamState__current_snapshot  # type: ignore[attr-defined]
    done = state._completed_output  # type: ignore[attr-defined]
    dump = [item.model_dump(warnings=False) for item in snapshot.output]
    return dump, [done[i].model_dump(warnings=False) for i in sorted(done)]


def _meaning(output: list[dict[str, Any]]) -> tuple[str, str, list[tuple[str, str, object]]]:
    reasoning = "".join(p["text"] for item in output if item["type"] == "reasoning" for p in item["summary"])
    text = "".join(p["text"] for item in output if item["type"] == "message" for p in item["content"])
    calls = [
        (item["call_id"], item["name"], json.loads(item["arguments"]))
        for item in output
        if item["type"] == "function_call"
    ]
    return reasoning, text, calls


def run(chunks: list[bytes]) -> bytes:
    machine = OpenAIToResponsesStream("codex-chain", {"store": False}, response_id="resp_t", created=1)
    return drive(machine, chunks)


@settings(max_examples=150, deadline=None)
@given(openai_streams(), st.lists(st.integers(0, 5000), max_size=20))
def test_any_chat_stream_split_anywhere_is_well_formed_and_says_the_same(
    stream: tuple[list[str], Expected], cuts: list[int]
) -> None:
    frames, expected = stream
    raw = "".join(frames).encode()
    events = events_of(run(split(raw, cuts)))
    assert events == events_of(run([raw]))  # split invariance
    assert events[0]["type"] == "response.created" and events[1]["type"] == "response.in_progress"
    final = events[-1]
    finish = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(
        "length" if expected.stop == "max_tokens" else "content_filter" if expected.stop == "refusal" else ""
    )
    assert final["type"] == ("response.incomplete" if finish else "response.completed")
    response = final["response"]
    assert response["model"] == "codex-chain" and response["store"] is False
    added = [e["item"]["id"] for e in events if e["type"] == "response.output_item.added"]
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert sorted(added) == sorted(i["id"] for i in done) == sorted(i["id"] for i in response["output"])
    reasoning, text, calls = _meaning(response["output"])
    assert reasoning == expected.reasoning and text == expected.text
    assert calls == [(i, n, a) for i, n, a in expected.tools]
    if expected.usage is not None:
        usage = response["usage"]
        assert usage["input_tokens_details"]["cached_tokens"] == expected.usage["cache_read_input_tokens"]
        assert usage["output_tokens"] == expected.usage["output_tokens"]
    from_deltas, from_done = sdk_final(events)
    assert _meaning(from_deltas)[1:] == (text, calls) and _meaning(from_done) == (reasoning, text, calls)


@settings(max_examples=100, deadline=None)
@given(anthropic_streams(), st.lists(st.integers(0, 5000), max_size=10))
def test_an_anthropic_stream_reaches_a_responses_client_through_both_machines(
    stream: tuple[list[str], Expected], cuts: list[int]
) -> None:
    """What `/v1/responses` does with an Anthropic-format step: A→O, then O→R; thinking
    arrives as the reasoning summary, call ids unchanged, usage with its cache reads."""
    frames, expected = stream
    inner = AnthropicToOpenAIStream("c", True)
    outer = OpenAIToResponsesStream("c", {})
    out = outer.start()
    for chunk in split("".join(frames).encode(), cuts):
        out += outer.feed(inner.feed(chunk))
    out += outer.feed(inner.finish()) + outer.finish()
    events = events_of(out)
    response = events[-1]["response"]
    assert events[-1]["type"] == (
        "response.incomplete" if expected.stop in ("length", "content_filter") else "response.completed"
    )
    assert _meaning(response["output"]) == (expected.reasoning, expected.text, expected.tools)
    assert expected.usage is not None
    assert response["usage"]["input_tokens"] == expected.usage["prompt_tokens"]
    assert response["usage"]["output_tokens"] == expected.usage["completion_tokens"]
    from_deltas, from_done = sdk_final(events)
    assert _meaning(from_deltas)[1:] == _meaning(from_done)[1:] and _meaning(from_done) == _meaning(
        response["output"]
    )


@settings(max_examples=100, deadline=None)
@given(openai_streams(), st.integers(0, 10**6))
def test_a_stream_cut_anywhere_ends_with_response_failed(stream: tuple[list[str], Expected], at: int) -> None:
    frames, _ = stream
    raw = "".join(frames).encode()
    cut = raw[: at % (len(raw) + 1)]
    events = events_of(run([cut]))
    last = events[-1]
    assert last["type"] in ("response.failed", "response.completed", "response.incomplete")
    if last["type"] == "response.failed":
        assert last["response"]["error"]["message"]


def test_non_streaming_answer_matches_the_stream_for_the_same_content() -> None:
    message = {
        "role": "assistant",
        "reasoning_content": "think",
        "content": "Running it.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "exec_command", "arguments": '{"cmd":"ls"}'},
            }
        ],
    }
    usage = {
        "prompt_tokens": 50,
        "completion_tokens": 9,
        "prompt_tokens_details": {"cached_tokens": 20},
        "completion_tokens_details": {"reasoning_tokens": 4},
    }
    whole = openai_response_to_responses(
        {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}], "usage": usage},
        client_model="c",
        echo={},
    )
    chunks = [
        {"choices": [{"index": 0, "delta": {"reasoning_content": "think"}}]},
        {"choices": [{"index": 0, "delta": {"content": "Running it."}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, **message["tool_calls"][0]}]}}]},  # type: ignore[index]
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}], "usage": usage},
    ]
    raw = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    streamed = events_of(run([raw]))[-1]["response"]
    strip = [{k: v for k, v in item.items() if k != "id"} for item in whole["output"]]
    assert strip == [{k: v for k, v in item.items() if k != "id"} for item in streamed["output"]]
    assert (
        whole["usage"]
        == streamed["usage"]
        == {
            "input_tokens": 50,
            "input_tokens_details": {"cached_tokens": 20, "cache_write_tokens": 0},
            "output_tokens": 9,
            "output_tokens_details": {"reasoning_tokens": 4},
            "total_tokens": 59,
        }
    )
    assert whole["status"] == streamed["status"] == "completed"


def test_empty_answer_is_one_empty_message_and_errors_fail_the_response() -> None:
    out = events_of(
        run([b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'])
    )
    assert out[-1]["response"]["output"][0]["content"][0]["text"] == ""
    failed = events_of(
        run([b'data: {"error":{"message":"boom","type":"server_error","code":"overloaded"}}\n\n'])
    )
    assert failed[-1]["response"]["error"] == {"code": "overloaded", "message": "boom"}
    machine = OpenAIToResponsesStream("c", {})
    failed = events_of(machine.start() + machine.fail("timeout_error", "upstream timed out"))
    assert failed[-1]["response"]["error"] == {"code": "timeout_error", "message": "upstream timed out"}


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    """A valid Responses request as Codex builds them: developer and user messages, then
    turns of reasoning, assistant text and function calls, each call answered right after."""
    items: list[dict[str, Any]] = [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": draw(_texts)}]}
    ]
    used: set[str] = set()
    for _ in range(draw(st.integers(1, 3))):
        items.append(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": draw(_texts)}]}
        )
        if draw(st.booleans()):
            items.append({"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "opaque"})
        if draw(st.booleans()):
            items.append(
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": draw(_texts)}],
                }
            )
        calls = draw(st.lists(st.tuples(tool_ids, tool_names, tool_inputs), max_size=2))
        calls = [c for c in calls if c[0] not in used]
        used.update(c[0] for c in calls)
        for call_id, name, args in calls:
            items.append(
                {"type": "function_call", "call_id": call_id, "name": name, "arguments": json.dumps(args)}
            )
        for call_id, _, _ in calls:
            items.append({"type": "function_call_output", "call_id": call_id, "output": draw(_texts)})
    return {"model": "c", "input": items, "tools": [{"type": "web_search"}], "stream": True}


def _said(items: list[dict[str, Any]]) -> list[tuple[str, object]]:
    """What a Responses conversation says, in order: texts, calls, outputs."""
    out: list[tuple[str, object]] = []
    for item in items:
        if item["type"] == "message":
            out.append((item["role"], "".join(p["text"] for p in item["content"])))
        elif item["type"] == "function_call":
            out.append(("call", (item["call_id"], item["name"], json.loads(item["arguments"]))))
        elif item["type"] == "function_call_output":
            out.append(("output", (item["call_id"], item["output"])))
    return out


def _said_by_anthropic(body: dict[str, Any]) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = [("developer", body["system"] if isinstance(body["system"], str) else "")]
    for message in body["messages"]:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            if block["type"] == "text":
                out.append((message["role"], block["text"]))
            elif block["type"] == "tool_use":
                out.append(("call", (block["id"], block["name"], block["input"])))
            elif block["type"] == "tool_result":
                text = block["content"] if isinstance(block["content"], str) else block["content"][0]["text"]
                out.append(("output", (block["tool_use_id"], text)))
    return out


@settings(max_examples=150, deadline=None)
@given(conversations())
def test_a_codex_conversation_keeps_its_meaning_through_chat_to_anthropic(body: dict[str, Any]) -> None:
    chat, dropped = responses_request_to_openai(body)
    assert dropped == ("web_search",) and "tools" not in chat
    assert chat["stream_options"] == {"include_usage": True}
    anthropic = openai_request_to_anthropic(
        chat, upstream_model="up", anthropic_version="2023-06-01", default_max_tokens=4096
    )
    assert _said_by_anthropic(anthropic) == _said(body["input"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"previous_response_id": "resp_1"}, "previous_response_id"),
        ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
            "input[0].content[0].image_url",
        ),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        (
            {
                "input": "x",
                "tools": [{"type": "function", "name": "f"}],
                "tool_choice": {"type": "web_search"},
            },
            "tool_choice",
        ),
        ({"input": "x", "text": {"format": {"type": "grammar"}}}, "text.format.type"),
    ],
)
def test_requests_that_cannot_be_carried_name_their_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(TranslationError) as err:
        responses_request_to_openai({"model": "c", "input": "x", **body})
    assert err.value.field == field


def test_request_fields_map_as_documented() -> None:
    chat, dropped = responses_request_to_openai(
        {
            "model": "c",
            "instructions": "Be brief.",
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "look"},
                        {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"},
                    ],
                },
                {"type": "function_call", "call_id": "c1", "name": "view_image", "arguments": "{}"},
                {
                    "type": "function_call_output",
                    "call_id": "c1",
                    "output": [
                        {"type": "input_text", "text": "ok"},
                        {"type": "input_image", "image_url": "https://x/i.png"},
                    ],
                },
            ],
            "tools": [
                {"type": "function", "name": "view_image", "parameters": {"type": "object"}, "strict": False},
                {"type": "namespace", "name": "agents", "tools": []},
            ],
            "tool_choice": {"type": "function", "name": "view_image"},
            "max_output_tokens": 100,
            "reasoning": {"effort": "minimal", "summary": "auto"},
            "text": {
                "format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}, "strict": True}
            },
            "temperature": 0.5,
            "store": False,
            "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "k",
        }
    )
    assert dropped == ("namespace:agents",)
    assert chat == {
        "model": "c",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "detail": "low"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "view_image", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/i.png"}}]},
        ],
        "temperature": 0.5,
        "max_completion_tokens": 100,
        "reasoning_effort": "low",
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "s", "schema": {"type": "object"}, "strict": True},
        },
        "tools": [
            {
                "type": "function",
                "function": {"name": "view_image", "parameters": {"type": "object"}, "strict": False},
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "view_image"}},
    }

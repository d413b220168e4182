"""Well-formedness checks for the streams the translators emit, and what a client accumulates.

Each validator asserts the target protocol's grammar (protocols.md §1.5 and §2.4) on a whole
output stream and returns the final message a client would build from it, so property tests
can compare meaning as well as shape. The official SDK accumulators run alongside as a
second opinion (`sdk_anthropic_message`, `sdk_openai_completion`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from runtime.translate.sse import SSEParser

ANTHROPIC_STOP_REASONS = {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"}
OPENAI_FINISH_REASONS = {"stop", "length", "tool_calls", "content_filter"}
_TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def parse_events(raw: bytes) -> list[tuple[str | None, str]]:
    parser = SSEParser()
    events = parser.feed(raw) + parser.close()
    return [(e.event, e.data) for e in events]


@dataclass
class AnthropicResult:
    message: dict[str, Any]
    ended: str
    """`stop` (message_stop) or `error`."""
    error: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


def validate_anthropic(raw: bytes) -> AnthropicResult:
    """Assert the Anthropic grammar; return the accumulated message."""
    events = parse_events(raw)
    assert events, "empty stream"
    payloads: list[dict[str, Any]] = []
    for name, data in events:
        assert name is not None, f"event without a name: {data}"
        payload = json.loads(data)
        assert payload["type"] == name, (name, payload)
        payloads.append(payload)
    first = payloads[0]
    assert first["type"] == "message_start", first
    message = dict(first["message"])
    assert (
        message["id"].startswith("msg_") and message["type"] == "message" and message["role"] == "assistant"
    )
    assert message["content"] == [] and message["stop_reason"] is None
    assert isinstance(message["usage"]["input_tokens"], int) and isinstance(
        message["usage"]["output_tokens"], int
    )
    message["content"] = []
    message["usage"] = dict(message["usage"])
    open_index: int | None = None
    signed = False
    json_bufs: dict[int, str] = {}
    seen_delta = False
    for pos, p in enumerate(payloads[1:], start=1):
        last = pos == len(payloads) - 1
        kind = p["type"]
        if kind == "ping":
            continue
        if kind == "error":
            assert last, "events after error"
            assert isinstance(p["error"]["type"], str) and isinstance(p["error"]["message"], str)
            return AnthropicResult(message, "error", p["error"], payloads)
        assert not seen_delta or kind == "message_stop", f"{kind} after message_delta"
        if kind == "content_block_start":
            assert open_index is None, "two blocks open"
            assert p["index"] == len(message["content"]), "block indices out of order"
            block = dict(p["content_block"])
            if block["type"] == "tool_use":
                assert block["input"] == {} and _TOOL_ID.match(block["id"]) and isinstance(block["name"], str)
                json_bufs[p["index"]] = ""
            elif block["type"] == "thinking":
                assert block["thinking"] == "" and block["signature"] == ""
                signed = False
            else:
                assert block == {"type": "text", "text": ""}, block
            message["content"].append(block)
            open_index = p["index"]
        elif kind == "content_block_delta":
            assert p["index"] == open_index, "delta for a block that is not open"
            block = message["content"][open_index]
            delta = p["delta"]
            if delta["type"] == "text_delta":
                assert block["type"] == "text"
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                assert block["type"] == "thinking" and not signed, "thinking after its signature"
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                assert block["type"] == "thinking" and not signed, "second signature"
                block["signature"] = delta["signature"]
                signed = True
            else:
                assert delta["type"] == "input_json_delta" and block["type"] == "tool_use", delta
                json_bufs[p["index"]] += delta["partial_json"]
        elif kind == "content_block_stop":
            assert p["index"] == open_index, "stop for a block that is not open"
            open_index = None
        elif kind == "message_delta":
            assert open_index is None, "message_delta with a block open"
            assert p["delta"]["stop_reason"] in ANTHROPIC_STOP_REASONS, p
            assert isinstance(p["usage"]["output_tokens"], int)
            message["stop_reason"] = p["delta"]["stop_reason"]
            message["stop_sequence"] = p["delta"]["stop_sequence"]
            message["usage"].update(p["usage"])
            seen_delta = True
        else:
            assert kind == "message_stop", f"unknown event {kind}"
            assert seen_delta and last, "message_stop must follow message_delta and end the stream"
    assert payloads[-1]["type"] == "message_stop", "stream ended without message_stop or error"
    for index, buf in json_bufs.items():
        try:
            parsed = json.loads(buf) if buf else {}
        except ValueError:  # a cut-off object is what Anthropic itself sends at max_tokens
            assert message["stop_reason"] == "max_tokens", f"tool arguments are not JSON: {buf!r}"
            continue
        assert isinstance(parsed, dict), buf
        message["content"][index]["input"] = parsed
    return AnthropicResult(message, "stop", None, payloads)


@dataclass
class OpenAIResult:
    message: dict[str, Any]
    finish_reason: str | None
    usage: dict[str, Any] | None
    ended: str
    error: dict[str, Any] | None = None
    chunks: list[dict[str, Any]] = field(default_factory=list)


def validate_openai(raw: bytes, include_usage: bool) -> OpenAIResult:
    """Assert the OpenAI chunk grammar; return the accumulated message."""
    events = parse_events(raw)
    assert events, "empty stream"
    message: dict[str, Any] = {}
    calls: dict[int, dict[str, Any]] = {}
    finish: str | None = None
    usage: dict[str, Any] | None = None
    head: tuple[Any, ...] | None = None
    chunks: list[dict[str, Any]] = []
    for pos, (name, data) in enumerate(events):
        last = pos == len(events) - 1
        assert name is None, "OpenAI streams carry no event names"
        if data == "[DONE]":
            assert last, "[DONE] must be last"
            assert finish is not None, "[DONE] without a finish chunk"
            assert (usage is not None) == include_usage
            return OpenAIResult(_final(message, calls), finish, usage, "done", None, chunks)
        chunk = json.loads(data)
        chunks.append(chunk)
        if "error" in chunk:
            assert last, "events after an error"
            assert isinstance(chunk["error"]["message"], str) and "type" in chunk["error"]
            return OpenAIResult(_final(message, calls), finish, usage, "error", chunk["error"], chunks)
        assert chunk["object"] == "chat.completion.chunk" and chunk["id"].startswith("chatcmpl-")
        this_head = (chunk["id"], chunk["created"], chunk["model"])
        assert head is None or head == this_head, "id, created and model must not change"
        head = this_head
        if not chunk["choices"]:
            assert usage is None and finish is not None, "usage chunk once, after the finish chunk"
            usage = chunk["usage"]
            assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
            continue
        assert usage is None and finish is None, "delta after the finish chunk"
        (choice,) = chunk["choices"]
        assert choice["index"] == 0
        delta = choice["delta"]
        if "role" in delta:
            assert not message, "role repeated or late"
            assert delta["role"] == "assistant"
            message["role"] = "assistant"
        assert message, "first delta lacks role"
        for key in ("content", "reasoning_content"):
            if delta.get(key) is not None:
                message[key] = message.get(key, "") + delta[key]
        for call in delta.get("tool_calls") or ():
            k = call["index"]
            if k not in calls:
                assert k == len(calls), "tool indices must appear in order"
                assert call["id"] and call["type"] == "function" and call["function"]["name"], call
                calls[k] = {"id": call["id"], "type": "function", "function": dict(call["function"])}
            else:
                assert "id" not in call and "name" not in call["function"], "id/name repeated"
                calls[k]["function"]["arguments"] += call["function"].get("arguments", "")
        if choice["finish_reason"] is not None:
            finish = choice["finish_reason"]
            assert finish in OPENAI_FINISH_REASONS
    raise AssertionError("stream ended without [DONE] or error")


def _final(message: dict[str, Any], calls: dict[int, dict[str, Any]]) -> dict[str, Any]:
    out = {"role": "assistant", "content": message.get("content")}
    if "reasoning_content" in message:
        out["reasoning_content"] = message["reasoning_content"]
    if calls:
        out["tool_calls"] = [calls[k] for k in sorted(calls)]
    return out


def sdk_anthropic_message(raw: bytes) -> dict[str, Any]:
    """The final message as anthropic's own stream accumulator builds it."""
    from anthropic.lib.streaming._messages import accumulate_event

    snapshot: Any = None
    json_bufs: dict[int, bytes] = {}
    for _, data in parse_events(raw):
        event = json.loads(data)
        if event["type"] in ("ping", "error", "message_stop"):
            continue
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    result: dict[str, Any] = snapshot.to_dict()
    return result


def sdk_openai_message(raw: bytes) -> tuple[dict[str, Any], str, dict[str, Any] | None]:
    """Message, finish reason and usage as openai's `ChatCompletionStreamState` builds them."""
    from openai._models import construct_type
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    state: Any = ChatCompletionStreamState()
    for _, data in parse_events(raw):
        if data == "[DONE]":
            break
        list(state.handle_chunk(construct_type(type_=ChatCompletionChunk, value=json.loads(data))))
    final = state.current_completion_snapshot  # get_final_completion() raises on `length`
    choice = final.choices[0]
    usage = final.usage.to_dict() if final.usage is not None else None
    return choice.message.to_dict(), choice.finish_reason, usage


def sdk_openai_stream(raw: bytes) -> tuple[int, Exception | None]:
    """How many chunks the openai SDK's own `Stream` yields from `raw`, and what it raises."""
    import httpx2
    import openai
    from openai._streaming import Stream
    from openai.types.chat import ChatCompletionChunk

    client = openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1", max_retries=0)
    # A real response object: the SDK reads more of it with each release (3.60: `request.headers`).
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    response = httpx2.Response(200, content=raw, request=request)
    stream = Stream(cast_to=ChatCompletionChunk, response=response, client=client)
    count = 0
    try:
        for _ in stream:
            count += 1
    except openai.APIError as exc:
        return count, exc
    return count, None

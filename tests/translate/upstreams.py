"""Hypothesis strategies for valid upstream streams in each format, with the answer they carry.

A generated stream is a list of SSE frames (strings) plus the `Expected` final message, so a
property test can check both that the translated stream is well-formed and that it says the
same thing. Provider quirks from protocols.md §2.4 are drawn too: role in every chunk, whole
tool calls (Ollama), missing `index`, usage in the finish chunk, `reasoning` vs
`reasoning_content` vs `reasoning_details`, keep-alive comments.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from runtime.translate.stream_a2o import AnthropicToOpenAIStream
from runtime.translate.stream_o2a import OpenAIToAnthropicStream
from runtime.translate.stream_o2r import OpenAIToResponsesStream

_words = st.text(st.characters(codec="utf-8", blacklist_categories=["Cs"]), min_size=1, max_size=12)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | _words,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_words, inner, max_size=3),
    max_leaves=6,
)
tool_inputs = st.dictionaries(st.text("abcxyz_", min_size=1, max_size=6), _json_values, max_size=4)
tool_ids = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=4, max_size=20
)
tool_names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=16)


def pieces(draw: st.DrawFn, text: str) -> list[str]:
    """`text` cut into 1..4 consecutive non-empty pieces."""
    if len(text) < 2:
        return [text]
    cuts = sorted(set(draw(st.lists(st.integers(1, len(text) - 1), max_size=3))))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@dataclass
class Expected:
    reasoning: str = ""
    text: str = ""
    tools: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    stop: str | None = None
    """Anthropic stop_reason (for O→A) or OpenAI finish_reason (for A→O)."""
    usage: dict[str, int] | None = None


def _chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> str:
    body: dict[str, Any] = {
        "id": "chatcmpl-up",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "up",
    }
    body["choices"] = choices
    if usage is not None:
        body["usage"] = usage
    return "data: " + json.dumps(body) + "\n\n"


@st.composite
def openai_streams(draw: st.DrawFn) -> tuple[list[str], Expected]:
    """A valid OpenAI-format upstream stream: reasoning, text and tool segments, then the end."""
    role_every_chunk = draw(st.booleans())
    whole_calls = draw(st.booleans())
    omit_index = draw(st.booleans())
    reasoning_key = draw(st.sampled_from(["reasoning_content", "reasoning", "reasoning_details"]))
    frames: list[str] = []
    expected = Expected()
    first = True

    def delta(d: dict[str, Any]) -> str:
        nonlocal first
        if first or role_every_chunk:
            d = {"role": "assistant", **d}
        first = False
        return _chunk([{"index": 0, "delta": d, "finish_reason": None}])

    segments = draw(st.lists(st.sampled_from(["reasoning", "text", "tools"]), max_size=5))
    seen_tools = 0
    for seg in segments:
        if seg == "tools":
            calls = draw(st.lists(st.tuples(tool_ids, tool_names, tool_inputs), min_size=1, max_size=3))
            for call_id, name, tool_input in calls:
                if any(call_id == t[0] for t in expected.tools):
                    continue
                expected.tools.append((call_id, name, tool_input))
                args = json.dumps(tool_input) if tool_input or draw(st.booleans()) else ""
                k = seen_tools
                seen_tools += 1
                head = {"id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
                if not omit_index:
                    head["index"] = k
                if whole_calls:
                    head["function"]["arguments"] = args
                    frames.append(delta({"tool_calls": [head]}))
                    continue
                frames.append(delta({"tool_calls": [head]}))
                for piece in pieces(draw, args) if args else []:
                    frag: dict[str, Any] = {"function": {"arguments": piece}}
                    if not omit_index:
                        frag["index"] = k
                    frames.append(delta({"tool_calls": [frag]}))
            continue
        text = draw(_words)
        for piece in pieces(draw, text):
            if seg == "text":
                frames.append(delta({"content": piece}))
            elif reasoning_key == "reasoning_details":
                frames.append(delta({"reasoning_details": [{"type": "reasoning.text", "text": piece}]}))
            else:
                frames.append(delta({reasoning_key: piece}))
        if seg == "text":
            expected.text += text
        else:
            expected.reasoning += text
        if draw(st.booleans()):
            frames.append(": keep-alive\n\n")
    finish = draw(st.sampled_from(["stop", "tool_calls", "length", "content_filter", "eos"]))
    expected.stop = {"length": "max_tokens", "content_filter": "refusal"}.get(finish) or (
        "tool_use" if expected.tools else "end_turn"
    )
    usage: dict[str, Any] | None = None
    if draw(st.booleans()):
        cached = draw(st.integers(0, 50))
        usage = {
            "prompt_tokens": 100 + cached,
            "completion_tokens": draw(st.integers(0, 500)),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
        expected.usage = {
            "input_tokens": 100,
            "cache_read_input_tokens": cached,
            "cache_creation_input_tokens": 0,
            "output_tokens": usage["completion_tokens"],
        }
    usage_in_finish = draw(st.booleans())
    frames.append(
        _chunk([{"index": 0, "delta": {}, "finish_reason": finish}], usage if usage_in_finish else None)
    )
    if usage is not None and not usage_in_finish:
        frames.append(_chunk([], usage))
    if draw(st.booleans()):
        frames.append("data: [DONE]\n\n")
    return frames, expected


def anthropic_frame(payload: dict[str, Any]) -> str:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n"


@st.composite
def anthropic_streams(draw: st.DrawFn) -> tuple[list[str], Expected]:
    """A valid Anthropic-format upstream stream, with pings anywhere after message_start."""
    cached = draw(st.integers(0, 50))
    start_usage: dict[str, Any] = {
        "input_tokens": 40,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }
    start_usage["output_tokens"] = 1
    message: dict[str, Any] = {
        "id": "msg_up",
        "type": "message",
        "role": "assistant",
        "model": "up",
        "content": [],
    }
    message |= {"stop_reason": None, "stop_sequence": None, "usage": start_usage}
    frames = [anthropic_frame({"type": "message_start", "message": message})]
    expected = Expected()
    texts: list[str] = []
    thoughts: list[str] = []
    kinds = draw(st.lists(st.sampled_from(["thinking", "redacted", "text", "tool"]), max_size=6))
    for index, kind in enumerate(kinds):
        if draw(st.booleans()):
            frames.append(anthropic_frame({"type": "ping"}))
        block: dict[str, Any]
        deltas: list[dict[str, Any]] = []
        if kind == "thinking":
            block = {"type": "thinking", "thinking": "", "signature": ""}
            thought = draw(_words)
            thoughts.append(thought)
            deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces(draw, thought)]
            deltas.append({"type": "signature_delta", "signature": "EqQBsig"})
        elif kind == "redacted":
            block = {"type": "redacted_thinking", "data": "opaque"}
        elif kind == "text":
            block = {"type": "text", "text": ""}
            text = draw(_words)
            texts.append(text)
            deltas = [{"type": "text_delta", "text": p} for p in pieces(draw, text)]
        else:
            call_id, name, tool_input = draw(st.tuples(tool_ids, tool_names, tool_inputs))
            call_id = f"toolu_{index}_{call_id}"
            expected.tools.append((call_id, name, tool_input))
            block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
            if tool_input or draw(st.booleans()):
                args = json.dumps(tool_input)
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces(draw, args)]
        frames.append(
            anthropic_frame({"type": "content_block_start", "index": index, "content_block": block})
        )
        for d in deltas:
            frames.append(anthropic_frame({"type": "content_block_delta", "index": index, "delta": d}))
        frames.append(anthropic_frame({"type": "content_block_stop", "index": index}))
    expected.text = "\n\n".join(texts)
    expected.reasoning = "\n\n".join(thoughts)
    stop = draw(
        st.sampled_from(["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn"])
    )
    expected.stop = {"max_tokens": "length", "tool_use": "tool_calls", "refusal": "content_filter"}.get(
        stop, "stop"
    )
    output = draw(st.integers(1, 900))
    delta_usage: dict[str, Any] = {"output_tokens": output}
    prompt = 40 + cached
    expected.usage = {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output}
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": None},
        "usage": delta_usage,
    }
    frames.append(anthropic_frame(end))
    frames.append(anthropic_frame({"type": "message_stop"}))
    return frames, expected


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({c for c in cuts if 0 < c < len(raw)})
    edges = [0, *bounds, len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(edges)]


def drive(
    machine: OpenAIToAnthropicStream | AnthropicToOpenAIStream | OpenAIToResponsesStream, chunks: list[bytes]
) -> bytes:
    """Everything a client receives: start, each chunk, the upstream EOF; then nothing more."""
    out = machine.start()
    for chunk in chunks:
        out += machine.feed(chunk)
    out += machine.finish()
    assert machine.done
    assert machine.finish() == b"" and machine.feed(b"data: {}\n\n") == b""
    return out

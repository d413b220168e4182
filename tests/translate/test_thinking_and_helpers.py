"""Thinking policy (protocols.md §3.7), capability inference, token estimates, usage, ids."""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.translate.capabilities import required_capabilities
from runtime.translate.ids import anthropic_tool_id
from runtime.translate.thinking import (
    budget_to_effort,
    effort_to_budget,
    is_synthesized_signature,
    reasoning_text,
    strip_thinking,
)
from runtime.translate.tokens import BYTES_PER_TOKEN_MAX, MEDIA_TOKENS, estimate_tokens, input_floor
from runtime.translate.usage import anthropic_usage_to_openai, openai_usage_to_anthropic

GENUINE = {"type": "thinking", "thinking": "real", "signature": "EqQBKgYIARABGAIiDH"}
RELAY = {"type": "thinking", "thinking": "from groq", "signature": "relay:groq"}
UNSIGNED = {"type": "thinking", "thinking": "from somewhere", "signature": ""}
REDACTED = {"type": "redacted_thinking", "data": "EmwKAhgB"}
TOOL = {"type": "tool_use", "id": "t1", "name": "f", "input": {}}
RESULT = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}


def body(*assistant_blocks: dict[str, Any], thinking: bool = True, result: bool = True) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": list(assistant_blocks)},
    ]
    if result:
        messages.append(RESULT)
    out: dict[str, Any] = {"model": "m", "max_tokens": 9000, "messages": messages}
    if thinking:
        out["thinking"] = {"type": "enabled", "budget_tokens": 4000}
    return out


@pytest.mark.parametrize(
    ("signature", "synthesized"),
    [("relay:groq", True), ("", True), (None, True), ("EqQB", False)],
)
def test_is_synthesized_signature(signature: Any, synthesized: bool) -> None:
    assert is_synthesized_signature(signature) is synthesized


@pytest.mark.parametrize(
    ("blocks", "synthesized_only", "kept", "thinking_kept"),
    [
        ((GENUINE, TOOL), True, [GENUINE, TOOL], True),
        ((REDACTED, TOOL), True, [REDACTED, TOOL], True),
        ((RELAY, TOOL), True, [TOOL], False),
        ((UNSIGNED, {"type": "text", "text": "a"}, TOOL), True, [{"type": "text", "text": "a"}, TOOL], False),
        ((GENUINE, REDACTED, TOOL), False, [TOOL], False),
        ((GENUINE, {"type": "text", "text": "done"}), False, [{"type": "text", "text": "done"}], True),
        ((TOOL,), True, [TOOL], False),
    ],
)
def test_strip_thinking(
    blocks: tuple[dict[str, Any], ...], synthesized_only: bool, kept: list[Any], thinking_kept: bool
) -> None:
    original = body(*blocks)
    frozen = copy.deepcopy(original)
    out = strip_thinking(original, synthesized_only=synthesized_only)
    assert original == frozen, "must not mutate its input"
    assert out["messages"][1]["content"] == kept
    assert ("thinking" in out) is thinking_kept


def test_strip_thinking_leaves_clean_bodies_alone_and_drops_thinking_only_turns() -> None:
    clean = body(GENUINE, TOOL)
    assert strip_thinking(clean, synthesized_only=True) is clean
    no_thinking = body(RELAY, TOOL, thinking=False)
    assert "thinking" not in strip_thinking(no_thinking)
    only = strip_thinking(body(RELAY, result=False))
    assert [m["role"] for m in only["messages"]] == ["user"]
    assert strip_thinking({"model": "m"}) == {"model": "m"}


def test_an_earlier_tool_turn_without_thinking_does_not_disable_thinking() -> None:
    b = body(TOOL)
    b["messages"] += [
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
        {"role": "user", "content": "next"},
    ]
    assert "thinking" in strip_thinking(b)


@pytest.mark.parametrize(
    ("budget", "effort"),
    [(1024, "low"), (4095, "low"), (4096, "medium"), (16383, "medium"), (16384, "high"), (None, "low")],
)
def test_budget_to_effort(budget: Any, effort: str) -> None:
    assert budget_to_effort(budget) == effort


@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_effort_budget_round_trip(effort: str) -> None:
    budget = effort_to_budget(effort)
    assert budget is not None and budget_to_effort(budget) == effort
    assert effort_to_budget("none") is None


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        ({"reasoning_content": "a", "reasoning": "b"}, "a"),
        ({"reasoning_content": "", "reasoning": "b"}, "b"),
        (
            {"reasoning_details": [{"type": "reasoning.text", "text": "c"}, {"type": "reasoning.encrypted"}]},
            "c",
        ),
        ({"reasoning_details": "junk"}, ""),
        ({"content": "x"}, ""),
    ],
)
def test_reasoning_text(delta: dict[str, Any], text: str) -> None:
    assert reasoning_text(delta) == text


IMAGE: dict[str, Any] = {
    "type": "image",
    "source": {"type": "base64", "media_type": "image/png", "data": "x"},
}


@pytest.mark.parametrize(
    ("request_body", "fmt", "expected"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "anthropic", set()),
        ({"messages": [], "tools": [{"name": "f"}], "stream": True}, "anthropic", {"tools", "stream"}),
        ({"messages": [{"role": "user", "content": [IMAGE]}]}, "anthropic", {"vision"}),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": "t", "content": [IMAGE]}],
                    }
                ]
            },
            "anthropic",
            {"tools", "vision"},
        ),
        (
            {
                "messages": [],
                "thinking": {"type": "adaptive"},
                "output_config": {"format": {"type": "json_schema"}},
            },
            "anthropic",
            {"thinking", "json"},
        ),
        ({"messages": [], "thinking": {"type": "disabled"}}, "anthropic", set()),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "openai",
            {"vision"},
        ),
        ({"messages": [{"role": "tool", "tool_call_id": "c", "content": "x"}]}, "openai", {"tools"}),
        (
            {"messages": [], "reasoning_effort": "low", "response_format": {"type": "json_object"}},
            "openai",
            {"thinking", "json"},
        ),
        ({"messages": [], "reasoning_effort": "none", "response_format": {"type": "text"}}, "openai", set()),
    ],
)
def test_required_capabilities(request_body: dict[str, Any], fmt: Any, expected: set[str]) -> None:
    assert required_capabilities(request_body, fmt) == frozenset(expected)


def test_estimate_tokens_counts_text_not_base64() -> None:
    text_only = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 350}]}
    assert 100 <= estimate_tokens(text_only) <= 110
    big_image = {**IMAGE, "source": {**IMAGE["source"], "data": "A" * 1_000_000}}
    with_image = {"messages": [{"role": "user", "content": [big_image]}]}
    assert MEDIA_TOKENS <= estimate_tokens(with_image) < MEDIA_TOKENS + 20


@given(st.text(max_size=3000), st.integers(0, 3), st.sampled_from(["anthropic", "openai"]))
def test_input_floor_never_counts_more_than_the_text_could_hold(text: str, images: int, fmt: str) -> None:
    """The floor is at most bytes / 6 of the text part (no text runs above ~5.2 bytes a token),
    however many images ride along and whatever the client escapes."""
    data = "iVBORw0KGgo" + "A" * 20_000
    image = (
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
        if fmt == "anthropic"
        else {"type": "image_url", "image_url": {"url": "data:image/png;base64," + data}}
    )
    content = [{"type": "text", "text": text}, *[image] * images]
    plain = msgspec.json.encode({"model": "m", "messages": [{"role": "user", "content": content[:1]}]})
    body = msgspec.json.encode({"model": "m", "messages": [{"role": "user", "content": content}]})
    assert input_floor(body) <= len(plain) / BYTES_PER_TOKEN_MAX + images * 20  # the JSON around each image
    def wrapped(content: str) -> bytes:
        return json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]}).encode()

    envelope = len(wrapped(""))  # the JSON around the text counts as bytes too
    assert input_floor(wrapped(text)) <= (len(text.encode()) + envelope) / BYTES_PER_TOKEN_MAX + 1


def test_input_floor_is_size_over_six_for_text() -> None:
    body = msgspec.json.encode({"messages": [{"role": "user", "content": "lorem ipsum " * 5000}]})
    assert input_floor(body) == int(len(body) / 6)


@pytest.mark.parametrize(
    ("openai", "anthropic"),
    [
        (
            {"prompt_tokens": 100, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 60}},
            {
                "input_tokens": 40,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 60,
                "output_tokens": 5,
            },
        ),
        (
            {
                "prompt_tokens": 100,
                "completion_tokens": 5,
                "prompt_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 30},
            },
            {
                "input_tokens": 10,
                "cache_creation_input_tokens": 30,
                "cache_read_input_tokens": 60,
                "output_tokens": 5,
            },
        ),
        (
            {"prompt_tokens": 100, "completion_tokens": 5, "prompt_cache_hit_tokens": 70},
            {
                "input_tokens": 30,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 70,
                "output_tokens": 5,
            },
        ),
        (
            {"prompt_tokens": None, "completion_tokens": "x"},
            {
                "input_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 0,
            },
        ),
    ],
)
def test_usage_openai_to_anthropic(openai: dict[str, Any], anthropic: dict[str, int]) -> None:
    assert openai_usage_to_anthropic(openai) == anthropic


def test_usage_anthropic_to_openai_round_trip() -> None:
    anthropic = {
        "input_tokens": 10,
        "cache_creation_input_tokens": 30,
        "cache_read_input_tokens": 60,
        "output_tokens": 5,
    }
    openai = anthropic_usage_to_openai(anthropic)
    assert openai == {
        "prompt_tokens": 100,
        "completion_tokens": 5,
        "total_tokens": 105,
        "prompt_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 30},
    }
    assert openai_usage_to_anthropic(openai) == anthropic


@pytest.mark.parametrize(
    ("raw", "kept"),
    [("toolu_01AbC-_9", True), ("call_abc", True), ("functions.read:0", False), ("a b", False)],
)
def test_anthropic_tool_id(raw: str, kept: bool) -> None:
    out = anthropic_tool_id(raw)
    assert (out == raw) is kept
    assert out == anthropic_tool_id(raw)
    assert all(c.isalnum() or c in "_-" for c in out)
    assert anthropic_tool_id("a.b") != anthropic_tool_id("a:b")

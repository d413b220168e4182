"""OpenAI request → Anthropic request: each mapping rule of protocols.md §3.2, and each refusal."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.translate.errors import TranslationError
from runtime.translate.request_o2a import JSON_OBJECT_INSTRUCTION, openai_request_to_anthropic

OLD, NEW = "2023-06-01", "2026-10-21"


def o2a(extra: dict[str, Any] | None = None, messages: list[Any] | None = None, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-x"}
    body["messages"] = messages if messages is not None else [{"role": "user", "content": "hi"}]
    body.update(extra or {})
    kw.setdefault("anthropic_version", OLD)
    return openai_request_to_anthropic(body, upstream_model="claude-up", default_max_tokens=4096, **kw)


def call(call_id: str, name: str = "read", arguments: Any = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_system_and_developer_messages_are_hoisted() -> None:
    out = o2a(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "q"},
            {"role": "developer", "content": [{"type": "text", "text": "Mid rule."}]},
            {"role": "assistant", "content": "a"},
        ]
    )
    assert out["system"] == "Be brief.\n\nMid rule."
    assert out["messages"] == [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "text", "text": "a"}]},
    ]


def test_user_parts() -> None:
    parts = [
        {"type": "text", "text": "see"},
        {"type": "text", "text": ""},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"}},
    ]
    assert o2a(messages=[{"role": "user", "content": parts}])["messages"][0]["content"] == [
        {"type": "text", "text": "see"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
    ]


def test_tool_round_trip_history() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [call("call_1", arguments='{"path":"a"}'), call("call_2", arguments="")],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "A"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "B"}]},
        {"role": "user", "content": "thanks"},
        {"role": "assistant", "content": "", "refusal": "I can't", "reasoning_content": "dropped"},
    ]
    assert o2a(messages=messages)["messages"] == [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_1", "name": "read", "input": {"path": "a"}},
                {"type": "tool_use", "id": "call_2", "name": "read", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "A"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "B"},
                {"type": "text", "text": "thanks"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "I can't"}]},
    ]


def test_trailing_tool_results_and_results_before_an_assistant_form_user_turns() -> None:
    messages = [
        {"role": "assistant", "content": "x", "tool_calls": [call("c1")]},
        {"role": "tool", "tool_call_id": "c1", "content": ""},
    ]
    assert o2a(messages=messages)["messages"][-1] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "c1"}],
    }


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("", {}),
        ("null", {}),
        ("not json", {"_raw": "not json"}),
        ("[1]", {"_raw": "[1]"}),
        ({"a": 1}, {"a": 1}),
    ],
)
def test_tool_arguments_policy(arguments: Any, expected: Any) -> None:
    messages = [{"role": "assistant", "content": None, "tool_calls": [call("c1", arguments=arguments)]}]
    assert o2a(messages=messages)["messages"][0]["content"][0]["input"] == expected


def test_ids_anthropic_would_reject_are_sanitized_the_same_way_on_both_sides() -> None:
    messages = [
        {"role": "assistant", "content": None, "tool_calls": [call("functions.read:0")]},
        {"role": "tool", "tool_call_id": "functions.read:0", "content": "ok"},
    ]
    out = o2a(messages=messages)["messages"]
    use_id = out[0]["content"][0]["id"]
    assert use_id.startswith("functions_read_0_") and out[1]["content"][0]["tool_use_id"] == use_id


def test_legacy_functions() -> None:
    out = o2a(
        {"functions": [{"name": "f", "parameters": {"type": "object"}}], "function_call": {"name": "f"}},
        messages=[
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": '{"x":1}'}},
            {"role": "function", "name": "f", "content": "42"},
        ],
    )
    assert out["tools"] == [{"name": "f", "input_schema": {"type": "object"}}]
    assert out["tool_choice"] == {"type": "tool", "name": "f"}
    use = out["messages"][1]["content"][0]
    assert use["input"] == {"x": 1} and out["messages"][2]["content"][0]["tool_use_id"] == use["id"]


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", False, {"type": "none"}),
        ("required", None, {"type": "any"}),
        ({"type": "function", "function": {"name": "read"}}, None, {"type": "tool", "name": "read"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (None, None, None),
    ],
)
def test_tools_and_tool_choice(choice: Any, parallel: Any, expected: Any) -> None:
    tools = [
        {
            "type": "function",
            "function": {"name": "read", "description": "Read", "parameters": {"type": "object"}},
        },
        {"type": "function", "function": {"name": "now"}},
    ]
    extra: dict[str, Any] = {"tools": tools}
    if choice is not None:
        extra["tool_choice"] = choice
    if parallel is not None:
        extra["parallel_tool_calls"] = parallel
    out = o2a(extra)
    assert out["tools"] == [
        {"name": "read", "description": "Read", "input_schema": {"type": "object"}},
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert out.get("tool_choice") == expected


@pytest.mark.parametrize(
    ("extra", "version", "expected"),
    [
        ({}, OLD, {"max_tokens": 4096}),
        ({"max_tokens": 300}, OLD, {"max_tokens": 300}),
        ({"max_completion_tokens": 200, "max_tokens": 300}, OLD, {"max_tokens": 200}),
        ({"temperature": 1.7}, OLD, {"max_tokens": 4096, "temperature": 1.0}),
        ({"temperature": 0.3, "top_p": 0.5}, OLD, {"max_tokens": 4096, "temperature": 0.3}),
        ({"top_p": 0.5}, OLD, {"max_tokens": 4096, "top_p": 0.5}),
        ({"temperature": 0.3, "top_p": 0.5}, NEW, {"max_tokens": 4096}),
        ({"stop": "END"}, OLD, {"max_tokens": 4096, "stop_sequences": ["END"]}),
        ({"stop": ["a", "b"]}, OLD, {"max_tokens": 4096, "stop_sequences": ["a", "b"]}),
        ({"user": "u1"}, OLD, {"max_tokens": 4096, "metadata": {"user_id": "u1"}}),
        ({"safety_identifier": "s1"}, OLD, {"max_tokens": 4096, "metadata": {"user_id": "s1"}}),
        (
            {"stream": True, "stream_options": {"include_usage": True}},
            OLD,
            {"max_tokens": 4096, "stream": True},
        ),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"type": "object"}},
                }
            },
            OLD,
            {
                "max_tokens": 4096,
                "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
            },
        ),
        (
            {"response_format": {"type": "json_object"}},
            OLD,
            {"max_tokens": 4096, "system": JSON_OBJECT_INSTRUCTION},
        ),
        ({"response_format": {"type": "text"}}, OLD, {"max_tokens": 4096}),
        (
            {"reasoning_effort": "medium", "temperature": 0.5},
            OLD,
            {"max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 4095}},
        ),
        (
            {"reasoning_effort": "high", "max_tokens": 32000},
            OLD,
            {"max_tokens": 32000, "thinking": {"type": "enabled", "budget_tokens": 16384}},
        ),
        ({"reasoning_effort": "low", "max_tokens": 1000}, OLD, {"max_tokens": 1000}),
        ({"reasoning_effort": "none"}, OLD, {"max_tokens": 4096}),
        (
            {
                "seed": 1,
                "presence_penalty": 1,
                "frequency_penalty": 1,
                "store": True,
                "metadata": {"a": "b"},
                "service_tier": "auto",
                "n": 1,
                "logprobs": False,
                "modalities": ["text"],
                "prompt_cache_key": "k",
            },
            OLD,
            {"max_tokens": 4096},
        ),
    ],
)
def test_parameters(extra: dict[str, Any], version: str, expected: dict[str, Any]) -> None:
    out = o2a(extra, anthropic_version=version)
    assert out.pop("model") == "claude-up"
    out.pop("messages")
    assert out == expected


def test_no_thinking_with_a_forced_tool_or_after_an_unsigned_tool_turn() -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert "thinking" not in o2a({"tools": tools, "tool_choice": "required", "reasoning_effort": "high"})
    assert "thinking" in o2a({"tools": tools, "tool_choice": "auto", "reasoning_effort": "high"})
    loop = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": None, "tool_calls": [call("c1")]},
        {"role": "tool", "tool_call_id": "c1", "content": "r"},
    ]
    out = o2a({"reasoning_effort": "high", "temperature": 0.5}, messages=loop)
    assert "thinking" not in out and out["temperature"] == 0.5
    assert "thinking" in o2a(
        {"reasoning_effort": "high"},
        messages=[*loop, {"role": "assistant", "content": "done"}, {"role": "user", "content": "next"}],
    )


def test_adaptive_thinking() -> None:
    out = o2a({"reasoning_effort": "xhigh"}, adaptive_thinking=True)
    assert out["thinking"] == {"type": "adaptive"} and out["output_config"] == {"effort": "max"}


@pytest.mark.parametrize(
    ("extra", "messages", "field"),
    [
        ({"n": 2}, None, "n"),
        ({"logprobs": True}, None, "logprobs"),
        ({"top_logprobs": 2}, None, "top_logprobs"),
        ({"logit_bias": {"1": 5}}, None, "logit_bias"),
        ({"audio": {"voice": "x"}}, None, "audio"),
        ({"modalities": ["text", "audio"]}, None, "modalities"),
        ({"prediction": {"type": "content"}}, None, "prediction"),
        ({"web_search_options": {}}, None, "web_search_options"),
        ({"max_tokens": "lots"}, None, "max_completion_tokens"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {}}},
            None,
            "response_format.json_schema.schema",
        ),
        ({"response_format": {"type": "grammar"}}, None, "response_format.type"),
        ({"tools": [{"type": "custom", "custom": {}}]}, None, "tools[0].type"),
        ({"tools": [{"type": "function", "function": {}}]}, None, "tools[0].function.name"),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "sometimes"},
            None,
            "tool_choice",
        ),
        (
            {},
            [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}],
            "messages[0].content[0].type",
        ),
        (
            {},
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}],
            "messages[0].content[0].image_url.url",
        ),
        (
            {},
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,xx"}}]}],
            "messages[0].content[0].image_url.url",
        ),
        (
            {},
            [{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}],
            "messages[0].content[0].file",
        ),
        (
            {},
            [
                {
                    "role": "user",
                    "content": [{"type": "file", "file": {"file_data": "data:text/csv;base64,YQ=="}}],
                }
            ],
            "messages[0].content[0].file.file_data",
        ),
        ({}, [{"role": "user", "content": [{"type": "text"}]}], "messages[0].content[0].text"),
        ({}, [{"role": "user", "content": ["x"]}], "messages[0].content[0]"),
        ({}, [{"role": "user", "content": 7}], "messages[0].content"),
        ({}, [{"role": "tool", "tool_call_id": "ghost", "content": "x"}], "messages[0].tool_call_id"),
        ({}, [{"role": "function", "name": "f", "content": "x"}], "messages[0]"),
        (
            {},
            [{"role": "assistant", "tool_calls": [{"id": "", "function": {"name": "f"}}]}],
            "messages[0].tool_calls[0].id",
        ),
        ({}, [{"role": "assistant", "tool_calls": [{"id": "c"}]}], "messages[0].tool_calls[0].function"),
        (
            {},
            [{"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}],
            "messages[0].tool_calls[0].function.name",
        ),
        ({}, [{"role": "system", "content": [{"type": "image_url"}]}], "messages[0].content[0]"),
        ({}, [{"role": "critic", "content": "x"}], "messages[0].role"),
        ({}, [3], "messages[0]"),
    ],
)
def test_untranslatable_requests_name_the_field(
    extra: dict[str, Any], messages: list[Any] | None, field: str
) -> None:
    with pytest.raises(TranslationError) as info:
        o2a(extra, messages)
    assert info.value.field == field


def test_messages_must_be_an_array() -> None:
    with pytest.raises(TranslationError) as info:
        openai_request_to_anthropic({}, upstream_model="x", anthropic_version=OLD, default_max_tokens=1)
    assert info.value.field == "messages"

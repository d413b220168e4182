"""Anthropic request → OpenAI request: each mapping rule of protocols.md §3.1, and each refusal."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.translate.errors import TranslationError
from runtime.translate.hints import OpenAIHints, hints_for
from runtime.translate.request_a2o import anthropic_request_to_openai

PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}


def a2o(extra: dict[str, Any] | None = None, messages: list[Any] | None = None, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "claude-x", "max_tokens": 1000}
    body["messages"] = messages if messages is not None else [{"role": "user", "content": "hi"}]
    body.update(extra or {})
    return anthropic_request_to_openai(body, upstream_model="up-model", **kw)


def user(*blocks: Any) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


def text(t: str, **kw: Any) -> dict[str, Any]:
    return {"type": "text", "text": t, **kw}


def tool_use(tool_id: str, name: str = "read", tool_input: Any = None) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": tool_id,
        "name": name,
        "input": {} if tool_input is None else tool_input,
    }


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("Be brief.", [{"role": "system", "content": "Be brief."}]),
        (
            [
                text("x-anthropic-billing-header: cc_version=2.1; cch=abcde;"),
                text("You are Claude Code.", cache_control={"type": "ephemeral"}),
                text("Project rules."),
            ],
            [{"role": "system", "content": "You are Claude Code.\n\nProject rules."}],
        ),
        ([text("x-anthropic-billing-header: only")], []),
        (None, []),
    ],
)
def test_system_prompt(system: Any, expected: list[dict[str, Any]]) -> None:
    extra = {"system": system} if system is not None else {}
    assert a2o(extra)["messages"] == [*expected, {"role": "user", "content": "hi"}]


def test_mid_conversation_system_messages_keep_their_position() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "system", "content": [text("Reminder.")]},
        {"role": "user", "content": "c"},
    ]
    assert [m["role"] for m in a2o(messages=messages)["messages"]] == ["user", "assistant", "system", "user"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("plain", "plain"),
        ([text("only", cache_control={"type": "ephemeral"})], "only"),
        ([text("a"), text("b")], [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]),
        (
            [{"type": "image", "source": PNG}, text("what is this?")],
            [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "text", "text": "what is this?"},
            ],
        ),
        (
            [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}],
            [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
        ),
        (
            [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc"}}],
            "doc",
        ),
    ],
)
def test_user_content(content: Any, expected: Any) -> None:
    assert a2o(messages=[{"role": "user", "content": content}])["messages"] == [
        {"role": "user", "content": expected}
    ]


def test_tool_results_come_first_as_tool_messages_with_ids_kept() -> None:
    messages = [
        user(text("go")),
        assistant(text("Reading."), tool_use("toolu_A1", tool_input={"path": "a"}), tool_use("call_b")),
        user(
            {"type": "tool_result", "tool_use_id": "toolu_A1", "content": [text("line 1"), text("line 2")]},
            {"type": "tool_result", "tool_use_id": "call_b", "content": "no such file", "is_error": True},
            text("and now?"),
        ),
    ]
    out = a2o(messages=messages)["messages"]
    assert out[1:] == [
        {
            "role": "assistant",
            "content": "Reading.",
            "tool_calls": [
                {
                    "id": "toolu_A1",
                    "type": "function",
                    "function": {"name": "read", "arguments": '{"path":"a"}'},
                },
                {"id": "call_b", "type": "function", "function": {"name": "read", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_A1", "content": "line 1\nline 2"},
        {"role": "tool", "tool_call_id": "call_b", "content": "Error: no such file"},
        {"role": "user", "content": "and now?"},
    ]


def test_images_in_tool_results_move_to_a_following_user_message() -> None:
    messages = [
        assistant(tool_use("t1")),
        user(
            {
                "type": "tool_result",
                "tool_use_id": "t1",
                "content": [text("shot:"), {"type": "image", "source": PNG}],
            }
        ),
    ]
    out = a2o(messages=messages)["messages"]
    assert out[1] == {"role": "tool", "tool_call_id": "t1", "content": "shot:"}
    assert out[2] == {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}],
    }


def test_assistant_tool_only_turn_has_null_content_and_raw_input_is_unwrapped() -> None:
    out = a2o(messages=[user(text("x")), assistant(tool_use("t1", tool_input={"_raw": "not json"}))])[
        "messages"
    ]
    assert out[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "read", "arguments": "not json"}}
        ],
    }


@pytest.mark.parametrize(
    ("echo", "expected"),
    [
        ("none", [None, None]),
        ("tool_turns", [None, "plan"]),
        ("all", ["musing", "plan"]),
    ],
)
def test_reasoning_echo(echo: Any, expected: list[str | None]) -> None:
    thinking = {"type": "thinking", "thinking": "musing", "signature": "relay:groq"}
    messages = [
        user(text("q")),
        assistant(thinking, text("answer")),
        user(text("q2")),
        assistant(
            {"type": "thinking", "thinking": "plan", "signature": "sig"},
            {"type": "redacted_thinking", "data": "x"},
            tool_use("t1"),
        ),
        user({"type": "tool_result", "tool_use_id": "t1", "content": "ok"}),
    ]
    out = a2o(messages=messages, provider_hints=OpenAIHints(echo_reasoning=echo))["messages"]
    assert [out[1].get("reasoning_content"), out[3].get("reasoning_content")] == expected


def test_assistant_turn_with_only_thinking_disappears_unless_echoed() -> None:
    messages = [
        user(text("q")),
        assistant({"type": "thinking", "thinking": "hm", "signature": "s"}),
        user(text("again")),
    ]
    assert [m["role"] for m in a2o(messages=messages)["messages"]] == ["user", "user"]
    echoed = a2o(messages=messages, provider_hints=OpenAIHints(echo_reasoning="all"))["messages"][1]
    assert echoed == {"role": "assistant", "content": "", "reasoning_content": "hm"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "any"}, {"tool_choice": "required"}),
        ({"type": "none"}, {"tool_choice": "none"}),
        (
            {"type": "tool", "name": "read"},
            {"tool_choice": {"type": "function", "function": {"name": "read"}}},
        ),
        (
            {"type": "auto", "disable_parallel_tool_use": True},
            {"tool_choice": "auto", "parallel_tool_calls": False},
        ),
        (None, {}),
    ],
)
def test_tools_and_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": {"path": {"type": "string"}}}
    tools = [
        {
            "name": "read",
            "description": "Read a file",
            "input_schema": schema,
            "cache_control": {"type": "ephemeral"},
        }
    ]
    extra: dict[str, Any] = {"tools": tools}
    if choice is not None:
        extra["tool_choice"] = choice
    out = a2o(extra)
    assert out["tools"] == [
        {"type": "function", "function": {"name": "read", "description": "Read a file", "parameters": schema}}
    ]
    assert {k: out[k] for k in ("tool_choice", "parallel_tool_calls") if k in out} == expected


def test_tool_choice_without_tools_is_dropped_and_strict_kept_only_where_supported() -> None:
    assert "tool_choice" not in a2o({"tool_choice": {"type": "any"}})
    tools = [{"name": "f", "input_schema": {"type": "object"}, "strict": True}]
    assert "strict" not in a2o({"tools": tools})["tools"][0]["function"]
    assert (
        a2o({"tools": tools}, provider_hints=hints_for("openai", "https://api.openai.com/v1"))["tools"][0][
            "function"
        ]["strict"]
        is True
    )


@pytest.mark.parametrize(
    ("extra", "hints", "expected"),
    [
        ({}, OpenAIHints(), {"max_tokens": 1000}),
        (
            {},
            OpenAIHints(max_tokens_field="max_completion_tokens", max_output_tokens=500),
            {"max_completion_tokens": 500},
        ),
        ({"temperature": 0.2, "top_p": 0.9, "top_k": 5}, OpenAIHints(), {"temperature": 0.2, "top_p": 0.9}),
        ({"top_k": 5}, OpenAIHints(top_k=True), {"top_k": 5}),
        ({"stop_sequences": ["END"]}, OpenAIHints(), {"stop": ["END"]}),
        ({"metadata": {"user_id": "u" * 100}}, OpenAIHints(), {"user": "u" * 64}),
        ({"stream": True}, OpenAIHints(), {"stream": True, "stream_options": {"include_usage": True}}),
        (
            {"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
            OpenAIHints(),
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": {"type": "object"}, "strict": True},
                }
            },
        ),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2000}},
            OpenAIHints(),
            {"reasoning_effort": "low"},
        ),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 8000}},
            OpenAIHints(),
            {"reasoning_effort": "medium"},
        ),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 31999}},
            OpenAIHints(),
            {"reasoning_effort": "high"},
        ),
        (
            {"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}},
            OpenAIHints(),
            {"reasoning_effort": "high"},
        ),
        ({"thinking": {"type": "adaptive"}}, OpenAIHints(), {"reasoning_effort": "medium"}),
        ({"thinking": {"type": "disabled"}}, OpenAIHints(), {}),
        ({"thinking": {"type": "enabled", "budget_tokens": 2000}}, OpenAIHints(reasoning="none"), {}),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2000}},
            OpenAIHints(reasoning="zai"),
            {"thinking": {"type": "enabled"}},
        ),
        (
            {"thinking": {"type": "disabled"}},
            OpenAIHints(reasoning="zai"),
            {"thinking": {"type": "disabled"}},
        ),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2000}},
            OpenAIHints(reasoning="groq"),
            {"reasoning_format": "parsed"},
        ),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2000}},
            OpenAIHints(reasoning="openrouter"),
            {"reasoning": {"max_tokens": 2000}},
        ),
        (
            {"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}},
            OpenAIHints(reasoning="openrouter"),
            {"reasoning": {"effort": "low"}},
        ),
        (
            {
                "cache_control": {"type": "ephemeral"},
                "context_management": {"edits": []},
                "service_tier": "auto",
                "metadata": {},
                "inference_geo": "us",
                "speed": "fast",
            },
            OpenAIHints(),
            {},
        ),
    ],
)
def test_parameters(extra: dict[str, Any], hints: OpenAIHints, expected: dict[str, Any]) -> None:
    out = a2o(extra, provider_hints=hints)
    assert out.pop("model") == "up-model"
    out.pop("messages")
    if "max_tokens" not in expected:
        out.pop("max_tokens", None)
    assert out == expected


def test_model_that_cannot_reason_gets_no_reasoning_parameters() -> None:
    out = a2o({"thinking": {"type": "enabled", "budget_tokens": 5000}}, model_can_reason=False)
    assert "reasoning_effort" not in out


def test_pdf_document_as_file_part_where_supported() -> None:
    doc = {
        "type": "document",
        "title": "spec.pdf",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
    }
    out = a2o(messages=[user(doc)], provider_hints=OpenAIHints(pdf_files=True))
    assert out["messages"][0]["content"] == [
        {"type": "file", "file": {"filename": "spec.pdf", "file_data": "data:application/pdf;base64,JVBE"}}
    ]


@pytest.mark.parametrize(
    ("extra", "messages", "hints", "field"),
    [
        ({"container": "c1"}, None, OpenAIHints(), "container"),
        ({"mcp_servers": [{"url": "x"}]}, None, OpenAIHints(), "mcp_servers"),
        (
            {"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
            None,
            OpenAIHints(),
            "tools[0].type",
        ),
        ({"tools": [{"name": "x" * 65, "input_schema": {}}]}, None, OpenAIHints(), "tools[0].name"),
        (
            {"tools": [{"name": "f"}], "tool_choice": {"type": "sometimes"}},
            None,
            OpenAIHints(),
            "tool_choice",
        ),
        ({"stop_sequences": list("abcde")}, None, OpenAIHints(), "stop_sequences"),
        ({"output_config": {"format": {"type": "regex"}}}, None, OpenAIHints(), "output_config.format"),
        (
            {},
            [user({"type": "image", "source": {"type": "url", "url": "https://x"}})],
            OpenAIHints(url_images=False),
            "messages[0].content[0].source",
        ),
        (
            {},
            [user({"type": "image", "source": {"type": "file", "file_id": "f"}})],
            OpenAIHints(),
            "messages[0].content[0].source.type",
        ),
        (
            {},
            [
                user(
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": "x"},
                    }
                )
            ],
            OpenAIHints(),
            "messages[0].content[0].source",
        ),
        ({}, [user({"type": "search_result", "content": []})], OpenAIHints(), "messages[0].content[0].type"),
        (
            {},
            [
                user(text("a")),
                assistant({"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}),
            ],
            OpenAIHints(),
            "messages[1].content[0].type",
        ),
        (
            {},
            [user({"type": "tool_result", "tool_use_id": ""})],
            OpenAIHints(),
            "messages[0].content[0].tool_use_id",
        ),
        (
            {},
            [user({"type": "tool_result", "tool_use_id": "t", "content": [{"type": "document"}]})],
            OpenAIHints(),
            "messages[0].content[0].content[0].type",
        ),
        (
            {},
            [assistant({"type": "tool_use", "id": "", "name": "f", "input": {}})],
            OpenAIHints(),
            "messages[0].content[0].id",
        ),
        ({}, [user({"type": "text", "text": 3})], OpenAIHints(), "messages[0].content[0].text"),
        ({}, [user("not a block")], OpenAIHints(), "messages[0].content[0]"),
        ({}, [{"role": "robot", "content": "x"}], OpenAIHints(), "messages[0].role"),
        ({}, ["nope"], OpenAIHints(), "messages[0]"),
        ({"system": [{"type": "image", "source": PNG}]}, None, OpenAIHints(), "system[0].type"),
        ({"system": 5}, None, OpenAIHints(), "system"),
    ],
)
def test_untranslatable_requests_name_the_field(
    extra: dict[str, Any], messages: list[Any] | None, hints: OpenAIHints, field: str
) -> None:
    with pytest.raises(TranslationError) as info:
        a2o(extra, messages, provider_hints=hints)
    assert info.value.field == field


def test_messages_must_be_an_array() -> None:
    with pytest.raises(TranslationError) as info:
        anthropic_request_to_openai({"model": "m", "max_tokens": 1}, upstream_model="x")
    assert info.value.field == "messages"


@pytest.mark.parametrize(
    ("api", "base_url", "field", "value"),
    [
        ("openai", "https://api.cerebras.ai/v1", "max_tokens_field", "max_completion_tokens"),
        ("openai", "https://openrouter.ai/api/v1", "reasoning", "openrouter"),
        (
            "azure",
            "https://res.openai.azure.com/openai/deployments/d",
            "max_tokens_field",
            "max_completion_tokens",
        ),
        ("openai", "https://api.groq.com/openai/v1", "reasoning", "groq"),
        ("openai", "https://api.z.ai/api/paas/v4", "echo_reasoning", "tool_turns"),
        ("ollama", "http://box:9999/v1", "url_images", False),
        ("openai", "http://localhost:11434/v1", "url_images", False),
        ("openai", "https://unknown.example/v1", "reasoning", "effort"),
    ],
)
def test_hints_for_known_providers(api: str, base_url: str, field: str, value: Any) -> None:
    assert getattr(hints_for(api, base_url), field) == value

"""Anthropic → OpenAI → Anthropic request round trips keep their meaning (hypothesis).

Meaning: the system text, each turn's text, tool calls (ids, names, inputs) and tool results
(ids, content, the error flag as the `Error: ` prefix OpenAI has instead). Not meaning: the
block order inside an assistant turn (OpenAI puts text before tool calls), text block
boundaries inside an assistant turn, thinking (dropped for OpenAI-format upstreams), cache hints.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.translate.request_a2o import anthropic_request_to_openai
from runtime.translate.request_o2a import openai_request_to_anthropic
from tests.translate.upstreams import tool_ids, tool_inputs, tool_names

_texts = st.text(st.characters(codec="utf-8", blacklist_categories=["Cs"]), min_size=1, max_size=20).filter(
    lambda t: not t.startswith("x-anthropic-billing-header")
)
_cache = st.sampled_from([{}, {"cache_control": {"type": "ephemeral"}}])


def _text_block(draw: st.DrawFn) -> dict[str, Any]:
    return {"type": "text", "text": draw(_texts), **draw(_cache)}


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    """A valid Anthropic request: alternating turns, every tool_use answered right after it."""
    messages: list[dict[str, Any]] = []
    pending: list[str] = []
    used: set[str] = set()
    for _ in range(draw(st.integers(1, 4))):
        blocks: list[dict[str, Any]] = []
        for tool_id in pending:
            content = draw(
                st.one_of(
                    _texts, st.lists(st.builds(lambda t: {"type": "text", "text": t}, _texts), max_size=2)
                )
            )
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id, "content": content}
            if draw(st.booleans()):
                result["is_error"] = draw(st.booleans())
            blocks.append(result)
        blocks += [_text_block(draw) for _ in range(draw(st.integers(0 if pending else 1, 2)))]
        plain = not pending and len(blocks) == 1 and draw(st.booleans())
        messages.append({"role": "user", "content": blocks[0]["text"] if plain else blocks})
        pending = []
        reply: list[dict[str, Any]] = []
        if draw(st.booleans()):
            reply.append({"type": "thinking", "thinking": draw(_texts), "signature": "sig"})
        reply += [_text_block(draw) for _ in range(draw(st.integers(0, 2)))]
        for tool_id, name, tool_input in draw(
            st.lists(st.tuples(tool_ids, tool_names, tool_inputs), max_size=2)
        ):
            if tool_id not in used:
                used.add(tool_id)
                pending.append(tool_id)
                reply.append({"type": "tool_use", "id": tool_id, "name": name, "input": tool_input})
        messages.append({"role": "assistant", "content": reply})
    if pending:
        messages.append(
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": t} for t in pending]}
        )
    body: dict[str, Any] = {"model": "claude-x", "max_tokens": 2048, "messages": messages}
    system: Any = draw(
        st.one_of(st.none(), _texts, st.lists(st.builds(dict, type=st.just("text"), text=_texts), max_size=3))
    )
    if system is not None:
        body["system"] = system
    return body


def _system(system: Any) -> str:
    if system is None:
        return ""
    if isinstance(system, str):
        return system
    return "\n\n".join(b["text"] for b in system)


def _meaning(messages: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    turns: list[tuple[str, list[Any]]] = []
    for message in messages:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        items: list[Any] = []
        if message["role"] == "assistant":
            text = "\n\n".join(b["text"] for b in blocks if b["type"] == "text")
            items += [("text", text)] if text else []
            items += [("tool_use", b["id"], b["name"], b["input"]) for b in blocks if b["type"] == "tool_use"]
        else:
            for b in blocks:
                if b["type"] == "tool_result":
                    result = b.get("content", "")
                    result = result if isinstance(result, str) else "\n".join(p["text"] for p in result)
                    if b.get("is_error"):
                        result = f"Error: {result}" if result else "Error"
                    items.append(("tool_result", b["tool_use_id"], result))
                else:
                    items.append(("text", b["text"]))
        if not items:
            continue
        if turns and turns[-1][0] == message["role"]:
            turns[-1][1].extend(items)  # the API merges consecutive same-role turns
        else:
            turns.append((message["role"], items))
    return turns


@settings(max_examples=200, deadline=None)
@given(conversations())
def test_a2o2a_keeps_meaning(body: dict[str, Any]) -> None:
    there = anthropic_request_to_openai(body, upstream_model="gpt-up")
    back = openai_request_to_anthropic(
        there, upstream_model="claude-up", anthropic_version="2023-06-01", default_max_tokens=1
    )
    assert back.get("system", "") == _system(body.get("system"))
    assert _meaning(back["messages"]) == _meaning(body["messages"])
    assert back["max_tokens"] == body["max_tokens"]

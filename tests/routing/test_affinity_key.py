"""Which conversation a request belongs to, from its session header or its opening."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.routing.affinity import conversation_key

_top = msgspec.json.Decoder(dict[str, msgspec.Raw])
_encode = msgspec.json.Encoder().encode


def key(body: dict[str, Any], openai: bool = False, session: str | None = None) -> str | None:
    return conversation_key(_top.decode(_encode(body)), openai, session)


def user(text: str, cached: bool = False) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if cached:
        block["cache_control"] = {"type": "ephemeral"}
    return {"role": "user", "content": [block]}


FIRST = {"system": "be brief", "messages": [user("hi", cached=True)]}
LATER = {
    "system": "be brief",
    "messages": [user("hi"), {"role": "assistant", "content": "hello"}, user("more", cached=True)],
}


def test_a_later_turn_of_the_same_conversation_has_the_same_key() -> None:
    assert key(FIRST) is not None
    assert key(FIRST) == key(LATER)


@pytest.mark.parametrize(
    "other",
    [
        {"system": "be verbose", "messages": [user("hi")]},
        {"system": "be brief", "messages": [user("hello")]},
        {"messages": [user("hi")]},
    ],
)
def test_a_different_opening_is_a_different_conversation(other: dict[str, Any]) -> None:
    assert key(other) != key(FIRST)


def test_the_session_header_wins_and_is_hashed() -> None:
    by_session = key(FIRST, session="sess-1")
    assert by_session == key({"messages": [user("unrelated")]}, session="sess-1")
    assert by_session != key(FIRST, session="sess-2")
    assert by_session is not None and "sess-1" not in by_session and len(by_session) == 32


def test_openai_uses_first_system_or_developer_and_first_user_message() -> None:
    opening = [{"role": "developer", "content": "rules"}, {"role": "user", "content": "q1"}]
    later = [*opening, {"role": "assistant", "content": "a1"}, {"role": "user", "content": "q2"}]
    assert key({"messages": opening}, openai=True) == key({"messages": later}, openai=True)
    other = [{"role": "developer", "content": "rules"}, {"role": "user", "content": "q9"}]
    assert key({"messages": other}, openai=True) != key({"messages": opening}, openai=True)


@pytest.mark.parametrize(
    "body",
    [
        {"messages": []},
        {"model": "m"},
        {"messages": 5},
        {"messages": ["not an object"]},
    ],
)
def test_no_readable_opening_means_no_affinity(body: dict[str, Any]) -> None:
    assert key(body, openai=True) is None


@given(
    st.text(max_size=20),
    st.lists(st.text(max_size=20), min_size=1, max_size=6),
    st.integers(min_value=0, max_value=5),
)
def test_later_turns_and_moved_cache_markers_never_change_the_key(
    system: str, texts: list[str], marked: int
) -> None:
    turns = [user(t, cached=i == marked) for i, t in enumerate(texts)]
    assert key({"system": system, "messages": turns}) == key({"system": system, "messages": [user(texts[0])]})

"""SSE framing: the parser against the standard's cases, split anywhere; the encoders' exact bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.translate.sse import OPENAI_DONE, SSEEvent, SSEParser, anthropic_event, openai_data


def parse_whole(raw: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    return parser.feed(raw) + parser.close()


def parse_split(raw: bytes, cuts: list[int]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    start = 0
    for cut in sorted(set(cuts)):
        events += parser.feed(raw[start:cut])
        start = cut
    return events + parser.feed(raw[start:]) + parser.close()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"data: hi\n\n", [SSEEvent(None, "hi")]),
        (b"data: hi\r\n\r\n", [SSEEvent(None, "hi")]),
        (b"data: hi\r\rdata: two\r\r", [SSEEvent(None, "hi"), SSEEvent(None, "two")]),
        (b"event: ping\ndata: {}\n\n", [SSEEvent("ping", "{}")]),
        (b"data: a\ndata: b\n\n", [SSEEvent(None, "a\nb")]),
        (b"data:no-space\n\n", [SSEEvent(None, "no-space")]),
        (b"data:  two-spaces\n\n", [SSEEvent(None, " two-spaces")]),
        (b"data\n\n", [SSEEvent(None, "")]),
        (b": OPENROUTER PROCESSING\n\ndata: x\n\n", [SSEEvent(None, "x")]),
        (b"event: only-a-name\n\n", []),
        (b"id: 7\ndata: x\n\ndata: y\n\n", [SSEEvent(None, "x", "7"), SSEEvent(None, "y")]),
        (b"retry: 10\nfoo: bar\ndata: x\n\n", [SSEEvent(None, "x")]),
        (b"\xef\xbb\xbfdata: bom\n\n", [SSEEvent(None, "bom")]),
        (b"data: unterminated", [SSEEvent(None, "unterminated")]),
        (b"data: no blank line\n", [SSEEvent(None, "no blank line")]),
        ("data: caf\u00e9 \u2603\n\n".encode(), [SSEEvent(None, "caf\u00e9 \u2603")]),
        (b"data: bad \xff byte\n\n", [SSEEvent(None, "bad \ufffd byte")]),
        (b"", []),
    ],
)
def test_parse(raw: bytes, expected: list[SSEEvent]) -> None:
    assert parse_whole(raw) == expected
    assert parse_split(raw, list(range(len(raw)))) == expected


def test_crlf_split_between_cr_and_lf_is_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\r") == [SSEEvent(None, "a")]
    assert parser.feed(b"\ndata: b\n\n") == [SSEEvent(None, "b")]


def test_empty_chunk_keeps_a_pending_cr() -> None:
    parser = SSEParser()
    parser.feed(b"data: a\r")
    assert parser.feed(b"") == []
    assert parser.feed(b"\n\n") == [SSEEvent(None, "a")]


_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=30)
_line_end = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        end = draw(_line_end)
        if draw(st.booleans()):
            parts.append(":" + draw(_text) + end)
        if draw(st.booleans()):
            parts.append("event: " + draw(_text) + end)
        for line in draw(st.lists(_text, min_size=1, max_size=3)):
            parts.append("data: " + line + end)
        parts.append(end)
    return "".join(parts).encode()


@given(streams(), st.lists(st.integers(0, 400), max_size=12))
def test_any_split_gives_the_same_events(raw: bytes, cuts: list[int]) -> None:
    assert parse_split(raw, [c for c in cuts if c <= len(raw)]) == parse_whole(raw)


@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=8))
def test_garbage_never_raises_and_split_is_invisible(raw: bytes, cuts: list[int]) -> None:
    assert parse_split(raw, [c for c in cuts if c <= len(raw)]) == parse_whole(raw)


def test_encoders() -> None:
    assert anthropic_event("ping", b'{"type":"ping"}') == b'event: ping\ndata: {"type":"ping"}\n\n'
    assert anthropic_event("custom", b"{}") == b"event: custom\ndata: {}\n\n"
    assert openai_data(b"{}") == b"data: {}\n\n"
    assert OPENAI_DONE == b"data: [DONE]\n\n"

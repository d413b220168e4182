"""`stream_watch._lines` cuts the two common frame shapes (`data: …`, and `event: …` then
`data: …`, on `\\n`) directly; for any frame at all it must read what the general line scan
reads: the event name, the joined data, whether there are garbage lines."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from runtime.upstream.stream_watch import _lines, _scan, cut_frames, last_frame_end, split_frames

FIELD = st.sampled_from([b"data:", b"event:", b"id:", b"retry:", b":", b"data", b"Data:", b"junk", b""])
VALUE = st.binary(max_size=20) | st.sampled_from([b' {"type":"ping"}', b" message_start", b"", b"  x  "])
LINE = st.builds(lambda field, value: field + value, FIELD, VALUE)
BREAK = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(LINE, min_size=1, max_size=5))
    out = lines[0]
    for line in lines[1:]:
        out += draw(BREAK) + line
    return out


TAIL = st.sampled_from(
    [b"", b"\ndata: x", b"\njunk", b"\r\ndata: y", b"\n", b"\r", b"\rjunk", b"\rdata: y", b"\nevent: z"]
)
NEAR_COMMON = st.builds(lambda value, tail: b"data:" + value + tail, VALUE, TAIL) | st.builds(
    lambda name, value, tail: b"event:" + name + b"\ndata:" + value + tail, VALUE, VALUE, TAIL
)
"""The shapes the direct cut takes, and their near misses (one line more, another break)."""


@given(NEAR_COMMON | frames() | st.binary(max_size=60))
def test_any_frame_reads_as_the_general_scan_reads_it(frame: bytes) -> None:
    assert _lines(frame) == _scan(frame)


def test_the_common_shapes() -> None:
    assert _lines(b'data: {"a":1}') == (None, b'{"a":1}', False)
    assert _lines(b'event: ping\ndata: {"type":"ping"}') == (b"ping", b'{"type":"ping"}', False)
    assert _lines(b"event: ping\ndata: a\ndata: b") == (b"ping", b"a\nb", False)
    assert _lines(b"event: ping\ndata: a\njunk") == (b"ping", b"a", True)


@given(
    st.lists(st.sampled_from([b"\n", b"\r", b"\r\n", b"\n\n", b"\r\r", b"data: x", b"a", b":"]), max_size=30)
)
def test_frames_are_cut_where_the_general_terminator_scan_cuts_them(parts: list[bytes]) -> None:
    """`cut_frames` splits line-feed-only buffers with `bytes.split`: the same frames and the
    same end as the terminator scan, for any buffer (CR or not)."""
    buf = b"".join(parts)
    end = last_frame_end(buf)
    assert cut_frames(buf) == (split_frames(buf[:end]), end)
